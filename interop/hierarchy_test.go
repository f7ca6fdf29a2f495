package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/kmsprovider/ddbtest"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

// TestInteropHierarchy exchanges hierarchical keyring messages with the
// JavaScript ESDK (KmsHierarchicalKeyRingNode over BranchKeyStoreNode),
// both sides' branch key stores on one in-process DynamoDB (ddbtest) and
// KMS (kmstest) that this test starts on the loopback interface. Branch
// keys are made and versioned on both sides: Go's and JavaScript's
// CreateKey and VersionKey write items the other reads, and messages under
// a version from before a VersionKey still decrypt on both sides.
func TestInteropHierarchy(t *testing.T) {
	node, jsDir := requireJS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	const (
		region  = "us-west-2"
		table   = "BranchKeys"
		logical = "interop-branch-keys"
	)
	kms := kmstest.NewServer()
	defer kms.Close()
	ddb := ddbtest.NewServer()
	defer ddb.Close()
	kmsClient := kms.Client(region, kmstest.DefaultAccount)
	created, err := kmsClient.CreateKey(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	keyARN := *created.KeyMetadata.Arn
	store, err := keystore.NewStore(keystore.StoreOptions{
		TableName: table, LogicalKeyStoreName: logical,
		KMS:      keystore.KMSConfiguration{KeyARN: keyARN},
		DynamoDB: ddb.Client(region, kmstest.DefaultAccount), KMSClient: kmsClient,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateKeyStore(ctx); err != nil {
		t.Fatal(err)
	}
	goKeyring := func(id string) *envelope.DefaultManager {
		kr, err := keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{KeyStore: store, BranchKeyID: id, TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return mustManager(t, kr)
	}
	jsHierarchy := func(id string) jsKeyring {
		return jsKeyring{
			Type: "hierarchy", BranchKeyID: id, DDBTableName: table, LogicalKeyStoreName: logical,
			Region: region, DDBEndpoint: ddb.URL, KMSKeyID: keyARN, KMSEndpoint: kms.URL,
			KMSAccessKeyID: kmstest.DefaultAccount,
		}
	}

	// Go makes two branch keys, one with a caller's id and custom
	// encryption context, and versions the first after one message.
	idA, err := store.CreateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const idB = "tenant-b"
	if _, err := store.CreateKey(ctx, keystore.WithBranchKeyID(idB, map[string]string{"tenant": "b"})); err != nil {
		t.Fatal(err)
	}
	const idJS = "made-by-javascript"

	type msg struct {
		name      string
		suite     format.SuiteID
		plaintext []byte
		ct        []byte
	}
	clients := map[format.SuiteID]*envelope.Client{}
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		c, err := envelope.New(func(o *envelope.Options) { o.Suite = id; o.FrameLength = frameLength })
		if err != nil {
			t.Fatal(err)
		}
		clients[id] = c
	}
	ec := func(name string) map[string]string {
		return map[string]string{"purpose": "interop", "case": "hierarchy/" + name, "schlüssel": "wert ✓"}
	}
	goEncrypt := func(name, id string, suite format.SuiteID) *msg {
		pt := make([]byte, 2*frameLength+3)
		rand.Read(pt)
		ct, err := clients[suite].EncryptBytes(ctx, pt, goKeyring(id), ec(name))
		if err != nil {
			t.Fatalf("%s: Go EncryptBytes: %v", name, err)
		}
		return &msg{name: name, suite: suite, plaintext: pt, ct: ct}
	}
	a1 := goEncrypt("go/A/v1", idA, format.AES256GCMHKDFSHA512CommitKey)
	if err := store.VersionKey(ctx, idA); err != nil {
		t.Fatal(err)
	}
	a2 := goEncrypt("go/A/v2", idA, format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	b1 := goEncrypt("go/B/v1", idB, format.AES256GCMHKDFSHA512CommitKey)
	if bytes.Equal(version(t, a1.ct), version(t, a2.ct)) {
		t.Fatal("Go's messages before and after VersionKey name the same version")
	}

	// JavaScript: decrypt Go's messages, encrypt its own, create a
	// branch key, version Go's key B and encrypt under the new version
	// (with a keyring of its own cache), and decrypt B's old message.
	jsPlain := map[string][]byte{}
	var jobs []jsJob
	jsEncrypt := func(name, ref string, suite format.SuiteID) {
		pt := make([]byte, frameLength+1)
		rand.Read(pt)
		jsPlain[name] = pt
		jobs = append(jobs, jsJob{ID: name, Op: "encrypt", Keyring: ref, CommitmentPolicy: "REQUIRE_ENCRYPT_REQUIRE_DECRYPT",
			SuiteID: uint16(suite), FrameLength: frameLength, EncryptionContext: ec(name), Input: pt})
	}
	jsDecrypt := func(m *msg, ref string) {
		jobs = append(jobs, jsJob{ID: "decrypt " + m.name + " with " + ref, Op: "decrypt", Keyring: ref, CommitmentPolicy: "REQUIRE_ENCRYPT_REQUIRE_DECRYPT", Input: m.ct})
	}
	jsDecrypt(a1, "A")
	jsDecrypt(a2, "A")
	jsDecrypt(b1, "B")
	jsEncrypt("js/A", "A", format.AES256GCMHKDFSHA512CommitKey)
	jsEncrypt("js/B/v1", "B", format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	jobs = append(jobs, jsJob{ID: "createKey", Op: "createKey", Keyring: "JS", BranchKeyID: idJS, EncryptionContext: map[string]string{"made-by": "javascript"}})
	jsEncrypt("js/JS", "JS", format.AES256GCMHKDFSHA512CommitKey)
	jobs = append(jobs, jsJob{ID: "versionKey B", Op: "versionKey", Keyring: "B", BranchKeyID: idB})
	jsEncrypt("js/B/v2", "B2", format.AES256GCMHKDFSHA512CommitKey)
	jsDecrypt(b1, "B2")

	ddb.ResetCalls()
	kms.ResetCalls()
	resp, err := runBatch(ctx, t, node, jsDir, nil, jsRequest{
		Keyrings: map[string]jsKeyring{"A": jsHierarchy(idA), "B": jsHierarchy(idB), "B2": jsHierarchy(idB), "JS": jsHierarchy(idJS)},
		Jobs:     jobs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node %s, @aws-crypto/client-node %s: %d jobs; JavaScript made %d DynamoDB calls (%d GetItem, %d TransactWriteItems) and %d KMS calls",
		resp.Node, resp.ESDK, len(jobs), len(ddb.Calls()), ddb.Count("GetItem"), ddb.Count("TransactWriteItems"), len(kms.Calls()))
	results := map[string]*jsResult{}
	for i := range resp.Results {
		r := &resp.Results[i]
		results[r.ID] = r
		if !r.OK {
			t.Errorf("JavaScript job %q failed: %s", r.ID, r.Error)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, m := range []*msg{a1, a2, b1} {
		for _, ref := range []string{"A", "B", "B2"} {
			if r := results["decrypt "+m.name+" with "+ref]; r != nil {
				checkPlaintext(t, "JavaScript "+m.name, r.Output, m.plaintext)
				checkContext(t, "JavaScript "+m.name, r.EncryptionContext, ec(m.name), format.MustSuite(m.suite))
			}
		}
	}
	if got := string(results["createKey"].Output); got != idJS {
		t.Errorf("JavaScript createKey returned %q, want %q", got, idJS)
	}

	// Go reads the branch key JavaScript made, with its custom context.
	jsKey, err := store.GetActiveBranchKey(ctx, idJS)
	if err != nil {
		t.Fatalf("Go reads JavaScript's branch key: %v", err)
	}
	if got := jsKey.EncryptionContext["made-by"]; got != "javascript" {
		t.Errorf("JavaScript's branch key has custom context %v", jsKey.EncryptionContext)
	}

	// Go decrypts JavaScript's messages with fresh keyrings.
	ids := map[string]string{"js/A": idA, "js/B/v1": idB, "js/JS": idJS, "js/B/v2": idB}
	for name, id := range ids {
		t.Run(name, func(t *testing.T) {
			r := results[name]
			pt, h, err := clients[format.SuiteID(r.SuiteID)].DecryptBytes(ctx, r.Output, goKeyring(id), nil)
			if err != nil {
				t.Fatalf("Go DecryptBytes: %v\nheader: %s", err, headerHex(r.Output))
			}
			checkPlaintext(t, "Go", pt, jsPlain[name])
			checkContext(t, "Go", h.EncryptionContext, ec(name), format.MustSuite(format.SuiteID(r.SuiteID)))
			if len(h.EncryptedDataKeys) != 1 || h.EncryptedDataKeys[0].ProviderID != keystore.ProviderID || string(h.EncryptedDataKeys[0].ProviderInfo) != id {
				t.Errorf("JavaScript's encrypted data keys: %+v", h.EncryptedDataKeys)
			}
		})
	}
	// JavaScript encrypted under A's second version, and under B's
	// version from before and after its own VersionKey.
	if !bytes.Equal(version(t, results["js/A"].Output), version(t, a2.ct)) {
		t.Error("JavaScript's message under A does not name the active version Go made")
	}
	if bytes.Equal(version(t, results["js/B/v1"].Output), version(t, results["js/B/v2"].Output)) {
		t.Error("JavaScript's messages before and after its VersionKey name the same version")
	}
	active, err := store.GetActiveBranchKey(ctx, idB)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%x", version(t, results["js/B/v2"].Output)) != hexUUID(active.BranchKeyVersion) {
		t.Errorf("JavaScript's message under B's new version names %x; the active version is %s", version(t, results["js/B/v2"].Output), active.BranchKeyVersion)
	}
	// B's first message still decrypts in Go after JavaScript's VersionKey.
	if pt, _, err := clients[b1.suite].DecryptBytes(ctx, b1.ct, goKeyring(idB), nil); err != nil || !bytes.Equal(pt, b1.plaintext) {
		t.Errorf("Go decrypts B's message from before JavaScript's VersionKey: %v", err)
	}
}

// version returns the branch key version bytes of a message's one
// hierarchical encrypted data key.
func version(t *testing.T, msg []byte) []byte {
	t.Helper()
	h, _, err := format.ParseHeader(msg, format.Limits{})
	if err != nil {
		t.Fatalf("parsing a header: %v", err)
	}
	for _, e := range h.EncryptedDataKeys {
		if e.ProviderID == keystore.ProviderID && len(e.Ciphertext) >= 44 {
			return e.Ciphertext[28:44]
		}
	}
	t.Fatal("no hierarchical encrypted data key")
	return nil
}

func hexUUID(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			b = append(b, s[i])
		}
	}
	return string(b)
}
