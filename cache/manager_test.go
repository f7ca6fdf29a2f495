package cache_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/go-esdk/esdk/cache"
	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

var ec = map[string]string{"purpose": "cache test"}

func TestMessageLimit(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 10, nil)
	mm := newManager(t, inner, c, cache.ManagerOptions{MaxMessages: 3})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	pt := bytes.Repeat([]byte("x"), 1024)

	var keys []string
	for i := range 10 {
		ct, err := client.EncryptBytes(bg, pt, mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, inner.dataKeyOf(t, ct, nil))
		// Every message decrypts without the cache.
		got, _, err := client.DecryptBytes(bg, ct, inner.inner, nil)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := int64(i/3 + 1); inner.encCalls.Load() != want {
			t.Fatalf("after message %d: %d inner calls, want %d", i, inner.encCalls.Load(), want)
		}
	}
	for i := range keys {
		if same := keys[i] == keys[i/3*3]; !same {
			t.Errorf("message %d did not use the data key of message %d", i, i/3*3)
		}
		if i%3 == 0 && i > 0 && keys[i] == keys[i-1] {
			t.Errorf("message %d reused the data key of message %d past the limit", i, i-1)
		}
	}
	st := mm.Stats()
	want := cache.ManagerStats{Hits: 6, Misses: 4, InnerCalls: 4, Retirements: 3}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	// Retired keys are zeroed in the cache's copy; the current one is not.
	for i, m := range inner.enc {
		if got := isZero(m.PlaintextDataKey); got != (i < 3) {
			t.Errorf("materials %d: zeroed %v", i, got)
		}
	}
	if c.Len() != 1 || c.Stats().Retirements != 3 {
		t.Errorf("cache %+v", c.Stats())
	}
}

func TestByteLimit(t *testing.T) {
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{MaxBytes: 1000})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	var keys []string
	for _, n := range []int{300, 300, 400, 0, 1, 999, 1000} {
		ct, err := client.EncryptBytes(bg, make([]byte, n), mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, inner.dataKeyOf(t, ct, nil))
	}
	// 300+300+400 fill the key exactly; an empty message still fits; the
	// next byte needs a new key, 1+999 fill that one; 1000 needs a third.
	if !(keys[0] == keys[1] && keys[1] == keys[2] && keys[2] == keys[3]) {
		t.Error("the first 1000 bytes did not share a key")
	}
	if keys[4] == keys[3] || keys[5] != keys[4] || keys[6] == keys[5] {
		t.Error("the key did not roll at the byte limit")
	}
	if inner.encCalls.Load() != 3 {
		t.Errorf("%d inner calls, want 3", inner.encCalls.Load())
	}
}

func TestMessageLargerThanMaxBytesBypasses(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 10, nil)
	mm := newManager(t, inner, c, cache.ManagerOptions{MaxBytes: 100})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	var keys []string
	for range 2 {
		ct, err := client.EncryptBytes(bg, make([]byte, 101), mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, inner.dataKeyOf(t, ct, nil))
	}
	if keys[0] == keys[1] || c.Len() != 0 {
		t.Error("a message over the byte limit was cached")
	}
	if st := mm.Stats(); st.Bypasses != 2 || st.InnerCalls != 2 || st.Misses != 0 {
		t.Errorf("stats %+v", st)
	}
	// The request to the inner manager is the caller's, unchanged.
	if inner.encReqs[0].PlaintextLength != 101 {
		t.Errorf("inner manager told length %d", inner.encReqs[0].PlaintextLength)
	}
}

// On a miss the inner manager is told the most plaintext the materials
// may protect: MaxBytes.
func TestInnerRequestCarriesMaxBytes(t *testing.T) {
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{MaxBytes: 5000})
	if _, err := newClient(t, format.AES256GCMHKDFSHA512CommitKey).EncryptBytes(bg, []byte("hi"), mm, ec); err != nil {
		t.Fatal(err)
	}
	if got := inner.encReqs[0].PlaintextLength; got != 5000 {
		t.Errorf("inner manager told length %d, want 5000", got)
	}
}

func TestMaxAge(t *testing.T) {
	clock := newClock()
	inner := newCounting(t)
	c := newCache(t, 10, clock)
	mm := newManager(t, inner, c, cache.ManagerOptions{MaxAge: 10 * time.Minute})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	encrypt := func() []byte {
		t.Helper()
		ct, err := client.EncryptBytes(bg, []byte("data"), mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	decrypt := func(ct []byte) {
		t.Helper()
		if _, _, err := client.DecryptBytes(bg, ct, mm, nil); err != nil {
			t.Fatal(err)
		}
	}

	ct1 := encrypt()
	decrypt(ct1)
	clock.Advance(10*time.Minute - time.Nanosecond)
	ct2 := encrypt()
	decrypt(ct1)
	if inner.dataKeyOf(t, ct1, nil) != inner.dataKeyOf(t, ct2, nil) || inner.encCalls.Load() != 1 || inner.decCalls.Load() != 1 {
		t.Fatal("an entry younger than MaxAge was not used")
	}
	clock.Advance(time.Nanosecond)
	ct3 := encrypt()
	decrypt(ct1)
	if inner.dataKeyOf(t, ct3, nil) == inner.dataKeyOf(t, ct1, nil) || inner.encCalls.Load() != 2 || inner.decCalls.Load() != 2 {
		t.Fatal("an entry at MaxAge was used")
	}
	if st := mm.Stats(); st.Expirations != 2 || c.Stats().Expirations != 2 {
		t.Errorf("stats %+v, cache %+v", st, c.Stats())
	}
	if !isZero(inner.enc[0].PlaintextDataKey) || !isZero(inner.dec[0].PlaintextDataKey) {
		t.Error("expired data keys were not zeroed")
	}

	// RemoveExpired clears an idle cache.
	clock.Advance(10 * time.Minute)
	if c.Len() != 2 {
		t.Fatalf("cache holds %d entries", c.Len())
	}
	c.RemoveExpired()
	if c.Len() != 0 || !isZero(inner.enc[1].PlaintextDataKey) || !isZero(inner.dec[1].PlaintextDataKey) {
		t.Error("RemoveExpired left expired entries")
	}
}

// Two managers sharing an entry: the one with the shorter MaxAge does not
// use it past its own limit.
func TestMaxAgeOfTheAskingManager(t *testing.T) {
	clock := newClock()
	inner := newCounting(t)
	c := newCache(t, 10, clock)
	long := newManager(t, inner, c, cache.ManagerOptions{MaxAge: time.Hour, Partition: "shared"})
	short := newManager(t, inner, c, cache.ManagerOptions{MaxAge: time.Minute, Partition: "shared"})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	if _, err := client.EncryptBytes(bg, nil, long, ec); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := client.EncryptBytes(bg, nil, short, ec); err != nil {
		t.Fatal(err)
	}
	if inner.encCalls.Load() != 2 {
		t.Errorf("%d inner calls, want 2", inner.encCalls.Load())
	}
}

func TestCapacityEviction(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 2, nil)
	mm := newManager(t, inner, c, cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	keyFor := map[string]string{}
	use := func(name string) {
		t.Helper()
		ct, err := client.EncryptBytes(bg, []byte(name), mm, map[string]string{"tenant": name})
		if err != nil {
			t.Fatal(err)
		}
		k := inner.dataKeyOf(t, ct, nil)
		if old, ok := keyFor[name]; ok && old != k {
			keyFor[name+"'"] = k
		}
		keyFor[name] = k
	}
	use("a")
	use("b")
	use("a") // a is now the most recently used
	use("c") // evicts b
	if inner.encCalls.Load() != 3 {
		t.Fatalf("%d inner calls, want 3", inner.encCalls.Load())
	}
	if _, ok := keyFor["a'"]; ok {
		t.Fatal("a did not hit")
	}
	if st := mm.Stats(); st.Evictions != 1 || c.Stats().Evictions != 1 || c.Len() != 2 {
		t.Errorf("stats %+v, cache %+v", st, c.Stats())
	}
	if !isZero(inner.enc[1].PlaintextDataKey) || isZero(inner.enc[0].PlaintextDataKey) {
		t.Error("the evicted entry (b) was not the one zeroed")
	}
	use("a")
	use("b") // a miss again; evicts c
	if inner.encCalls.Load() != 4 {
		t.Errorf("%d inner calls, want 4", inner.encCalls.Load())
	}
	if _, ok := keyFor["b'"]; !ok {
		t.Error("b kept its key after eviction")
	}
}

func TestCapacityZeroCachesNothing(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 0, nil)
	mm := newManager(t, inner, c, cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	for range 3 {
		ct, err := client.EncryptBytes(bg, []byte("x"), mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := client.DecryptBytes(bg, ct, mm, nil); err != nil {
			t.Fatal(err)
		}
	}
	if inner.encCalls.Load() != 3 || inner.decCalls.Load() != 3 || c.Len() != 0 || mm.Stats().Bypasses != 6 {
		t.Errorf("calls %d/%d, stats %+v", inner.encCalls.Load(), inner.decCalls.Load(), mm.Stats())
	}
}

func TestUnknownLengthBypasses(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 10, nil)
	mm := newManager(t, inner, c, cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	var keys []string
	for range 2 {
		var buf bytes.Buffer
		w, err := client.Encrypt(bg, &buf, mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("streamed")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, inner.dataKeyOf(t, buf.Bytes(), nil))
	}
	if keys[0] == keys[1] || c.Len() != 0 {
		t.Error("a stream of unknown length used the cache")
	}
	if st := mm.Stats(); st.UnknownLength != 2 || st.Bypasses != 2 || st.InnerCalls != 2 {
		t.Errorf("stats %+v", st)
	}
	if inner.encReqs[0].PlaintextLength != -1 {
		t.Errorf("inner manager told length %d", inner.encReqs[0].PlaintextLength)
	}
}

func TestSuitesWithoutKeyDerivationBypass(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 10, nil)
	mm := newManager(t, inner, c, cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMIV12Tag16NoKDF)
	for range 2 {
		ct, err := client.EncryptBytes(bg, []byte("x"), mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := client.DecryptBytes(bg, ct, mm, nil); err != nil {
			t.Fatal(err)
		}
	}
	if inner.encCalls.Load() != 2 || inner.decCalls.Load() != 2 || c.Len() != 0 || mm.Stats().Bypasses != 4 {
		t.Errorf("calls %d/%d, stats %+v", inner.encCalls.Load(), inner.decCalls.Load(), mm.Stats())
	}
}

func TestEverySuiteWithKeyDerivation(t *testing.T) {
	for _, s := range format.Suites() {
		if s.KDF() == format.KDFIdentity {
			continue
		}
		t.Run(s.ID().String(), func(t *testing.T) {
			inner := newCounting(t)
			mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{})
			client := newClient(t, s.ID())
			var cts [][]byte
			for range 3 {
				ct, err := client.EncryptBytes(bg, []byte("payload"), mm, ec)
				if err != nil {
					t.Fatal(err)
				}
				cts = append(cts, ct)
			}
			for _, ct := range cts {
				if pt, _, err := client.DecryptBytes(bg, ct, inner.inner, nil); err != nil || string(pt) != "payload" {
					t.Fatal(err)
				}
			}
			if inner.encCalls.Load() != 1 || inner.dataKeyOf(t, cts[0], nil) != inner.dataKeyOf(t, cts[2], nil) {
				t.Errorf("%d inner calls for three messages", inner.encCalls.Load())
			}
		})
	}
}

func TestDecryptionCached(t *testing.T) {
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	ct, err := client.EncryptBytes(bg, []byte("secret"), inner, ec)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		pt, _, err := client.DecryptBytes(bg, ct, mm, nil)
		if err != nil || string(pt) != "secret" {
			t.Fatal(err)
		}
	}
	if inner.decCalls.Load() != 1 {
		t.Errorf("%d inner decrypt calls, want 1", inner.decCalls.Load())
	}
	if st := mm.Stats(); st.Hits != 4 || st.Misses != 1 {
		t.Errorf("stats %+v", st)
	}
	// A message with other encrypted data keys is another entry.
	ct2, err := client.EncryptBytes(bg, []byte("secret"), inner, ec)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.DecryptBytes(bg, ct2, mm, nil); err != nil {
		t.Fatal(err)
	}
	if inner.decCalls.Load() != 2 {
		t.Errorf("%d inner decrypt calls, want 2", inner.decCalls.Load())
	}
	// A tampered message fails whatever the cache holds.
	bad := bytes.Clone(ct)
	bad[len(bad)-1] ^= 1
	if _, _, err := client.DecryptBytes(bg, bad, mm, nil); !errors.Is(err, envelope.ErrAuthentication) {
		t.Errorf("tampered message: %v", err)
	}
}

// Entries supplied again on decryption change the materials, so they are
// part of the cache id: a message whose required key was supplied once
// does not then decrypt without it.
func TestReproducedContextKeysTheEntry(t *testing.T) {
	inner := newCounting(t)
	rcm, err := envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Inner: inner.inner, Keys: []string{"tenant"}})
	if err != nil {
		t.Fatal(err)
	}
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	ct, err := client.EncryptBytes(bg, []byte("secret"), rcm, map[string]string{"tenant": "acme", "x": "y"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.DecryptBytes(bg, ct, mm, map[string]string{"tenant": "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.DecryptBytes(bg, ct, mm, map[string]string{"tenant": "acme"}); err != nil {
		t.Fatal(err)
	}
	if inner.decCalls.Load() != 1 {
		t.Fatalf("%d inner decrypt calls, want 1", inner.decCalls.Load())
	}
	for _, repro := range []map[string]string{nil, {"tenant": "other"}, {"x": "y"}} {
		if _, _, err := client.DecryptBytes(bg, ct, mm, repro); !errors.Is(err, envelope.ErrAuthentication) {
			t.Errorf("reproduced %v: %v", repro, err)
		}
	}
	if _, _, err := client.DecryptBytes(bg, ct, mm, map[string]string{"tenant": "acme", "x": "z"}); !errors.Is(err, envelope.ErrContextMismatch) {
		t.Errorf("mismatched stored entry: %v", err)
	}
}

func TestPartitions(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 10, nil)
	m1 := newManager(t, inner, c, cache.ManagerOptions{})
	m2 := newManager(t, inner, c, cache.ManagerOptions{})
	if m1.Partition() == "" || m1.Partition() == m2.Partition() {
		t.Fatalf("random partitions %q and %q", m1.Partition(), m2.Partition())
	}
	s1 := newManager(t, inner, c, cache.ManagerOptions{Partition: "shared"})
	s2 := newManager(t, inner, c, cache.ManagerOptions{Partition: "shared"})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	key := func(mm envelope.MaterialsManager) string {
		ct, err := client.EncryptBytes(bg, []byte("x"), mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		return inner.dataKeyOf(t, ct, nil)
	}
	if key(m1) == key(m2) {
		t.Error("managers with random partitions shared a key")
	}
	if key(s1) != key(s2) {
		t.Error("managers with the same partition did not share a key")
	}
	if inner.encCalls.Load() != 3 {
		t.Errorf("%d inner calls, want 3", inner.encCalls.Load())
	}
}

func TestCallerOwnsItsCopy(t *testing.T) {
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{})
	req := envelope.EncryptionMaterialsRequest{EncryptionContext: ec, PlaintextLength: 10}
	m1, err := mm.GetEncryptionMaterials(bg, req)
	if err != nil {
		t.Fatal(err)
	}
	want := m1.Clone()
	clear(m1.PlaintextDataKey)
	m1.EncryptionContext["added"] = "by the caller"
	m1.EncryptedDataKeys[0].Ciphertext[0] ^= 1
	m1.RequiredEncryptionContextKeys = append(m1.RequiredEncryptionContextKeys, "added")
	m2, err := mm.GetEncryptionMaterials(bg, req)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m2.PlaintextDataKey, want.PlaintextDataKey) || !maps.Equal(m2.EncryptionContext, want.EncryptionContext) ||
		!bytes.Equal(m2.EncryptedDataKeys[0].Ciphertext, want.EncryptedDataKeys[0].Ciphertext) || len(m2.RequiredEncryptionContextKeys) != 0 {
		t.Error("a caller's changes reached the cached materials")
	}
	if inner.encCalls.Load() != 1 || isZero(m2.PlaintextDataKey) {
		t.Error("second request was not a hit")
	}

	// Decryption materials likewise.
	ct, err := newClient(t, format.AES256GCMHKDFSHA512CommitKey).EncryptBytes(bg, nil, inner, ec)
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := format.ParseHeader(ct, format.Limits{})
	dreq := envelope.DecryptionMaterialsRequest{Suite: h.Suite, EncryptedDataKeys: h.EncryptedDataKeys, EncryptionContext: h.EncryptionContext}
	d1, err := mm.DecryptMaterials(bg, dreq)
	if err != nil {
		t.Fatal(err)
	}
	dk := bytes.Clone(d1.PlaintextDataKey)
	clear(d1.PlaintextDataKey)
	d2, err := mm.DecryptMaterials(bg, dreq)
	if err != nil || !bytes.Equal(d2.PlaintextDataKey, dk) || inner.decCalls.Load() != 1 {
		t.Error("a caller's change reached the cached decryption materials")
	}
}

// Clients with different commitment policies never get each other's
// materials from a shared manager.
func TestCommitmentPolicyRespected(t *testing.T) {
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{})
	forbid, err := envelope.New(func(o *envelope.Options) { o.CommitmentPolicy = envelope.ForbidEncryptAllowDecrypt })
	if err != nil {
		t.Fatal(err)
	}
	require, err := envelope.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*envelope.Client{forbid, require, forbid} {
		if _, err := c.EncryptBytes(bg, []byte("x"), mm, ec); err != nil {
			t.Fatal(err)
		}
	}
	if inner.encCalls.Load() != 3 {
		t.Errorf("%d inner calls, want 3", inner.encCalls.Load())
	}
	// A message of a non-committing suite is not decrypted for a client
	// that requires commitment, even when its materials are cached.
	ct, err := forbid.EncryptBytes(bg, []byte("x"), mm, ec)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := forbid.DecryptBytes(bg, ct, mm, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := require.DecryptBytes(bg, ct, mm, nil); !errors.Is(err, envelope.ErrCommitmentPolicy) {
		t.Errorf("require policy decrypted a non-committing message: %v", err)
	}
}

func TestInnerErrorsPassThrough(t *testing.T) {
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	if _, err := client.EncryptBytes(bg, nil, mm, map[string]string{"aws-crypto-x": "y"}); !errors.Is(err, envelope.ErrReservedContextKey) {
		t.Errorf("reserved key: %v", err)
	}
	other := newCounting(t)
	ct, err := client.EncryptBytes(bg, nil, other, ec)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, _, err := client.DecryptBytes(bg, ct, mm, nil); !errors.Is(err, keyring.ErrNoMatchingKey) {
			t.Errorf("foreign key: %v", err)
		}
	}
	if inner.decCalls.Load() != 2 {
		t.Errorf("a failure was cached: %d inner decrypt calls", inner.decCalls.Load())
	}
}

func TestPurge(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 10, nil)
	mm := newManager(t, inner, c, cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	if _, err := client.EncryptBytes(bg, nil, mm, ec); err != nil {
		t.Fatal(err)
	}
	c.Purge()
	if c.Len() != 0 || !isZero(inner.enc[0].PlaintextDataKey) {
		t.Fatal("Purge left an entry or its key")
	}
	if st := c.Stats(); st.Evictions != 0 || st.Expirations != 0 || st.Retirements != 0 {
		t.Errorf("Purge counted as %+v", st)
	}
	if _, err := client.EncryptBytes(bg, nil, mm, ec); err != nil || inner.encCalls.Load() != 2 {
		t.Fatalf("after Purge: %v, %d calls", err, inner.encCalls.Load())
	}
}

func TestConstructorErrors(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 1, nil)
	for _, tc := range []struct {
		name  string
		inner envelope.MaterialsManager
		c     *cache.Cache
		o     cache.ManagerOptions
		want  string
	}{
		{"nil inner", nil, c, cache.ManagerOptions{MaxAge: time.Second}, "ManagerOptions.Inner"},
		{"nil cache", inner, nil, cache.ManagerOptions{MaxAge: time.Second}, "ManagerOptions.Cache"},
		{"no max age", inner, c, cache.ManagerOptions{}, "ManagerOptions.MaxAge"},
		{"negative max age", inner, c, cache.ManagerOptions{MaxAge: -time.Second}, "ManagerOptions.MaxAge"},
		{"too many messages", inner, c, cache.ManagerOptions{MaxAge: time.Second, MaxMessages: 1<<32 + 1}, "ManagerOptions.MaxMessages"},
		{"too many bytes", inner, c, cache.ManagerOptions{MaxAge: time.Second, MaxBytes: 1 << 63}, "ManagerOptions.MaxBytes"},
	} {
		o := tc.o
		o.Inner, o.Cache = tc.inner, tc.c
		_, err := cache.NewManager(o)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "esdk/cache: ") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := cache.New(cache.CacheOptions{Capacity: -1}); err == nil || !strings.Contains(err.Error(), "CacheOptions.Capacity") {
		t.Errorf("negative capacity: %v", err)
	}
}

// TestOptions checks the zero values and the functions after the
// options, which adjust a copy of them in order.
func TestOptions(t *testing.T) {
	// The zero CacheOptions: capacity 0, which stores nothing, and the
	// real clock.
	c, err := cache.New(cache.CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inner := newCounting(t)
	mm := newManager(t, inner, c, cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	ec := map[string]string{"k": "v"}
	for range 2 {
		if _, err := client.EncryptBytes(bg, nil, mm, ec); err != nil {
			t.Fatal(err)
		}
	}
	if st := mm.Stats(); st.Bypasses != 2 || st.Hits != 0 || c.Len() != 0 {
		t.Errorf("zero capacity: stats %+v, %d entries", st, c.Len())
	}

	// Functions set the clock and the capacity; the last one wins.
	clock := newClock()
	o := cache.CacheOptions{Capacity: 5}
	c, err = cache.New(o,
		func(o *cache.CacheOptions) { o.Capacity = 0 },
		func(o *cache.CacheOptions) { o.Capacity, o.Now = 1, clock.Now },
	)
	if err != nil {
		t.Fatal(err)
	}
	if o.Capacity != 5 || o.Now != nil {
		t.Errorf("the caller's options changed: %+v", o)
	}
	mo := cache.ManagerOptions{Inner: inner, Cache: c}
	mm, err = cache.NewManager(mo, func(o *cache.ManagerOptions) { o.MaxAge = time.Minute })
	if err != nil {
		t.Fatal(err)
	}
	if mo.MaxAge != 0 {
		t.Errorf("the caller's options changed: MaxAge %v", mo.MaxAge)
	}
	for range 2 {
		if _, err := client.EncryptBytes(bg, nil, mm, ec); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Minute)
	if _, err := client.EncryptBytes(bg, nil, mm, ec); err != nil {
		t.Fatal(err)
	}
	if st := mm.Stats(); st.Misses != 2 || st.Hits != 1 || st.Expirations != 1 {
		t.Errorf("capacity 1 on the fake clock, MaxAge a minute: stats %+v", st)
	}
}

// A caching manager around a required-context manager caches materials
// that already name the required keys.
func TestCachingAroundRequiredContext(t *testing.T) {
	inner := newCounting(t)
	rcm, err := envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Inner: inner, Keys: []string{"tenant"}})
	if err != nil {
		t.Fatal(err)
	}
	mm := newManager(t, rcm, newCache(t, 10, nil), cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	ec := map[string]string{"tenant": "acme", "stored": "yes"}
	var cts [][]byte
	for range 3 {
		ct, err := client.EncryptBytes(bg, []byte("x"), mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := format.ParseHeader(ct, format.Limits{})
		if _, ok := h.EncryptionContext["tenant"]; ok {
			t.Fatal("a required key was stored in the header")
		}
		cts = append(cts, ct)
	}
	if inner.encCalls.Load() != 1 {
		t.Errorf("%d inner calls", inner.encCalls.Load())
	}
	repro := map[string]string{"tenant": "acme"}
	for _, ct := range cts {
		if _, _, err := client.DecryptBytes(bg, ct, mm, repro); err != nil {
			t.Fatal(err)
		}
	}
	if inner.decCalls.Load() != 1 {
		t.Errorf("%d inner decrypt calls", inner.decCalls.Load())
	}
	if _, _, err := client.DecryptBytes(bg, cts[0], mm, nil); !errors.Is(err, envelope.ErrMissingRequiredContext) {
		t.Errorf("without the required key: %v", err)
	}
}

// A caching manager inside a required-context manager keys its entries by
// the required keys too: a caller that uses the caching manager directly,
// with the same context, does not get materials that would leave its keys
// out of the header.
func TestCachingInsideRequiredContext(t *testing.T) {
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{})
	rcm, err := envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Inner: mm, Keys: []string{"tenant"}})
	if err != nil {
		t.Fatal(err)
	}
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	ec := map[string]string{"tenant": "acme", "stored": "yes"}
	stored := func(mgr envelope.MaterialsManager) bool {
		t.Helper()
		ct, err := client.EncryptBytes(bg, []byte("x"), mgr, ec)
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := format.ParseHeader(ct, format.Limits{})
		_, ok := h.EncryptionContext["tenant"]
		return ok
	}
	for _, call := range []string{"a miss", "a hit"} {
		if stored(rcm) {
			t.Fatalf("the required-context manager stored its key (%s)", call)
		}
	}
	if !stored(mm) {
		t.Error("a direct caller got materials made for the required-context manager")
	}
	if stored(rcm) {
		t.Fatal("the required-context manager stored its key")
	}
	if inner.encCalls.Load() != 2 {
		t.Errorf("%d inner calls, want 2", inner.encCalls.Load())
	}
	if got := inner.encReqs[0].RequiredEncryptionContextKeys; len(got) != 1 || got[0] != "tenant" {
		t.Errorf("inner manager asked with required keys %q", got)
	}
}

// A stream whose length is declared uses the cache and counts against the
// byte limit; the Encryptor holds it to the declared length.
func TestDeclaredLengthStreamIsCached(t *testing.T) {
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{MaxBytes: 1000})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	stream := func(declared, n int) ([]byte, error) {
		var buf bytes.Buffer
		w, err := client.Encrypt(bg, &buf, mm, ec, envelope.WithPlaintextLength(int64(declared)))
		if err != nil {
			return nil, err
		}
		for range n {
			if _, err := w.Write([]byte{'x'}); err != nil {
				return nil, err
			}
		}
		return buf.Bytes(), w.Close()
	}
	var keys []string
	for range 4 {
		ct, err := stream(300, 300)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, inner.dataKeyOf(t, ct, nil))
	}
	if keys[0] != keys[2] || keys[3] == keys[2] {
		t.Error("declared streams did not share a key up to the byte limit")
	}
	if st := mm.Stats(); st.UnknownLength != 0 || st.Bypasses != 0 || st.Hits != 2 || st.Misses != 2 {
		t.Errorf("stats %+v", st)
	}
	if _, err := stream(300, 301); !errors.Is(err, envelope.ErrPlaintextLength) {
		t.Errorf("a stream longer than declared: %v", err)
	}
}

// An entry of a signed suite that leaves the cache drops its signing key
// as it zeroes its data key; the messages given the key keep it and can
// still sign.
func TestSigningKeyDroppedOnRemoval(t *testing.T) {
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{MaxMessages: 2})
	req := envelope.EncryptionMaterialsRequest{
		EncryptionContext: ec,
		Suite:             format.MustSuite(format.AES256GCMHKDFSHA512CommitKeyECDSAP384),
		PlaintextLength:   1,
	}
	var given []*keyring.EncryptionMaterials
	for range 2 { // a miss, then a hit that retires the entry
		mat, err := mm.GetEncryptionMaterials(bg, req)
		if err != nil {
			t.Fatal(err)
		}
		given = append(given, mat)
	}
	if st := mm.Stats(); st.Retirements != 1 || len(inner.enc) != 1 {
		t.Fatalf("stats %+v, %d inner materials", st, len(inner.enc))
	}
	if cached := inner.enc[0]; cached.SigningKey != nil || !isZero(cached.PlaintextDataKey) {
		t.Error("the retired entry kept its signing key or its data key")
	}
	digest := sha512.Sum384([]byte("message"))
	for i, mat := range given {
		if mat.SigningKey == nil {
			t.Fatalf("materials %d lost their signing key", i)
		}
		sig, err := ecdsa.SignASN1(rand.Reader, mat.SigningKey, digest[:])
		if err != nil || !ecdsa.VerifyASN1(&mat.SigningKey.PublicKey, digest[:], sig) {
			t.Errorf("materials %d: signing after the entry left: %v", i, err)
		}
	}
}
