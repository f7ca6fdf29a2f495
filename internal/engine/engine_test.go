package engine

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"unsafe"

	"github.com/go-esdk/esdk/format"
)

func TestDeriveKeys(t *testing.T) {
	for _, s := range format.Suites() {
		dk := make([]byte, s.KeyLength())
		rand.Read(dk)
		mid := make([]byte, s.MessageIDLength())
		rand.Read(mid)
		key, commit, err := deriveKeys(s, dk, mid)
		if err != nil {
			t.Fatal(err)
		}
		if len(key) != s.KeyLength() {
			t.Errorf("%s: key of %d bytes", s.ID(), len(key))
		}
		if (s.KDF() == format.KDFIdentity) != bytes.Equal(key, dk) {
			t.Errorf("%s: identity KDF mismatch", s.ID())
		}
		if s.Committing() != (len(commit) == format.CommitmentLength) {
			t.Errorf("%s: commitment of %d bytes", s.ID(), len(commit))
		}
		// Another message id gives another key, except without a KDF.
		mid2 := bytes.Clone(mid)
		mid2[0] ^= 1
		key2, _, _ := deriveKeys(s, dk, mid2)
		if (s.KDF() == format.KDFIdentity) != bytes.Equal(key, key2) {
			t.Errorf("%s: message id does not enter the derivation", s.ID())
		}
		if _, _, err := deriveKeys(s, dk[1:], mid); err == nil {
			t.Errorf("%s: short data key accepted", s.ID())
		}
		if _, _, err := deriveKeys(s, dk, mid[1:]); err == nil {
			t.Errorf("%s: short message id accepted", s.ID())
		}
	}
}

// TestDeriveKeysKnownAnswer pins the committing derivation to a value
// computed independently from the specification (HKDF-SHA512, salt = the
// message id, info = suite id ‖ "DERIVEKEY" and "COMMITKEY").
func TestDeriveKeysKnownAnswer(t *testing.T) {
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	dk := bytes.Repeat([]byte{0x01}, 32)
	mid := bytes.Repeat([]byte{0x02}, 32)
	key, commit, err := deriveKeys(s, dk, mid)
	if err != nil {
		t.Fatal(err)
	}
	wantKey, wantCommit := hkdfSHA512(dk, mid, append([]byte{0x04, 0x78}, "DERIVEKEY"...), 32), hkdfSHA512(dk, mid, []byte("COMMITKEY"), 32)
	if !bytes.Equal(key, wantKey) || !bytes.Equal(commit, wantCommit) {
		t.Fatalf("key %x commit %x, want %x %x", key, commit, wantKey, wantCommit)
	}
}

func TestCheckCommitment(t *testing.T) {
	a := bytes.Repeat([]byte{9}, 32)
	if err := checkCommitment(a, bytes.Clone(a)); err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(a)
	b[31] ^= 1
	for _, bad := range [][]byte{b, a[:31], nil} {
		if err := checkCommitment(a, bad); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("mismatch gave %v", err)
		}
	}
}

func TestPublicKeyEncoding(t *testing.T) {
	for _, s := range format.Suites() {
		if !s.Signed() {
			continue
		}
		key, err := GenerateSigningKey(s)
		if err != nil {
			t.Fatal(err)
		}
		enc := MarshalPublicKey(&key.PublicKey)
		want := 44
		if s.Curve().Params().BitSize == 384 {
			want = 68
		}
		if len(enc) != want {
			t.Errorf("%s: encoded key of %d characters, want %d", s.ID(), len(enc), want)
		}
		pub, err := ParsePublicKey(s, enc)
		if err != nil || !pub.Equal(&key.PublicKey) {
			t.Fatalf("%s: parse back: %v", s.ID(), err)
		}
		for _, bad := range []string{"", "not base64!", enc[:len(enc)-4], "AAAA" + enc[4:]} {
			if _, err := ParsePublicKey(s, bad); err == nil {
				t.Errorf("%s: accepted %q", s.ID(), bad)
			}
		}
	}
}

func TestHeaderAuthAAD(t *testing.T) {
	body := []byte("body")
	aad, err := headerAuthAAD(body, map[string]string{"b": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(aad), hex.EncodeToString([]byte("body"))+"0001"+"0001"+"62"+"0001"+"32"; got != want {
		t.Fatalf("aad %s, want %s", got, want)
	}
	if aad, _ := headerAuthAAD(body, nil); string(aad) != "body" {
		t.Fatalf("aad without required entries: %q", aad)
	}
}

// TestKDFHashesWiped: the digests that a key derivation lent to HKDF go
// back to the pool without the data key, which an HMAC's inner digest
// keeps in its buffer after Reset.
func TestKDFHashesWiped(t *testing.T) {
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	dk := bytes.Repeat([]byte{0xA5}, 32)
	for range 10 { // a collection may empty the pool between put and get
		if _, _, err := deriveKeys(s, dk, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
		hs := getKDFHashes(s.KDFHash())
		if len(hs.ds) == 0 {
			hs.put()
			continue
		}
		for i, d := range hs.ds {
			v := reflect.ValueOf(d)
			mem := unsafe.Slice((*byte)(v.UnsafePointer()), v.Type().Elem().Size())
			if bytes.Contains(mem, dk[:16]) {
				t.Errorf("digest %d of %d still holds the data key", i, len(hs.ds))
			}
		}
		hs.put()
		return
	}
	t.Fatal("no derivation's digests came back from the pool")
}
