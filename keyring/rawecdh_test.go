package keyring_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

var ecdhCurves = []struct {
	name  string
	curve ecdh.Curve
	size  int // field size in bytes
}{
	{"P-256", ecdh.P256(), 32},
	{"P-384", ecdh.P384(), 48},
	{"P-521", ecdh.P521(), 66},
}

// ecdhKey is a key pair in the encodings the keyring takes.
type ecdhKey struct {
	priv *ecdh.PrivateKey
	pem  []byte // PKCS #8
	der  []byte // SubjectPublicKeyInfo
}

func newECDHKey(t testing.TB, c ecdh.Curve) ecdhKey {
	t.Helper()
	priv, err := c.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(priv.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return ecdhKey{priv: priv, pem: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), der: der}
}

// ecdhParties is a sender and a recipient on one curve with the keyrings
// of every schema.
type ecdhParties struct {
	sender, recipient ecdhKey
	static            *keyring.RawECDH // the sender's
	reverse           *keyring.RawECDH // the recipient's, static, keys the other way round
	ephemeral         *keyring.RawECDH // to the recipient
	discovery         *keyring.RawECDH // the recipient's
}

func newECDHParties(t testing.TB, c ecdh.Curve) *ecdhParties {
	t.Helper()
	p := &ecdhParties{sender: newECDHKey(t, c), recipient: newECDHKey(t, c)}
	p.static = mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: c, SenderPrivateKey: p.sender.pem, RecipientPublicKey: p.recipient.der})
	p.reverse = mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: c, SenderPrivateKey: p.recipient.pem, RecipientPublicKey: p.sender.der})
	p.ephemeral = mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.EphemeralPrivateKeyToStaticPublicKey, Curve: c, RecipientPublicKey: p.recipient.der})
	p.discovery = mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.PublicKeyDiscovery, Curve: c, RecipientPrivateKey: p.recipient.pem})
	return p
}

func mustRawECDH(t testing.TB, o keyring.RawECDHOptions) *keyring.RawECDH {
	t.Helper()
	kr, err := keyring.NewRawECDH(o)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestRawECDHRoundTrip encrypts with every schema that can and decrypts
// with every schema that should read the message, on every curve and
// suite.
func TestRawECDHRoundTrip(t *testing.T) {
	ec := map[string]string{"purpose": "test", format.PublicKeyContextKey: "AjMyNTY="}
	for _, c := range ecdhCurves {
		p := newECDHParties(t, c.curve)
		pairs := []struct {
			name     string
			enc, dec *keyring.RawECDH
		}{
			{"static-to-static", p.static, p.static},
			{"static-to-reverse", p.static, p.reverse},
			{"reverse-to-static", p.reverse, p.static},
			{"static-to-discovery", p.static, p.discovery},
			{"ephemeral-to-discovery", p.ephemeral, p.discovery},
		}
		for _, s := range format.Suites() {
			for _, pair := range pairs {
				t.Run(fmt.Sprintf("%s/%s/%s", c.name, s, pair.name), func(t *testing.T) {
					em := encrypt(t, pair.enc, s, ec)
					if len(em.EncryptedDataKeys) != 1 {
						t.Fatalf("got %d encrypted data keys, want 1", len(em.EncryptedDataKeys))
					}
					got, err := decrypt(pair.dec, s, ec, em.EncryptedDataKeys)
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
}

// TestRawECDHWrongParty checks that nobody outside an exchange reads it:
// not a discovery keyring of the sender, not one of another recipient,
// not a static keyring of another pair.
func TestRawECDHWrongParty(t *testing.T) {
	for _, c := range ecdhCurves {
		t.Run(c.name, func(t *testing.T) {
			p, other := newECDHParties(t, c.curve), newECDHParties(t, c.curve)
			senderDiscovery := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.PublicKeyDiscovery, Curve: c.curve, RecipientPrivateKey: p.sender.pem})
			// The sender's key with another recipient.
			halfStatic := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: c.curve, SenderPrivateKey: p.sender.pem, RecipientPublicKey: other.recipient.der})
			for _, enc := range []*keyring.RawECDH{p.static, p.ephemeral} {
				em := encrypt(t, enc, suite256, nil)
				for name, dec := range map[string]*keyring.RawECDH{
					"sender's discovery": senderDiscovery, "other discovery": other.discovery,
					"other static": other.static, "half static": halfStatic,
				} {
					_, err := decrypt(dec, suite256, nil, em.EncryptedDataKeys)
					if !errors.Is(err, keyring.ErrNoMatchingKey) {
						t.Fatalf("%v to %s: %v, want a no-match error", enc.Schema(), name, err)
					}
					checkErrText(t, err)
					if !strings.Contains(err.Error(), "for other public keys") {
						t.Errorf("%s: error %q does not say the message is for other keys", name, err)
					}
				}
			}
		})
	}
}

// TestRawECDHOtherCurve: a message for a key on another curve is not this
// keyring's, and says so.
func TestRawECDHOtherCurve(t *testing.T) {
	p256, p384 := newECDHParties(t, ecdh.P256()), newECDHParties(t, ecdh.P384())
	em := encrypt(t, p256.static, suite256, nil)
	_, err := decrypt(p384.discovery, suite256, nil, em.EncryptedDataKeys)
	if !errors.Is(err, keyring.ErrNoMatchingKey) || !strings.Contains(err.Error(), "another curve than P-384") {
		t.Fatalf("got %v, want a no-match error naming the curve", err)
	}
}

func TestRawECDHSchemaDirection(t *testing.T) {
	p := newECDHParties(t, ecdh.P256())
	em := encrypt(t, p.static, suite256, nil)

	err := p.discovery.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite256})
	if !errors.Is(err, keyring.ErrDecryptOnly) {
		t.Errorf("discovery OnEncrypt: %v, want ErrDecryptOnly", err)
	}
	m := &keyring.DecryptionMaterials{Suite: suite256}
	err = p.ephemeral.OnDecrypt(context.Background(), m, em.EncryptedDataKeys)
	if !errors.Is(err, keyring.ErrEncryptOnly) || errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Errorf("ephemeral OnDecrypt: %v, want ErrEncryptOnly and not a no-match", err)
	}
	if m.PlaintextDataKey != nil {
		t.Error("ephemeral OnDecrypt set a data key")
	}
}

// TestRawECDHWireFormat checks the encrypted data key's layout: provider
// id, provider info of the version and both compressed public keys
// (recipient first), and a ciphertext of salt, commitment key, wrapped
// key and tag.
func TestRawECDHWireFormat(t *testing.T) {
	for _, c := range ecdhCurves {
		t.Run(c.name, func(t *testing.T) {
			p := newECDHParties(t, c.curve)
			for _, s := range []*format.Suite{suite128, suite256} {
				em := encrypt(t, p.static, s, map[string]string{"a": "1"})
				edk := em.EncryptedDataKeys[0]
				if edk.ProviderID != "raw-ecdh" {
					t.Errorf("provider id %q, want raw-ecdh", edk.ProviderID)
				}
				n := 1 + c.size
				want := []byte{1}
				want = binary.BigEndian.AppendUint32(want, uint32(n))
				want = append(want, compress(p.recipient.priv.PublicKey())...)
				want = binary.BigEndian.AppendUint32(want, uint32(n))
				want = append(want, compress(p.sender.priv.PublicKey())...)
				if !bytes.Equal(edk.ProviderInfo, want) {
					t.Errorf("provider info\n%x, want\n%x", edk.ProviderInfo, want)
				}
				if got, want := len(edk.ProviderInfo), map[int]int{32: 75, 48: 107, 66: 143}[c.size]; got != want {
					t.Errorf("provider info is %d bytes, want %d", got, want)
				}
				if got, want := len(edk.Ciphertext), 32+32+s.KeyLength()+16; got != want {
					t.Errorf("ciphertext is %d bytes, want %d", got, want)
				}
				// The ephemeral keyring's sender key changes every time.
				e1 := encrypt(t, p.ephemeral, s, nil).EncryptedDataKeys[0]
				e2 := encrypt(t, p.ephemeral, s, nil).EncryptedDataKeys[0]
				if bytes.Equal(e1.ProviderInfo, e2.ProviderInfo) {
					t.Error("two ephemeral wrappings have the same sender key")
				}
				if !bytes.Equal(e1.ProviderInfo[:5+n], want[:5+n]) {
					t.Error("ephemeral provider info does not start with the recipient key")
				}
			}
		})
	}
}

// compress is the SEC 1 compressed point of pub, written out with
// crypto/elliptic as the other ESDKs do.
func compress(pub *ecdh.PublicKey) []byte {
	k, err := x509.ParsePKIXPublicKey(mustMarshalPKIX(pub))
	if err != nil {
		panic(err)
	}
	e := k.(*ecdsa.PublicKey)
	return elliptic.MarshalCompressed(e.Curve, e.X, e.Y)
}

func mustMarshalPKIX(pub any) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return der
}

// TestRawECDHTampered: a change to any byte of the encrypted data key
// either makes it another party's key or fails to unwrap it; so does
// another encryption context.
func TestRawECDHTampered(t *testing.T) {
	p := newECDHParties(t, ecdh.P384())
	ec := map[string]string{"purpose": "test"}
	em := encrypt(t, p.static, suite256, ec)
	edk := em.EncryptedDataKeys[0]
	for _, dec := range []*keyring.RawECDH{p.static, p.discovery} {
		for i := range len(edk.ProviderInfo) + len(edk.Ciphertext) {
			bad := edk
			bad.ProviderInfo = bytes.Clone(edk.ProviderInfo)
			bad.Ciphertext = bytes.Clone(edk.Ciphertext)
			if i < len(bad.ProviderInfo) {
				bad.ProviderInfo[i] ^= 0x01
			} else {
				bad.Ciphertext[i-len(bad.ProviderInfo)] ^= 0x80
			}
			key, err := decrypt(dec, suite256, ec, []format.EncryptedDataKey{bad})
			if err == nil || key != nil {
				t.Fatalf("%v: byte %d flipped, the key unwrapped", dec.Schema(), i)
			}
			if !errors.Is(err, keyring.ErrNoMatchingKey) {
				t.Fatalf("%v: byte %d flipped: %v, want a no-match error", dec.Schema(), i, err)
			}
			checkErrText(t, err, em.PlaintextDataKey)
		}
		_, err := decrypt(dec, suite256, map[string]string{"purpose": "other"}, em.EncryptedDataKeys)
		if !errors.Is(err, keyring.ErrNoMatchingKey) || !strings.Contains(err.Error(), "commitment key differs") {
			t.Errorf("%v with another context: %v, want the commitment key to differ", dec.Schema(), err)
		}
		bad := edk
		bad.Ciphertext = edk.Ciphertext[:len(edk.Ciphertext)-1]
		if _, err := decrypt(dec, suite256, ec, []format.EncryptedDataKey{bad}); !errors.Is(err, keyring.ErrNoMatchingKey) || !strings.Contains(err.Error(), "ciphertext is 111 bytes, want 112") {
			t.Errorf("%v with a short ciphertext: %v", dec.Schema(), err)
		}
		// A data key of another suite's length does not unwrap either.
		if _, err := decrypt(dec, suite128, ec, em.EncryptedDataKeys); !errors.Is(err, keyring.ErrNoMatchingKey) {
			t.Errorf("%v as suite 0x0114: %v", dec.Schema(), err)
		}
	}
}

// TestRawECDHTriesOwnKeysOnly: with other keyrings' encrypted data keys
// ahead of its own, the keyring computes no shared secret for them and
// takes its own.
func TestRawECDHTriesOwnKeysOnly(t *testing.T) {
	p, other := newECDHParties(t, ecdh.P256()), newECDHParties(t, ecdh.P256())
	aes, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "raw-ecdh", Name: "name", WrappingKey: randBytes(32)})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, aes, suite256, nil)
	for _, kr := range []*keyring.RawECDH{other.static, other.ephemeral, p.ephemeral} {
		if err := kr.OnEncrypt(context.Background(), em); err != nil {
			t.Fatal(err)
		}
	}
	var calls int
	party := keyring.ECDHParty{
		Keyring: "test",
		Own:     p.recipient.priv.PublicKey(),
		SharedSecret: func(_ context.Context, peer *ecdh.PublicKey) ([]byte, error) {
			calls++
			return p.recipient.priv.ECDH(peer)
		},
	}
	m := &keyring.DecryptionMaterials{Suite: suite256}
	if err := keyring.UnwrapECDH(context.Background(), m, em.EncryptedDataKeys, party); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.PlaintextDataKey, em.PlaintextDataKey) {
		t.Fatal("unwrapped data key differs")
	}
	if calls != 1 {
		t.Errorf("computed %d shared secrets, want 1 (for its own key only)", calls)
	}
}

// TestECDHSecretsCleared: WrapECDH and UnwrapECDH clear the shared secrets
// they are given, whether the wrapping works or not.
func TestECDHSecretsCleared(t *testing.T) {
	p := newECDHParties(t, ecdh.P256())
	sender, recipient := p.sender.priv, p.recipient.priv.PublicKey()
	isZero := func(b []byte) bool { return len(b) > 0 && bytes.Count(b, []byte{0}) == len(b) }

	z, _ := sender.ECDH(recipient)
	m := &keyring.EncryptionMaterials{Suite: suite256}
	if err := keyring.WrapECDH(m, keyring.RawECDHProviderID, sender.PublicKey(), recipient, z); err != nil {
		t.Fatal(err)
	}
	if !isZero(z) {
		t.Error("WrapECDH left the shared secret in place")
	}
	z, _ = sender.ECDH(recipient)
	if err := keyring.WrapECDH(&keyring.EncryptionMaterials{}, keyring.RawECDHProviderID, sender.PublicKey(), recipient, z); err == nil {
		t.Fatal("WrapECDH without a suite succeeded")
	}
	if !isZero(z) {
		t.Error("WrapECDH left the shared secret in place after an error")
	}

	var given [][]byte
	party := func(ec map[string]string) error {
		return keyring.UnwrapECDH(context.Background(), &keyring.DecryptionMaterials{Suite: suite256, EncryptionContext: ec}, m.EncryptedDataKeys, keyring.ECDHParty{
			Own: sender.PublicKey(), Peer: recipient,
			SharedSecret: func(_ context.Context, peer *ecdh.PublicKey) ([]byte, error) {
				z, err := sender.ECDH(peer)
				given = append(given, z)
				return z, err
			},
		})
	}
	if err := party(nil); err != nil {
		t.Fatal(err)
	}
	if err := party(map[string]string{"other": "context"}); !errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Fatalf("with another context: %v", err)
	}
	if len(given) != 2 {
		t.Fatalf("%d shared secrets computed, want 2", len(given))
	}
	for i, z := range given {
		if !isZero(z) {
			t.Errorf("UnwrapECDH left shared secret %d in place", i)
		}
	}
}

// TestUnwrapECDHSharedSecretFails: a failing private key (a key service
// down, an HSM session lost) is a cause the caller can reach, and a
// canceled context ends the call.
func TestUnwrapECDHSharedSecretFails(t *testing.T) {
	p := newECDHParties(t, ecdh.P256())
	em := encrypt(t, p.static, suite256, nil)
	errDown := errors.New("token removed")
	party := keyring.ECDHParty{
		Keyring: "test keyring", Own: p.recipient.priv.PublicKey(),
		SharedSecret: func(context.Context, *ecdh.PublicKey) ([]byte, error) { return []byte{1, 2}, errDown },
	}
	m := &keyring.DecryptionMaterials{Suite: suite256}
	err := keyring.UnwrapECDH(context.Background(), m, em.EncryptedDataKeys, party)
	var ue *keyring.UnwrapError
	if !errors.As(err, &ue) || !errors.Is(err, errDown) || ue.Keyring != "test keyring" || errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Fatalf("got %v, want a *UnwrapError of test keyring with the cause, not a no-match", err)
	}
	party.SharedSecret = func(context.Context, *ecdh.PublicKey) ([]byte, error) { return make([]byte, 31), nil }
	err = keyring.UnwrapECDH(context.Background(), m, em.EncryptedDataKeys, party)
	if !errors.As(err, &ue) || !strings.Contains(fmt.Sprint(err), "shared secret is 31 bytes, want 32") {
		t.Errorf("a short shared secret: %v", err)
	}
	// A provider that says the key is not its own is a no-match.
	party.SharedSecret = func(context.Context, *ecdh.PublicKey) ([]byte, error) {
		return nil, fmt.Errorf("not here: %w", keyring.ErrNoMatchingKey)
	}
	if err := keyring.UnwrapECDH(context.Background(), m, em.EncryptedDataKeys, party); !errors.Is(err, keyring.ErrNoMatchingKey) || errors.As(err, &ue) {
		t.Errorf("a provider saying no-match: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.discovery.OnDecrypt(ctx, m, em.EncryptedDataKeys)
	if !errors.Is(err, context.Canceled) || errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Errorf("canceled: %v, want context.Canceled and no no-match", err)
	}
	if m.PlaintextDataKey != nil {
		t.Error("a data key was set")
	}
}

func TestRawECDHHasDataKey(t *testing.T) {
	p := newECDHParties(t, ecdh.P256())
	em := encrypt(t, p.static, suite256, nil)
	for _, kr := range []*keyring.RawECDH{p.static, p.discovery, p.ephemeral} {
		key := randBytes(32)
		m := &keyring.DecryptionMaterials{Suite: suite256, PlaintextDataKey: key}
		if err := kr.OnDecrypt(context.Background(), m, em.EncryptedDataKeys); !errors.Is(err, keyring.ErrDataKeyAlreadySet) {
			t.Errorf("%v: %v, want ErrDataKeyAlreadySet", kr.Schema(), err)
		}
		if !bytes.Equal(m.PlaintextDataKey, key) {
			t.Errorf("%v changed the data key", kr.Schema())
		}
	}
	// On encryption a data key present is wrapped, not replaced.
	key := randBytes(32)
	m := &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: key}
	if err := p.static.OnEncrypt(context.Background(), m); err != nil || !bytes.Equal(m.PlaintextDataKey, key) {
		t.Fatalf("OnEncrypt with a data key: %v", err)
	}
	if got, err := decrypt(p.discovery, suite256, nil, m.EncryptedDataKeys); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("decrypt: %v", err)
	}
	m = &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: key[:16]}
	if err := p.static.OnEncrypt(context.Background(), m); err == nil || len(m.EncryptedDataKeys) != 0 {
		t.Errorf("OnEncrypt with a 16-byte data key for suite 0x0478: %v", err)
	}
}

// TestRawECDHReadsKMSKeys: the encrypted data keys of AWS KMS ECDH keyrings
// ("aws-kms-ecdh") are read; other provider ids are not.
func TestRawECDHReadsKMSKeys(t *testing.T) {
	p := newECDHParties(t, ecdh.P521())
	for id, ok := range map[string]bool{keyring.KMSECDHProviderID: true, keyring.RawECDHProviderID: true, "aws-kms": false, "raw-ecdh ": false} {
		z, _ := p.sender.priv.ECDH(p.recipient.priv.PublicKey())
		m := &keyring.EncryptionMaterials{Suite: suite256}
		err := keyring.WrapECDH(m, id, p.sender.priv.PublicKey(), p.recipient.priv.PublicKey(), z)
		if !ok {
			if err == nil {
				t.Errorf("WrapECDH with provider id %q succeeded", id)
			}
			edk := encrypt(t, p.static, suite256, nil).EncryptedDataKeys[0]
			edk.ProviderID = id
			if _, err := decrypt(p.discovery, suite256, nil, []format.EncryptedDataKey{edk}); !errors.Is(err, keyring.ErrNoMatchingKey) {
				t.Errorf("provider id %q: %v, want a no-match", id, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, dec := range []*keyring.RawECDH{p.static, p.reverse, p.discovery} {
			if got, err := decrypt(dec, suite256, nil, m.EncryptedDataKeys); err != nil || !bytes.Equal(got, m.PlaintextDataKey) {
				t.Errorf("%s read by %v: %v", id, dec.Schema(), err)
			}
		}
	}
}

func TestWrapECDHErrors(t *testing.T) {
	p256, p384 := newECDHParties(t, ecdh.P256()), newECDHParties(t, ecdh.P384())
	s, r := p256.sender.priv, p256.recipient.priv.PublicKey()
	for name, c := range map[string]struct {
		sender, recipient *ecdh.PublicKey
		z                 []byte
		want              string
	}{
		"no recipient":      {s.PublicKey(), nil, make([]byte, 32), "recipient: no public key"},
		"no sender":         {nil, r, make([]byte, 32), "sender public key is not on the recipient's curve"},
		"curves differ":     {p384.sender.priv.PublicKey(), r, make([]byte, 32), "not on the recipient's curve P-256"},
		"short secret":      {s.PublicKey(), r, make([]byte, 31), "shared secret is 31 bytes, want 32"},
		"X25519 recipient":  {s.PublicKey(), newX25519(t), make([]byte, 32), "not supported"},
		"secret of P-384's": {s.PublicKey(), r, make([]byte, 48), "48 bytes, want 32"},
	} {
		m := &keyring.EncryptionMaterials{Suite: suite256}
		err := keyring.WrapECDH(m, keyring.RawECDHProviderID, c.sender, c.recipient, c.z)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
			continue
		}
		checkErrText(t, err)
		if len(m.EncryptedDataKeys) != 0 || m.PlaintextDataKey != nil {
			t.Errorf("%s: materials changed", name)
		}
	}
}

func newX25519(t testing.TB) *ecdh.PublicKey {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey()
}

// TestNewRawECDHErrors: every bad option is an error naming the field.
func TestNewRawECDHErrors(t *testing.T) {
	k256, k384 := newECDHKey(t, ecdh.P256()), newECDHKey(t, ecdh.P384())
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaDER := mustMarshalPKIX(&rsaKey.PublicKey)
	rsaP8, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaP8})
	sec1, _ := x509.MarshalECPrivateKey(mustECDSA(t, k256.priv))
	sec1PEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})
	p8 := func(k ecdhKey) []byte { b, _ := pem.Decode(k.pem); return b.Bytes }
	withHeader := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: p8(k256)})
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	x25519DER := mustMarshalPKIX(x.PublicKey())
	x25519P8, _ := x509.MarshalPKCS8PrivateKey(x)
	x25519PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: x25519P8})

	static := func(priv, pub []byte) keyring.RawECDHOptions {
		return keyring.RawECDHOptions{Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), SenderPrivateKey: priv, RecipientPublicKey: pub}
	}
	discovery := func(priv []byte) keyring.RawECDHOptions {
		return keyring.RawECDHOptions{Schema: keyring.PublicKeyDiscovery, Curve: ecdh.P256(), RecipientPrivateKey: priv}
	}
	ephemeral := func(pub []byte) keyring.RawECDHOptions {
		return keyring.RawECDHOptions{Schema: keyring.EphemeralPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), RecipientPublicKey: pub}
	}
	with := func(o keyring.RawECDHOptions, f func(*keyring.RawECDHOptions)) keyring.RawECDHOptions {
		f(&o)
		return o
	}
	for name, c := range map[string]struct {
		o    keyring.RawECDHOptions
		want string
	}{
		"no curve":     {keyring.RawECDHOptions{Schema: keyring.PublicKeyDiscovery, RecipientPrivateKey: k256.pem}, "RawECDHOptions.Curve is required"},
		"X25519 curve": {keyring.RawECDHOptions{Schema: keyring.PublicKeyDiscovery, Curve: ecdh.X25519(), RecipientPrivateKey: k256.pem}, "RawECDHOptions.Curve: curve X25519 is not supported"},
		"no schema":    {keyring.RawECDHOptions{Curve: ecdh.P256(), RecipientPrivateKey: k256.pem}, "RawECDHOptions.Schema is required"},
		"bad schema":   {keyring.RawECDHOptions{Schema: 9, Curve: ecdh.P256()}, "unknown schema ECDHSchema(9)"},

		"static without recipient":  {static(k256.pem, nil), "RawECDHOptions.RecipientPublicKey is required by RawPrivateKeyToStaticPublicKey"},
		"static without sender":     {static(nil, k256.der), "RawECDHOptions.SenderPrivateKey is required by RawPrivateKeyToStaticPublicKey"},
		"static with recipient key": {with(static(k256.pem, k256.der), func(o *keyring.RawECDHOptions) { o.RecipientPrivateKey = k256.pem }), "RawECDHOptions.RecipientPrivateKey is not used by RawPrivateKeyToStaticPublicKey"},
		"ephemeral with sender":     {with(ephemeral(k256.der), func(o *keyring.RawECDHOptions) { o.SenderPrivateKey = k256.pem }), "RawECDHOptions.SenderPrivateKey is not used by EphemeralPrivateKeyToStaticPublicKey"},
		"discovery with public key": {with(discovery(k256.pem), func(o *keyring.RawECDHOptions) { o.RecipientPublicKey = k256.der }), "RawECDHOptions.RecipientPublicKey is not used by PublicKeyDiscovery"},
		"discovery without key":     {discovery(nil), "RawECDHOptions.RecipientPrivateKey is required by PublicKeyDiscovery"},

		"public key on P-384":     {ephemeral(k384.der), "RecipientPublicKey: public key is on P-384, not P-256"},
		"public key X25519":       {ephemeral(x25519DER), "RecipientPublicKey: public key is on X25519, not P-256"},
		"public key RSA":          {ephemeral(rsaDER), "not an elliptic-curve key"},
		"public key PEM":          {ephemeral(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k256.der})), "public key is PEM; want the DER bytes"},
		"public key trailing":     {ephemeral(append(bytes.Clone(k256.der), 0)), "trailing data"},
		"public key empty":        {ephemeral([]byte{}), "parsing the DER SubjectPublicKeyInfo"},
		"public key identity":     {ephemeral(spki(t, []byte{0})), "RecipientPublicKey: parsing"},
		"public key off curve":    {ephemeral(spki(t, offCurve(32))), "RecipientPublicKey: parsing"},
		"public key compressed":   {ephemeral(spki(t, compress(k256.priv.PublicKey()))), "RecipientPublicKey"},
		"private key on P-384":    {discovery(k384.pem), "RecipientPrivateKey: private key is on P-384, not P-256"},
		"private key X25519":      {discovery(x25519PEM), "private key is on X25519, not P-256"},
		"private key RSA":         {static(rsaPEM, k256.der), "SenderPrivateKey: private key is a *rsa.PrivateKey"},
		"private key SEC 1":       {discovery(sec1PEM), `PEM block is "EC PRIVATE KEY"; want a PKCS #8 "PRIVATE KEY"`},
		"private key DER":         {discovery(p8(k256)), "no PEM block found"},
		"private key two blocks":  {discovery(append(bytes.Clone(k256.pem), k256.pem...)), "data after the PEM block"},
		"private key encrypted":   {discovery(withHeader), "encrypted PEM is not supported"},
		"private key bad PKCS #8": {discovery(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0}})), "parsing the PKCS #8 private key"},
	} {
		_, err := keyring.NewRawECDH(c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
			continue
		}
		checkErrText(t, err)
	}
}

func mustECDSA(t testing.TB, k *ecdh.PrivateKey) *ecdsa.PrivateKey {
	t.Helper()
	p8, _ := x509.MarshalPKCS8PrivateKey(k)
	e, err := x509.ParsePKCS8PrivateKey(p8)
	if err != nil {
		t.Fatal(err)
	}
	return e.(*ecdsa.PrivateKey)
}

// spki returns a SubjectPublicKeyInfo of an EC key on P-256 with the
// given point bytes, valid or not.
func spki(t testing.TB, point []byte) []byte {
	t.Helper()
	curve, err := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7})
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}{
		pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, Parameters: asn1.RawValue{FullBytes: curve}},
		asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// offCurve is an uncompressed point whose coordinates are all ones: not
// on any of the curves.
func offCurve(size int) []byte {
	return append([]byte{4}, bytes.Repeat([]byte{0xff}, 2*size)...)
}

func TestParseECDHPublicKey(t *testing.T) {
	for _, c := range ecdhCurves {
		k := newECDHKey(t, c.curve)
		pub, err := keyring.ParseECDHPublicKey(c.curve, k.der)
		if err != nil || !pub.Equal(k.priv.PublicKey()) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, err := keyring.ParseECDHPublicKey(ecdh.P384(), newECDHKey(t, ecdh.P256()).der); err == nil || !strings.HasPrefix(err.Error(), "esdk/keyring: public key is on P-256, not P-384") {
		t.Errorf("P-256 key as P-384: %v", err)
	}
	if _, err := keyring.ParseECDHPublicKey(nil, newECDHKey(t, ecdh.P256()).der); err == nil {
		t.Error("no curve: no error")
	}
}

// TestRawECDHPublicKey: the keyring gives the public key of its private
// key, the one to hand to the other party.
func TestRawECDHPublicKey(t *testing.T) {
	p := newECDHParties(t, ecdh.P256())
	if !p.static.PublicKey().Equal(p.sender.priv.PublicKey()) || !p.discovery.PublicKey().Equal(p.recipient.priv.PublicKey()) || p.ephemeral.PublicKey() != nil {
		t.Error("PublicKey is not the key of the keyring's private key")
	}
	o := keyring.RawECDHOptions{Schema: keyring.PublicKeyDiscovery}
	kr, err := keyring.NewRawECDH(o, func(o *keyring.RawECDHOptions) { o.Curve = ecdh.P256() }, func(o *keyring.RawECDHOptions) { o.RecipientPrivateKey = p.recipient.pem })
	if err != nil || kr.Schema() != keyring.PublicKeyDiscovery {
		t.Fatalf("options functions: %v", err)
	}
	if o.Curve != nil || o.RecipientPrivateKey != nil {
		t.Error("NewRawECDH changed the caller's options")
	}
}

func TestRawECDHConcurrent(t *testing.T) {
	p := newECDHParties(t, ecdh.P256())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, enc := range []*keyring.RawECDH{p.static, p.ephemeral} {
				m := &keyring.EncryptionMaterials{Suite: suite256, EncryptionContext: map[string]string{"k": "v"}}
				if err := enc.OnEncrypt(context.Background(), m); err != nil {
					t.Error(err)
					return
				}
				for _, dec := range []*keyring.RawECDH{p.discovery, p.static} {
					if enc == p.ephemeral && dec == p.static {
						continue
					}
					if got, err := decrypt(dec, suite256, m.EncryptionContext, m.EncryptedDataKeys); err != nil || !bytes.Equal(got, m.PlaintextDataKey) {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestRawECDHInMulti: an ECDH keyring as a child of a multi-keyring beside
// raw AES; each one alone decrypts.
func TestRawECDHInMulti(t *testing.T) {
	p := newECDHParties(t, ecdh.P384())
	aes, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", WrappingKey: randBytes(32)})
	if err != nil {
		t.Fatal(err)
	}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: aes, Children: []keyring.Keyring{p.ephemeral}})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, multi, suite256, map[string]string{"a": "b"})
	for _, kr := range []keyring.Keyring{aes, p.discovery} {
		if got, err := decrypt(kr, suite256, em.EncryptionContext, em.EncryptedDataKeys); err != nil || !bytes.Equal(got, em.PlaintextDataKey) {
			t.Errorf("%T: %v", kr, err)
		}
	}
}

func FuzzUnwrapECDH(f *testing.F) {
	p := newECDHParties(f, ecdh.P256())
	em := &keyring.EncryptionMaterials{Suite: suite256}
	if err := p.static.OnEncrypt(context.Background(), em); err != nil {
		f.Fatal(err)
	}
	edk := em.EncryptedDataKeys[0]
	f.Add(edk.ProviderInfo, edk.Ciphertext)
	f.Add(edk.ProviderInfo[:10], edk.Ciphertext[:10])
	f.Fuzz(func(t *testing.T, info, ct []byte) {
		for _, kr := range []*keyring.RawECDH{p.static, p.discovery} {
			key, err := decrypt(kr, suite256, nil, []format.EncryptedDataKey{{ProviderID: "raw-ecdh", ProviderInfo: info, Ciphertext: ct}})
			if err == nil && !bytes.Equal(key, em.PlaintextDataKey) {
				t.Fatal("unwrapped a key that is not the data key")
			}
			if err != nil && !errors.Is(err, keyring.ErrNoMatchingKey) {
				t.Fatalf("not a no-match error: %v", err)
			}
		}
	})
}

// TestRawECDHSecondKeyUnwraps: when the first of the keyring's own
// encrypted data keys fails, the next one, from another sender with
// another salt, still unwraps: nothing of the first leaks into the
// derivation of the second.
func TestRawECDHSecondKeyUnwraps(t *testing.T) {
	for _, c := range ecdhCurves {
		p := newECDHParties(t, c.curve)
		ec := map[string]string{"purpose": "test", "n": "2"}
		em := encrypt(t, p.ephemeral, suite256, ec)
		if err := p.static.OnEncrypt(context.Background(), em); err != nil {
			t.Fatal(err)
		}
		bad := em.EncryptedDataKeys[0]
		bad.Ciphertext = bytes.Clone(bad.Ciphertext)
		bad.Ciphertext[len(bad.Ciphertext)-1] ^= 1 // the tag: the commitment still holds
		edks := []format.EncryptedDataKey{bad, em.EncryptedDataKeys[1]}
		got, err := decrypt(p.discovery, suite256, ec, edks)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.Equal(got, em.PlaintextDataKey) {
			t.Fatalf("%s: unwrapped data key differs", c.name)
		}
	}
}

// TestRawECDHAllocations guards the allocations of a keyring's own work
// per data key, apart from the envelope's: an ECDH in crypto/ecdh takes
// 2, an AES-GCM key 2, the KDF's HMAC-SHA384 7, the KDF input 1; the data
// key, its ciphertext and provider info and the ephemeral key pair are
// what is left. Discovery decompresses the sender's key.
func TestRawECDHAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocations differ under coverage and the race detector")
	}
	p := newECDHParties(t, ecdh.P256())
	ec := map[string]string{"tenant": "acme", "purpose": "test"}
	ctx := context.Background()
	static := encrypt(t, p.static, suite256, ec).EncryptedDataKeys
	ephemeral := encrypt(t, p.ephemeral, suite256, ec).EncryptedDataKeys
	for _, tc := range []struct {
		name string
		max  float64
		f    func() error
	}{
		{"static/encrypt", 16, func() error {
			return p.static.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite256, EncryptionContext: ec})
		}},
		{"ephemeral/encrypt", 23, func() error {
			return p.ephemeral.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite256, EncryptionContext: ec})
		}},
		{"static/decrypt", 14, func() error {
			return p.static.OnDecrypt(ctx, &keyring.DecryptionMaterials{Suite: suite256, EncryptionContext: ec}, static)
		}},
		{"discovery/decrypt", 21, func() error {
			return p.discovery.OnDecrypt(ctx, &keyring.DecryptionMaterials{Suite: suite256, EncryptionContext: ec}, ephemeral)
		}},
	} {
		var err error
		n := testing.AllocsPerRun(50, func() {
			if e := tc.f(); e != nil {
				err = e
			}
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		t.Logf("%s: %v allocations", tc.name, n)
		if n > tc.max {
			t.Errorf("%s: %v allocations, want at most %v", tc.name, n, tc.max)
		}
	}
}
