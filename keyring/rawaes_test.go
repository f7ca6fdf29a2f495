package keyring_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

func TestRawAESRoundTrip(t *testing.T) {
	ec := map[string]string{"purpose": "test", format.PublicKeyContextKey: "AjMyNTY="}
	for _, size := range []int{16, 24, 32} {
		for _, s := range format.Suites() {
			t.Run(fmt.Sprintf("AES-%d/%s", size*8, s), func(t *testing.T) {
				kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", WrappingKey: randBytes(size)})
				if err != nil {
					t.Fatal(err)
				}
				em := encrypt(t, kr, s, ec)
				if len(em.EncryptedDataKeys) != 1 {
					t.Fatalf("got %d encrypted data keys, want 1", len(em.EncryptedDataKeys))
				}
				got, err := decrypt(kr, s, ec, em.EncryptedDataKeys)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, em.PlaintextDataKey) {
					t.Fatal("unwrapped data key differs")
				}
			})
		}
	}
}

// TestRawAESWireFormat checks the encrypted data key against the layout
// the other ESDKs write, decrypting it with crypto/cipher directly.
func TestRawAESWireFormat(t *testing.T) {
	key := randBytes(32)
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "my-namespace", Name: "my-key", WrappingKey: key})
	if err != nil {
		t.Fatal(err)
	}
	dataKey := randBytes(32)
	m := &keyring.EncryptionMaterials{
		Suite:             suite256,
		EncryptionContext: map[string]string{"b": "2", "a": "1"},
		PlaintextDataKey:  dataKey,
	}
	if err := kr.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.PlaintextDataKey, dataKey) {
		t.Fatal("OnEncrypt replaced an existing data key")
	}
	edk := m.EncryptedDataKeys[0]
	if edk.ProviderID != "my-namespace" {
		t.Errorf("provider id %q, want %q", edk.ProviderID, "my-namespace")
	}
	info := edk.ProviderInfo
	wantPrefix := append([]byte("my-key"), 0, 0, 0, 128, 0, 0, 0, 12)
	if len(info) != len(wantPrefix)+12 || !bytes.HasPrefix(info, wantPrefix) {
		t.Fatalf("provider info %x, want %x followed by a 12-byte IV", info, wantPrefix)
	}
	iv := info[len(wantPrefix):]
	// Count 2, then "a" = "1", "b" = "2", each with 2-byte lengths.
	aad := []byte{0, 2, 0, 1, 'a', 0, 1, '1', 0, 1, 'b', 0, 1, '2'}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	got, err := gcm.Open(nil, iv, edk.Ciphertext, aad)
	if err != nil {
		t.Fatalf("opening the encrypted data key by hand: %v", err)
	}
	if !bytes.Equal(got, dataKey) {
		t.Fatal("the encrypted data key does not hold the data key")
	}

	// An empty context is no AAD at all.
	m = &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: dataKey}
	if err := kr.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	edk = m.EncryptedDataKeys[0]
	if _, err := gcm.Open(nil, edk.ProviderInfo[len(wantPrefix):], edk.Ciphertext, nil); err != nil {
		t.Fatalf("empty context: %v", err)
	}
}

// wrongKeyHint is what the raw AES keyring says of a data key that does
// not authenticate under its key.
const wrongKeyHint = "wrong key or encryption context?"

func TestRawAESDecryptFailures(t *testing.T) {
	key := randBytes(32)
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", WrappingKey: key})
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"k": "v"}
	em := encrypt(t, kr, suite256, ec)
	n := len("name")
	other, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", WrappingKey: randBytes(32)})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		kr     keyring.Keyring
		suite  *format.Suite
		ec     map[string]string
		tamper func(e *format.EncryptedDataKey)
		// hint: the data key does not authenticate, and the error says
		// what most likely causes that.
		hint bool
	}{
		{name: "wrong key", kr: other, hint: true},
		{name: "other context", ec: map[string]string{"k": "w"}, hint: true},
		{name: "empty context", ec: map[string]string{}, hint: true},
		{name: "suite of another key length", suite: suite128},
		{name: "provider id", tamper: func(e *format.EncryptedDataKey) { e.ProviderID = "nt" }},
		{name: "key name", tamper: func(e *format.EncryptedDataKey) { e.ProviderInfo[0] ^= 1 }},
		{name: "tag length", tamper: func(e *format.EncryptedDataKey) { e.ProviderInfo[n+3] = 96 }},
		{name: "IV length", tamper: func(e *format.EncryptedDataKey) { e.ProviderInfo[n+7] = 16 }},
		{name: "IV", tamper: func(e *format.EncryptedDataKey) { e.ProviderInfo[n+8] ^= 1 }, hint: true},
		{name: "short provider info", tamper: func(e *format.EncryptedDataKey) { e.ProviderInfo = e.ProviderInfo[:n+19] }},
		{name: "long provider info", tamper: func(e *format.EncryptedDataKey) { e.ProviderInfo = append(e.ProviderInfo, 0) }},
		{name: "provider info is the name", tamper: func(e *format.EncryptedDataKey) { e.ProviderInfo = []byte("name") }},
		{name: "no provider info", tamper: func(e *format.EncryptedDataKey) { e.ProviderInfo = nil }},
		{name: "ciphertext", tamper: func(e *format.EncryptedDataKey) { e.Ciphertext[0] ^= 1 }, hint: true},
		{name: "tag", tamper: func(e *format.EncryptedDataKey) { e.Ciphertext[len(e.Ciphertext)-1] ^= 1 }, hint: true},
		{name: "short ciphertext", tamper: func(e *format.EncryptedDataKey) { e.Ciphertext = e.Ciphertext[:len(e.Ciphertext)-1] }},
		{name: "no ciphertext", tamper: func(e *format.EncryptedDataKey) { e.Ciphertext = nil }},
		{name: "huge ciphertext", tamper: func(e *format.EncryptedDataKey) { e.Ciphertext = make([]byte, 1<<20) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kr, s, ec := keyring.Keyring(kr), suite256, ec
			if tc.kr != nil {
				kr = tc.kr
			}
			if tc.suite != nil {
				s = tc.suite
			}
			if tc.ec != nil {
				ec = tc.ec
			}
			edks := format.CloneEncryptedDataKeys(em.EncryptedDataKeys)
			if tc.tamper != nil {
				tc.tamper(&edks[0])
			}
			_, err := decrypt(kr, s, ec, edks)
			if !errors.Is(err, keyring.ErrNoMatchingKey) {
				t.Fatalf("got %v, want ErrNoMatchingKey", err)
			}
			if got := strings.Contains(err.Error(), wrongKeyHint); got != tc.hint {
				t.Errorf("%v: says %q: %v, want %v", err, wrongKeyHint, got, tc.hint)
			}
			checkErrText(t, err, key, em.PlaintextDataKey)
		})
	}
}

func TestRawAESTriesEachOwnKey(t *testing.T) {
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", WrappingKey: randBytes(16)})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, kr, suite256, nil)
	good := em.EncryptedDataKeys[0]
	bad := format.CloneEncryptedDataKeys(em.EncryptedDataKeys)[0]
	bad.Ciphertext[0] ^= 1
	foreign := format.EncryptedDataKey{ProviderID: "other", ProviderInfo: []byte("x"), Ciphertext: []byte("y")}
	got, err := decrypt(kr, suite256, nil, []format.EncryptedDataKey{foreign, bad, good})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, em.PlaintextDataKey) {
		t.Fatal("unwrapped data key differs")
	}

	// With only bad keys of its own, the error names why each failed.
	_, err = decrypt(kr, suite256, nil, []format.EncryptedDataKey{foreign, bad, bad})
	if !errors.Is(err, keyring.ErrNoMatchingKey) || !strings.Contains(err.Error(), "encrypted data key 1") || !strings.Contains(err.Error(), "; encrypted data key 2") {
		t.Fatalf("got %v, want ErrNoMatchingKey naming encrypted data keys 1 and 2", err)
	}
	// With none of its own, there is nothing more to say.
	_, err = decrypt(kr, suite256, nil, nil)
	if !errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Fatalf("got %v, want ErrNoMatchingKey", err)
	}
}

func TestRawAESHasDataKey(t *testing.T) {
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", WrappingKey: randBytes(16)})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, kr, suite256, nil)
	m := &keyring.DecryptionMaterials{Suite: suite256, PlaintextDataKey: randBytes(32)}
	err = kr.OnDecrypt(context.Background(), m, em.EncryptedDataKeys)
	if !errors.Is(err, keyring.ErrDataKeyAlreadySet) || errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Fatalf("got %v, want ErrDataKeyAlreadySet", err)
	}
}

func TestRawAESEncryptErrors(t *testing.T) {
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", WrappingKey: randBytes(16)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    keyring.EncryptionMaterials
	}{
		{"data key of the wrong length", keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: randBytes(16)}},
		{"context not UTF-8", keyring.EncryptionMaterials{Suite: suite256, EncryptionContext: map[string]string{"k": "\xff"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := kr.OnEncrypt(context.Background(), &tc.m); err == nil || len(tc.m.EncryptedDataKeys) != 0 {
				t.Fatalf("got %v and %d encrypted data keys, want an error and none", err, len(tc.m.EncryptedDataKeys))
			}
		})
	}
	m := &keyring.DecryptionMaterials{Suite: suite256, EncryptionContext: map[string]string{"k": "\xff"}}
	if err := kr.OnDecrypt(context.Background(), m, nil); err == nil || errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Fatalf("OnDecrypt with a context that is not UTF-8: got %v, want a fatal error", err)
	}
}

func TestRawAESCopiesKey(t *testing.T) {
	key := randBytes(32)
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", WrappingKey: key})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, kr, suite256, nil)
	clear(key)
	if _, err := decrypt(kr, suite256, nil, em.EncryptedDataKeys); err != nil {
		t.Fatalf("after the caller cleared its key slice: %v", err)
	}
}

func TestNewRawAESErrors(t *testing.T) {
	tests := []struct {
		name, namespace, keyName string
		keyLen                   int
	}{
		{"no key", "ns", "name", 0},
		{"15-byte key", "ns", "name", 15},
		{"17-byte key", "ns", "name", 17},
		{"33-byte key", "ns", "name", 33},
		{"64-byte key", "ns", "name", 64},
		{"aws-kms namespace", "aws-kms", "name", 32},
		{"aws-kms prefix", "aws-kms-mrk", "name", 32},
		{"empty namespace", "", "name", 32},
		{"empty name", "ns", "", 32},
		{"invalid UTF-8", "ns\xff", "name", 32},
		{"name too long", "ns", strings.Repeat("n", 0xFFFF-19), 32},
		{"namespace too long", strings.Repeat("n", 0x10000), "name", 32},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := randBytes(tc.keyLen)
			kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: tc.namespace, Name: tc.keyName, WrappingKey: key})
			if err == nil || kr != nil {
				t.Fatalf("got %v, %v; want an error", kr, err)
			}
			checkErrText(t, err, key)
		})
	}
	if _, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: strings.Repeat("n", 0xFFFF-20), WrappingKey: randBytes(16)}); err != nil {
		t.Errorf("longest name: %v", err)
	}
}

// handle is an AESWrappingKey outside crypto/cipher, as an HSM key would
// be: it records the contexts it is called with and can fail.
type handle struct {
	aead    cipher.AEAD
	err     error
	extra   int // bytes added to what Seal and Open return
	ctxs    []context.Context
	callsMu sync.Mutex
}

func newHandle(t *testing.T, key []byte) *handle {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &handle{aead: gcm}
}

func (h *handle) Seal(ctx context.Context, iv, plaintext, aad []byte) ([]byte, error) {
	h.callsMu.Lock()
	h.ctxs = append(h.ctxs, ctx)
	h.callsMu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	return append(h.aead.Seal(nil, iv, plaintext, aad), make([]byte, h.extra)...), nil
}

func (h *handle) Open(ctx context.Context, iv, ciphertext, aad []byte) ([]byte, error) {
	h.callsMu.Lock()
	h.ctxs = append(h.ctxs, ctx)
	h.callsMu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	pt, err := h.aead.Open(nil, iv, ciphertext, aad)
	if err != nil {
		return nil, err
	}
	return append(pt, make([]byte, h.extra)...), nil
}

func TestNewRawAESKeyHandle(t *testing.T) {
	key := randBytes(32)
	h := newHandle(t, key)
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", KeyHandle: h})
	if err != nil {
		t.Fatal(err)
	}
	mem, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", WrappingKey: key})
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"k": "v"}
	ctx := context.WithValue(context.Background(), ctxKey{}, "caller")
	// Same wire format as NewRawAES: each unwraps what the other wraps.
	m := &keyring.EncryptionMaterials{Suite: suite256, EncryptionContext: ec}
	if err := kr.OnEncrypt(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got, err := decrypt(mem, suite256, ec, m.EncryptedDataKeys); err != nil || !bytes.Equal(got, m.PlaintextDataKey) {
		t.Fatalf("WrappingKey unwrapping: %v", err)
	}
	em := encrypt(t, mem, suite256, ec)
	dm := &keyring.DecryptionMaterials{Suite: suite256, EncryptionContext: ec}
	if err := kr.OnDecrypt(ctx, dm, em.EncryptedDataKeys); err != nil || !bytes.Equal(dm.PlaintextDataKey, em.PlaintextDataKey) {
		t.Fatalf("KeyHandle unwrapping: %v", err)
	}
	if len(h.ctxs) != 2 || h.ctxs[0].Value(ctxKey{}) != "caller" || h.ctxs[1].Value(ctxKey{}) != "caller" {
		t.Fatalf("the key handle did not get the caller's context: %v", h.ctxs)
	}
	// Two wrappings of one data key use two IVs.
	m2 := &keyring.EncryptionMaterials{Suite: suite256, EncryptionContext: ec, PlaintextDataKey: m.PlaintextDataKey}
	if err := kr.OnEncrypt(ctx, m2); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(m.EncryptedDataKeys[0].ProviderInfo, m2.EncryptedDataKeys[0].ProviderInfo) {
		t.Fatal("the IV was reused")
	}
}

func TestRawAESKeyHandleFails(t *testing.T) {
	key := randBytes(32)
	h := newHandle(t, key)
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", KeyHandle: h})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, kr, suite256, nil)
	errDown := errors.New("hsm: device not responding")
	h.err = errDown

	m := &keyring.EncryptionMaterials{Suite: suite256}
	if err := kr.OnEncrypt(context.Background(), m); !errors.Is(err, errDown) || len(m.EncryptedDataKeys) != 0 {
		t.Fatalf("OnEncrypt: got %v and %d encrypted data keys, want the handle's error and none", err, len(m.EncryptedDataKeys))
	}
	_, err = decrypt(kr, suite256, nil, em.EncryptedDataKeys)
	var nm *keyring.NoMatchingKeyError
	if !errors.As(err, &nm) || !errors.Is(err, errDown) || len(nm.Causes) != 1 {
		t.Fatalf("OnDecrypt: got %v, want a *NoMatchingKeyError with the handle's error", err)
	}
	checkErrText(t, err, key, em.PlaintextDataKey)
	// The handle failed; nothing says the key or the context is wrong.
	if strings.Contains(err.Error(), wrongKeyHint) {
		t.Errorf("OnDecrypt: %v: a failing handle is not a wrong key or context", err)
	}

	// A handle that returns the wrong number of bytes is an error too.
	h.err, h.extra = nil, 1
	if err := kr.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite256}); err == nil {
		t.Fatal("OnEncrypt: a ciphertext one byte too long was accepted")
	}
	if _, err := decrypt(kr, suite256, nil, em.EncryptedDataKeys); !errors.Is(err, keyring.ErrNoMatchingKey) || strings.Contains(err.Error(), wrongKeyHint) {
		t.Fatalf("OnDecrypt: got %v for a data key one byte too long, want ErrNoMatchingKey without %q", err, wrongKeyHint)
	}

	// A canceled context is a failure of the call, not "not my key".
	h.extra = 0
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dm := &keyring.DecryptionMaterials{Suite: suite256}
	if err := kr.OnDecrypt(ctx, dm, em.EncryptedDataKeys); !errors.Is(err, context.Canceled) || errors.Is(err, keyring.ErrNoMatchingKey) || dm.PlaintextDataKey != nil {
		t.Fatalf("got %v, want context.Canceled and no data key", err)
	}
}

func TestNewRawAESKeyHandleErrors(t *testing.T) {
	var nilHandle *handle
	for _, key := range []keyring.AESWrappingKey{nil, nilHandle} {
		if kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", KeyHandle: key}); err == nil || kr != nil {
			t.Errorf("%T: got %v, %v; want an error", key, kr, err)
		} else {
			checkErrText(t, err)
		}
	}
	if _, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "aws-kms", Name: "name", KeyHandle: newHandle(t, randBytes(16))}); err == nil {
		t.Error("aws-kms namespace: no error")
	}
}
