package envelope_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// fixedKey is a keyring whose data key is known to the test.
type fixedKey []byte

func (k fixedKey) OnEncrypt(_ context.Context, m *keyring.EncryptionMaterials) error {
	if m.PlaintextDataKey == nil {
		m.PlaintextDataKey = bytes.Clone(k)
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, format.EncryptedDataKey{ProviderID: "fixed", Ciphertext: []byte{0}})
	return nil
}

func (k fixedKey) OnDecrypt(_ context.Context, m *keyring.DecryptionMaterials, _ []format.EncryptedDataKey) error {
	m.PlaintextDataKey = bytes.Clone(k)
	return nil
}

// TestDecryptUnsortedContext decrypts a message whose header stores its
// encryption context out of canonical order, as old JavaScript ESDKs
// wrote it, and checks that the header tag is checked over the bytes as
// written, not over a re-marshalled header.
func TestDecryptUnsortedContext(t *testing.T) {
	ctx := context.Background()
	dataKey := fixedKey(bytes.Repeat([]byte{7}, 32))
	mm, err := envelope.NewDefaultManager(dataKey)
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"a": "1", "b": "22", "c": "333"}
	msg := encryptFor(t, mm, format.AES256GCMHKDFSHA512CommitKey, []byte("plaintext"), ec)
	h, n, err := format.ParseHeader(msg, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}

	// Store the entries in reverse order: same length, same map.
	canon, err := format.MarshalEncryptionContext(ec)
	if err != nil {
		t.Fatal(err)
	}
	var reversed []byte
	reversed = binary.BigEndian.AppendUint16(reversed, 3)
	for _, s := range []string{"c", "333", "b", "22", "a", "1"} {
		reversed = binary.BigEndian.AppendUint16(reversed, uint16(len(s)))
		reversed = append(reversed, s...)
	}
	i := bytes.Index(msg[:n], canon)
	if i < 0 || len(reversed) != len(canon) {
		t.Fatal("context not found in the header")
	}
	copy(msg[i:], reversed)

	// With the tag of the canonical header, the reordered one fails.
	c := newClient(t)
	if pt, _, err := c.DecryptBytes(ctx, msg, mm, nil); pt != nil || !errors.Is(err, envelope.ErrAuthentication) {
		t.Fatalf("reordered header with the canonical header's tag: %v, want ErrAuthentication", err)
	}

	// Tag the header as written: the committing suite's key is
	// HKDF-SHA512(data key, salt message id, info suite id || "DERIVEKEY"),
	// the IV is zero and the AAD is the header body.
	s := h.Suite
	info := binary.BigEndian.AppendUint16(nil, uint16(s.ID()))
	key, err := hkdf.Key(sha512.New, dataKey, h.MessageID, string(info)+"DERIVEKEY", s.KeyLength())
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	copy(msg[n-format.TagLength:n], gcm.Seal(nil, make([]byte, format.IVLength), nil, msg[:n-format.TagLength]))

	pt, hdr, err := c.DecryptBytes(ctx, msg, mm, map[string]string{"b": "22"})
	if err != nil || string(pt) != "plaintext" || !maps.Equal(hdr.EncryptionContext, ec) {
		t.Fatalf("DecryptBytes: %q, %v", pt, err)
	}
	spt, shdr, err := decryptStream(ctx, c, msg, mm, nil)
	if err != nil || string(spt) != "plaintext" || !maps.Equal(shdr.EncryptionContext, ec) {
		t.Fatalf("streaming Decrypt: %q, %v", spt, err)
	}
}

// failingKeyring fails every decryption with err.
type failingKeyring struct{ err error }

func (failingKeyring) OnEncrypt(context.Context, *keyring.EncryptionMaterials) error {
	return errors.New("not for encryption")
}

func (k failingKeyring) OnDecrypt(context.Context, *keyring.DecryptionMaterials, []format.EncryptedDataKey) error {
	return k.err
}

// TestKeyringFailureIsNotTampering checks that Decrypt reports a keyring
// that really failed (a key service down) as that failure, and only a
// message none of whose data keys is for these keyrings as an
// authentication failure.
func TestKeyringFailureIsNotTampering(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	msg, err := c.EncryptBytes(ctx, []byte("hello"), aesManager(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "other", Name: "key", WrappingKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	down := errors.New("key service unavailable")
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: other, Children: []keyring.Keyring{failingKeyring{down}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.DecryptBytes(ctx, msg, mustManager(t, multi), nil)
	if !errors.Is(err, down) || errors.Is(err, envelope.ErrAuthentication) || errors.Is(err, envelope.ErrNoMatchingKey) {
		t.Errorf("a keyring down beside one without a match: %v, want the failure and neither ErrAuthentication nor ErrNoMatchingKey", err)
	}
	if err != nil && !strings.Contains(err.Error(), `raw AES "other"/"key"`) {
		t.Errorf("%v does not name the keyring without a match", err)
	}
	multi, err = keyring.NewMulti(keyring.MultiOptions{Generator: other, Children: []keyring.Keyring{failingKeyring{&keyring.NoMatchingKeyError{Keyring: "failing"}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.DecryptBytes(ctx, msg, mustManager(t, multi), nil)
	if !errors.Is(err, envelope.ErrAuthentication) || !errors.Is(err, envelope.ErrNoMatchingKey) {
		t.Errorf("no keyring with a match: %v, want ErrAuthentication and ErrNoMatchingKey", err)
	}
}
