package cache_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/go-esdk/esdk/cache"
	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

// kmsFixture is a loopback kmstest endpoint, a key in it, and a KMS
// keyring reaching it through the real aws-sdk-go-v2 client.
type kmsFixture struct {
	srv    *kmstest.Server
	client *kms.Client
	arn    string
	kr     *kmsprovider.Keyring
	plain  envelope.MaterialsManager // a default manager over kr, no cache
}

func newKMS(t testing.TB) *kmsFixture {
	t.Helper()
	srv := kmstest.NewServer()
	t.Cleanup(srv.Close)
	c := srv.Client("us-west-2", kmstest.DefaultAccount)
	out, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.KeyMetadata.Arn)
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: arn})
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	return &kmsFixture{srv: srv, client: c, arn: arn, kr: kr, plain: defaultManager(t, kr)}
}

// edkOf names the encrypted data key of a message: messages encrypted
// under one cached data key carry the same KMS ciphertext.
func edkOf(t testing.TB, ct []byte) [32]byte {
	t.Helper()
	h, _, err := format.ParseHeader(ct, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.EncryptedDataKeys) != 1 || h.EncryptedDataKeys[0].ProviderID != kmsprovider.ProviderID {
		t.Fatalf("message has encrypted data keys %+v", h.EncryptedDataKeys)
	}
	return sha256.Sum256(h.EncryptedDataKeys[0].Ciphertext)
}

// N messages make ceil(N / MaxMessages) GenerateDataKey calls; each
// decrypts with a plain KMS keyring and no cache.
func TestKMSMessageLimit(t *testing.T) {
	k := newKMS(t)
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	for _, tc := range []struct{ n, max int }{{1, 10}, {10, 10}, {25, 10}, {30, 1}, {7, 2}} {
		k.srv.ResetCalls()
		mm := newManager(t, k.plain, newCache(t, 10, nil), cache.ManagerOptions{MaxMessages: uint64(tc.max)})
		var cts [][]byte
		for range tc.n {
			ct, err := client.EncryptBytes(bg, []byte("hello"), mm, ec)
			if err != nil {
				t.Fatal(err)
			}
			cts = append(cts, ct)
		}
		want := (tc.n + tc.max - 1) / tc.max
		if got := k.srv.Count("GenerateDataKey"); got != want {
			t.Errorf("%d messages, MaxMessages %d: %d GenerateDataKey calls, want %d", tc.n, tc.max, got, want)
		}
		for i, ct := range cts {
			if edkOf(t, ct) != edkOf(t, cts[i/tc.max*tc.max]) {
				t.Errorf("message %d does not share the data key of its group", i)
			}
			if pt, _, err := client.DecryptBytes(bg, ct, defaultManager(t, k.kr), nil); err != nil || string(pt) != "hello" {
				t.Fatalf("message %d with a plain KMS keyring: %v", i, err)
			}
		}
	}
}

// With MaxBytes 10,000, 4 KiB messages share a key two by two: the third
// would take it to 12,288 bytes.
func TestKMSByteLimit(t *testing.T) {
	k := newKMS(t)
	mm := newManager(t, k.plain, newCache(t, 10, nil), cache.ManagerOptions{MaxBytes: 10000})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	var keys [][32]byte
	for range 5 {
		ct, err := client.EncryptBytes(bg, make([]byte, 4096), mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, edkOf(t, ct))
	}
	if keys[0] != keys[1] || keys[2] == keys[1] || keys[3] != keys[2] || keys[4] == keys[3] {
		t.Error("the data key did not roll every second message")
	}
	if got := k.srv.Count("GenerateDataKey"); got != 3 {
		t.Errorf("%d GenerateDataKey calls, want 3", got)
	}
}

func TestKMSMaxAge(t *testing.T) {
	k := newKMS(t)
	clock := newClock()
	mm := newManager(t, k.plain, newCache(t, 10, clock), cache.ManagerOptions{MaxAge: 30 * time.Second})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	var cts [][]byte
	for _, step := range []time.Duration{0, 10 * time.Second, 19 * time.Second, time.Second, 29 * time.Second} {
		clock.Advance(step)
		ct, err := client.EncryptBytes(bg, []byte("aging"), mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := client.DecryptBytes(bg, ct, mm, nil); err != nil {
			t.Fatal(err)
		}
		cts = append(cts, ct)
	}
	// Times 0, 10 s, 29 s share a key; 30 s is past MaxAge, and 59 s is
	// within the new key's 30 s.
	if got := k.srv.Count("GenerateDataKey"); got != 2 {
		t.Errorf("%d GenerateDataKey calls, want 2", got)
	}
	if edkOf(t, cts[2]) != edkOf(t, cts[0]) || edkOf(t, cts[3]) == edkOf(t, cts[2]) || edkOf(t, cts[4]) != edkOf(t, cts[3]) {
		t.Error("data keys did not follow MaxAge")
	}
	// Decryption entries age the same way: one Decrypt per data key.
	if got := k.srv.Count("Decrypt"); got != 2 {
		t.Errorf("%d Decrypt calls, want 2", got)
	}
}

func TestKMSCapacityEviction(t *testing.T) {
	k := newKMS(t)
	c := newCache(t, 3, nil)
	mm := newManager(t, k.plain, c, cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	for _, tenant := range []string{"a", "b", "c", "a", "d", "b", "a"} {
		if _, err := client.EncryptBytes(bg, []byte("x"), mm, map[string]string{"tenant": tenant}); err != nil {
			t.Fatal(err)
		}
	}
	// a b c miss; a hits; d evicts b; b misses and evicts c; a hits.
	if got := k.srv.Count("GenerateDataKey"); got != 5 {
		t.Errorf("%d GenerateDataKey calls, want 5", got)
	}
	if st := mm.Stats(); st.Evictions != 2 || st.Hits != 2 {
		t.Errorf("stats %+v", st)
	}
}

// Decrypting one message N times calls KMS Decrypt once.
func TestKMSDecryptOnce(t *testing.T) {
	k := newKMS(t)
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	ct, err := client.EncryptBytes(bg, []byte("read me often"), k.plain, ec)
	if err != nil {
		t.Fatal(err)
	}
	k.srv.ResetCalls()
	mm := newManager(t, k.plain, newCache(t, 10, nil), cache.ManagerOptions{})
	for range 20 {
		pt, _, err := client.DecryptBytes(bg, ct, mm, nil)
		if err != nil || string(pt) != "read me often" {
			t.Fatal(err)
		}
	}
	if got := k.srv.Count("Decrypt"); got != 1 {
		t.Errorf("%d Decrypt calls, want 1", got)
	}
}

// 64 goroutines through the real client: ceil(N / MaxMessages)
// GenerateDataKey calls, one Decrypt per data key.
func TestKMSConcurrent(t *testing.T) {
	k := newKMS(t)
	const perGoroutine, maxMessages = 10, 16
	mm := newManager(t, k.plain, newCache(t, 100, nil), cache.ManagerOptions{MaxMessages: maxMessages})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	cts := make([][]byte, goroutines*perGoroutine)
	run(t, goroutines, func(g int) error {
		for j := range perGoroutine {
			ct, err := client.EncryptBytes(bg, []byte("concurrent"), mm, ec)
			if err != nil {
				return err
			}
			cts[g*perGoroutine+j] = ct
		}
		return nil
	})
	want := (goroutines*perGoroutine + maxMessages - 1) / maxMessages
	if got := k.srv.Count("GenerateDataKey"); got != want {
		t.Errorf("%d GenerateDataKey calls, want %d", got, want)
	}
	per := map[[32]byte]int{}
	for _, ct := range cts {
		per[edkOf(t, ct)]++
	}
	for _, n := range per {
		if n > maxMessages {
			t.Fatalf("a data key protected %d messages", n)
		}
	}
	run(t, goroutines, func(g int) error {
		for j := range perGoroutine {
			if _, _, err := client.DecryptBytes(bg, cts[g*perGoroutine+j], mm, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if got := k.srv.Count("Decrypt"); got != len(per) {
		t.Errorf("%d Decrypt calls for %d data keys", got, len(per))
	}
}
