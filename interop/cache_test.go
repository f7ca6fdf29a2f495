package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/go-esdk/esdk/cache"
	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

// TestInteropCache: messages that this SDK encrypts under a cached data
// key (the caching materials manager over the KMS keyring, several
// messages per data key) decrypt with the JavaScript ESDK's
// KmsKeyringNode, both calling one in-process KMS endpoint.
func TestInteropCache(t *testing.T) {
	node, jsDir := requireJS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	srv := kmstest.NewServer()
	defer srv.Close()
	kmsClient := srv.Client("us-west-2", kmstest.DefaultAccount)
	created, err := kmsClient.CreateKey(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	keyARN := *created.KeyMetadata.Arn
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: kmsClient, KeyID: keyARN})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(cache.CacheOptions{Capacity: 10})
	if err != nil {
		t.Fatal(err)
	}
	const perKey = 3
	inner, err := envelope.NewDefaultManager(kr)
	if err != nil {
		t.Fatal(err)
	}
	mm, err := cache.NewManager(cache.ManagerOptions{Inner: inner, Cache: c, MaxAge: time.Hour, MaxMessages: perKey})
	if err != nil {
		t.Fatal(err)
	}

	type msg struct {
		id        string
		suite     *format.Suite
		plaintext []byte
		ct        []byte
	}
	var msgs []*msg
	var jobs []jsJob
	srv.ResetCalls()
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		client, err := envelope.New(func(o *envelope.Options) {
			o.Suite = id
			o.FrameLength = frameLength
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range []int{0, 1, frameLength, 3*frameLength + 7, 100, 2 * frameLength} {
			pt := make([]byte, n)
			rand.Read(pt)
			ct, err := client.EncryptBytes(ctx, pt, mm, map[string]string{"purpose": "interop cache"})
			if err != nil {
				t.Fatal(err)
			}
			m := &msg{id: fmt.Sprintf("%s/%d/%s", suiteName(id), i, sizeName(n)), suite: format.MustSuite(id), plaintext: pt, ct: ct}
			msgs = append(msgs, m)
			jobs = append(jobs, jsJob{ID: goToJS + "/cache/" + m.id, Op: "decrypt", Keyring: "kms", CommitmentPolicy: "REQUIRE_ENCRYPT_REQUIRE_DECRYPT", Input: ct})
		}
	}
	// Six messages per suite, three per data key.
	if got := srv.Count("GenerateDataKey"); got != len(msgs)/perKey {
		t.Fatalf("Go made %d GenerateDataKey calls for %d messages, want %d", got, len(msgs), len(msgs)/perKey)
	}
	for i, m := range msgs {
		first := msgs[i/perKey*perKey]
		if !bytes.Equal(edkCiphertext(t, m.ct), edkCiphertext(t, first.ct)) {
			t.Fatalf("%s does not share the data key of %s", m.id, first.id)
		}
	}

	resp, err := runBatch(ctx, t, node, jsDir, nil, jsRequest{
		Keyrings: map[string]jsKeyring{"kms": {Type: "kms", KMSKeyID: keyARN, KMSEndpoint: srv.URL, KMSAccessKeyID: kmstest.DefaultAccount}},
		Jobs:     jobs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node %s, @aws-crypto/client-node %s: %d messages under %d cached data keys", resp.Node, resp.ESDK, len(msgs), len(msgs)/perKey)
	results := make(map[string]*jsResult, len(resp.Results))
	for i := range resp.Results {
		results[resp.Results[i].ID] = &resp.Results[i]
	}
	for _, m := range msgs {
		t.Run(m.id, func(t *testing.T) {
			r := results[goToJS+"/cache/"+m.id]
			if r == nil || !r.OK {
				t.Fatalf("JavaScript decrypt failed: %+v", r)
			}
			checkPlaintext(t, "JavaScript", r.Output, m.plaintext)
			checkContext(t, "JavaScript", r.EncryptionContext, map[string]string{"purpose": "interop cache"}, m.suite)
		})
	}
}

func edkCiphertext(t *testing.T, ct []byte) []byte {
	t.Helper()
	h, _, err := format.ParseHeader(ct, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.EncryptedDataKeys) != 1 {
		t.Fatalf("%d encrypted data keys", len(h.EncryptedDataKeys))
	}
	return h.EncryptedDataKeys[0].Ciphertext
}
