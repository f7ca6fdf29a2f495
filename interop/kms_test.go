package interop

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

// TestInteropKMS exchanges messages whose data key KMS wraps between this
// SDK's KMS keyring and the JavaScript ESDK's KmsKeyringNode, both calling
// one in-process KMS endpoint (kmsprovider/kmstest) that this test starts
// on the loopback interface.
func TestInteropKMS(t *testing.T) {
	node, jsDir := requireJS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	const region = "us-west-2"
	srv := kmstest.NewServer()
	defer srv.Close()
	kmsClient := srv.Client(region, kmstest.DefaultAccount)
	created, err := kmsClient.CreateKey(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	keyARN := *created.KeyMetadata.Arn
	strict, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: kmsClient, KeyID: keyARN})
	if err != nil {
		t.Fatal(err)
	}
	discovery, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: kmsClient, Filter: &kmsprovider.DiscoveryFilter{Partition: "aws", AccountIDs: []string{kmstest.DefaultAccount}}})
	if err != nil {
		t.Fatal(err)
	}
	const ref = "kms"
	jsKeyrings := map[string]jsKeyring{ref: {
		Type:           "kms",
		KMSKeyID:       keyARN,
		KMSEndpoint:    srv.URL,
		KMSAccessKeyID: kmstest.DefaultAccount,
	}}

	type kmsCase struct {
		suite     *format.Suite
		client    *envelope.Client
		plaintext []byte
		id        string
	}
	var cases []*kmsCase
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		suite := format.MustSuite(id)
		client, err := envelope.New(func(o *envelope.Options) {
			o.Suite = id
			o.FrameLength = frameLength
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 3*frameLength + 7} {
			pt := make([]byte, n)
			rand.Read(pt)
			cases = append(cases, &kmsCase{suite: suite, client: client, plaintext: pt, id: suiteName(id) + "/" + sizeName(n)})
		}
	}

	ec := func(direction string, c *kmsCase) map[string]string {
		return map[string]string{"purpose": "interop", "case": direction + "/kms/" + c.id, "schlüssel": "wert ✓"}
	}
	mm := mustManager(t, strict)
	goCiphertexts := make(map[string][]byte)
	var jobs []jsJob
	for _, c := range cases {
		jobs = append(jobs, jsJob{
			ID: jsToGo + "/" + c.id, Op: "encrypt", Keyring: ref, CommitmentPolicy: "REQUIRE_ENCRYPT_REQUIRE_DECRYPT",
			SuiteID: uint16(c.suite.ID()), FrameLength: frameLength, EncryptionContext: ec(jsToGo, c), Input: c.plaintext,
		})
		ct, err := c.client.EncryptBytes(ctx, c.plaintext, mm, ec(goToJS, c))
		if err != nil {
			t.Fatalf("%s: Go EncryptBytes: %v", c.id, err)
		}
		goCiphertexts[c.id] = ct
		jobs = append(jobs, jsJob{ID: goToJS + "/" + c.id, Op: "decrypt", Keyring: ref, CommitmentPolicy: "REQUIRE_ENCRYPT_REQUIRE_DECRYPT", Input: ct})
	}

	srv.ResetCalls()
	start := time.Now()
	resp, err := runBatch(ctx, t, node, jsDir, nil, jsRequest{Keyrings: jsKeyrings, Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node %s, @aws-crypto/client-node %s: %d jobs in %v, %d KMS calls from JavaScript (%d GenerateDataKey, %d Decrypt)",
		resp.Node, resp.ESDK, len(jobs), time.Since(start).Round(time.Millisecond), srv.Count(""), srv.Count("GenerateDataKey"), srv.Count("Decrypt"))
	if got := srv.Count("GenerateDataKey"); got != len(cases) {
		t.Errorf("JavaScript made %d GenerateDataKey calls to the test KMS, want %d", got, len(cases))
	}
	if got := srv.Count("Decrypt"); got != len(cases) {
		t.Errorf("JavaScript made %d Decrypt calls to the test KMS, want %d", got, len(cases))
	}
	results := make(map[string]*jsResult, len(resp.Results))
	for i := range resp.Results {
		results[resp.Results[i].ID] = &resp.Results[i]
	}

	for _, c := range cases {
		t.Run(goToJS+"/"+c.id, func(t *testing.T) {
			r := results[goToJS+"/"+c.id]
			if r == nil || !r.OK {
				t.Fatalf("JavaScript decrypt failed: %+v", r)
			}
			checkPlaintext(t, "JavaScript", r.Output, c.plaintext)
			checkContext(t, "JavaScript", r.EncryptionContext, ec(goToJS, c), c.suite)
			if got := format.SuiteID(r.SuiteID); got != c.suite.ID() {
				t.Errorf("JavaScript reports suite %s, want %s", suiteName(got), suiteName(c.suite.ID()))
			}
		})
		t.Run(jsToGo+"/"+c.id, func(t *testing.T) {
			r := results[jsToGo+"/"+c.id]
			if r == nil || !r.OK {
				t.Fatalf("JavaScript encrypt failed: %+v", r)
			}
			ct := r.Output
			if desc, err := checkFraming(ct, c.suite, len(c.plaintext)); err != nil {
				t.Errorf("JavaScript-encrypted message layout: %v\nheader: %s", err, headerHex(ct))
			} else {
				t.Log(desc)
			}
			for name, kr := range map[string]keyring.Keyring{"strict": strict, "discovery": discovery} {
				pt, h, err := c.client.DecryptBytes(ctx, ct, mustManager(t, kr), nil)
				if err != nil {
					t.Fatalf("Go DecryptBytes with the %s keyring: %v\nheader: %s", name, err, headerHex(ct))
				}
				checkPlaintext(t, "Go", pt, c.plaintext)
				checkContext(t, "Go", h.EncryptionContext, ec(jsToGo, c), c.suite)
				if len(h.EncryptedDataKeys) != 1 {
					t.Fatalf("JavaScript wrote %d encrypted data keys, want 1", len(h.EncryptedDataKeys))
				}
				e := h.EncryptedDataKeys[0]
				if e.ProviderID != kmsprovider.ProviderID || string(e.ProviderInfo) != keyARN {
					t.Errorf("JavaScript's encrypted data key: provider %q, info %q; want %q, %q", e.ProviderID, e.ProviderInfo, kmsprovider.ProviderID, keyARN)
				}
			}
		})
	}
}
