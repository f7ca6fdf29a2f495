package keyring_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// pkcs1Ciphertexts returns RSA ciphertexts under pub that a PKCS #1 v1.5
// padding oracle would tell apart: padding that is not conformant, and
// conformant padding around payloads of several lengths, one of them
// keyLen (whose payload is returned too).
func pkcs1Ciphertexts(t *testing.T, pub *rsa.PublicKey, keyLen int) (cts map[string][]byte, payload []byte) {
	t.Helper()
	k := pub.Size()
	// 00 01 ...: block type 1 is for signatures, not encryption.
	em := make([]byte, k)
	em[1] = 1
	for i := 2; i < k-keyLen-1; i++ {
		em[i] = 0xFF
	}
	copy(em[k-keyLen:], randBytes(keyLen))
	c := new(big.Int).Exp(new(big.Int).SetBytes(em), big.NewInt(int64(pub.E)), pub.N)
	cts = map[string][]byte{"not conformant": c.FillBytes(make([]byte, k))}
	payload = randBytes(keyLen)
	for _, n := range []int{0, keyLen / 2, keyLen - 1, keyLen, keyLen + 1} {
		p := randBytes(n)
		if n == keyLen {
			p = payload
		}
		ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, p)
		if err != nil {
			t.Fatal(err)
		}
		cts[fmt.Sprintf("conformant, %d-byte payload", n)] = ct
	}
	return cts, payload
}

// TestRawRSAPKCS1NoPaddingOracle checks that a PKCS #1 v1.5 ciphertext
// with bad padding, one with a payload of the wrong length and one with a
// payload of the right length all unwrap the same way: to a key of the
// suite's length, with no error that could tell them apart.
func TestRawRSAPKCS1NoPaddingOracle(t *testing.T) {
	key := rsaKey()
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.PKCS1, PublicKey: &key.PublicKey, PrivateKey: key})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*format.Suite{suite128, suite256} {
		cts, payload := pkcs1Ciphertexts(t, &key.PublicKey, s.KeyLength())
		for name, ct := range cts {
			t.Run(fmt.Sprintf("%s/%s", s.ID(), name), func(t *testing.T) {
				edks := []format.EncryptedDataKey{{ProviderID: "ns", ProviderInfo: []byte("name"), Ciphertext: ct}}
				m := &keyring.DecryptionMaterials{Suite: s}
				if err := kr.OnDecrypt(context.Background(), m, edks); err != nil {
					t.Fatalf("OnDecrypt: %v; want the same outcome for every ciphertext: a key and no error", err)
				}
				if len(m.PlaintextDataKey) != s.KeyLength() {
					t.Fatalf("data key is %d bytes, want %d", len(m.PlaintextDataKey), s.KeyLength())
				}
				if isRight := name == fmt.Sprintf("conformant, %d-byte payload", s.KeyLength()); isRight != bytes.Equal(m.PlaintextDataKey, payload) {
					t.Fatalf("unwrapped key equals the payload: %v, want %v", !isRight, isRight)
				}
			})
		}
	}
}

// TestRawRSAPKCS1NoPaddingOracleInMessage swaps chosen RSA ciphertexts
// into the header of a message and checks that decryption fails with the
// same error text for each.
func TestRawRSAPKCS1NoPaddingOracleInMessage(t *testing.T) {
	key := rsaKey()
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.PKCS1, PublicKey: &key.PublicKey, PrivateKey: key})
	if err != nil {
		t.Fatal(err)
	}
	// Record the encrypted data key the keyring writes, to find it in
	// the message.
	var edk []byte
	recorder := funcKeyring{
		enc: func(ctx context.Context, m *keyring.EncryptionMaterials) error {
			if err := kr.OnEncrypt(ctx, m); err != nil {
				return err
			}
			edk = m.EncryptedDataKeys[len(m.EncryptedDataKeys)-1].Ciphertext
			return nil
		},
		dec: kr.OnDecrypt,
	}
	client, err := envelope.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	msg, err := client.EncryptBytes(ctx, []byte("attack at dawn"), mustManager(t, recorder), nil)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(msg, edk)
	if at < 0 || len(edk) != key.Size() {
		t.Fatal("encrypted data key not found in the message")
	}
	cts, _ := pkcs1Ciphertexts(t, &key.PublicKey, 32)
	var first, firstName string
	for name, ct := range cts {
		tampered := bytes.Clone(msg)
		copy(tampered[at:], ct)
		_, _, err := client.DecryptBytes(ctx, tampered, mustManager(t, kr), nil)
		if !errors.Is(err, envelope.ErrAuthentication) {
			t.Fatalf("%s: got %v, want ErrAuthentication", name, err)
		}
		if first == "" {
			first, firstName = err.Error(), name
			continue
		}
		if err.Error() != first {
			t.Errorf("errors differ:\n%s: %s\n%s: %s", firstName, first, name, err)
		}
	}
}
