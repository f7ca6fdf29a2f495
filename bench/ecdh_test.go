package bench

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"testing"

	mpl "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygenerated"
	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	primtypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/primitives/awscryptographyprimitivessmithygeneratedtypes"

	"github.com/go-esdk/esdk/keyring"
)

var ecdhCurves = []struct {
	name  string
	curve ecdh.Curve
	spec  primtypes.ECDHCurveSpec
}{
	{"P-256", ecdh.P256(), primtypes.ECDHCurveSpecEccNistP256},
	{"P-384", ecdh.P384(), primtypes.ECDHCurveSpecEccNistP384},
	{"P-521", ecdh.P521(), primtypes.ECDHCurveSpecEccNistP521},
}

// ecdhKey is a key pair as both SDKs take it: the private key PKCS #8
// PEM, the public key DER SubjectPublicKeyInfo.
type ecdhKey struct{ pem, der []byte }

func newECDHKey(tb testing.TB, c ecdh.Curve) ecdhKey {
	tb.Helper()
	priv, err := c.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(priv.PublicKey())
	if err != nil {
		tb.Fatal(err)
	}
	return ecdhKey{pem: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), der: der}
}

// ecdhRole is one configuration of a raw ECDH keyring, the same for both
// SDKs.
type ecdhRole struct {
	name   string
	schema keyring.ECDHSchema
	// privateKey is the sender's (static) or the recipient's (discovery);
	// publicKey is the recipient's (static, ephemeral).
	privateKey, publicKey []byte
}

// ecdhSDKs returns both SDKs over the raw ECDH keyring of role, ours
// first.
func ecdhSDKs(tb testing.TB, suite uint16, curve ecdh.Curve, spec primtypes.ECDHCurveSpec, r ecdhRole) []sdk {
	tb.Helper()
	o := keyring.RawECDHOptions{Schema: r.schema, Curve: curve}
	var scheme mpltypes.RawEcdhStaticConfigurations
	switch r.schema {
	case keyring.RawPrivateKeyToStaticPublicKey:
		o.SenderPrivateKey, o.RecipientPublicKey = r.privateKey, r.publicKey
		scheme = &mpltypes.RawEcdhStaticConfigurationsMemberRawPrivateKeyToStaticPublicKey{
			Value: mpltypes.RawPrivateKeyToStaticPublicKeyInput{SenderStaticPrivateKey: r.privateKey, RecipientPublicKey: r.publicKey},
		}
	case keyring.EphemeralPrivateKeyToStaticPublicKey:
		o.RecipientPublicKey = r.publicKey
		scheme = &mpltypes.RawEcdhStaticConfigurationsMemberEphemeralPrivateKeyToStaticPublicKey{
			Value: mpltypes.EphemeralPrivateKeyToStaticPublicKeyInput{RecipientPublicKey: r.publicKey},
		}
	case keyring.PublicKeyDiscovery:
		o.RecipientPrivateKey = r.privateKey
		scheme = &mpltypes.RawEcdhStaticConfigurationsMemberPublicKeyDiscovery{
			Value: mpltypes.PublicKeyDiscoveryInput{RecipientStaticPrivateKey: r.privateKey},
		}
	}
	kr, err := keyring.NewRawECDH(o)
	if err != nil {
		tb.Fatal(err)
	}
	ours, err := newOursWith(suite, kr)
	if err != nil {
		tb.Fatal(err)
	}
	mp, err := mpl.NewClient(mpltypes.MaterialProvidersConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	okr, err := mp.CreateRawEcdhKeyring(context.Background(), mpltypes.CreateRawEcdhKeyringInput{CurveSpec: spec, KeyAgreementScheme: scheme})
	if err != nil {
		tb.Fatalf("official raw ECDH keyring %s: %v", r.name, err)
	}
	official, err := newOfficialWith(suite, okr)
	if err != nil {
		tb.Fatal(err)
	}
	return []sdk{ours, official}
}

// TestCrossDecryptECDH encrypts with the raw ECDH keyring of each SDK and
// decrypts with the other's (and its own), for each curve, both suites and
// each pair of schemas that can talk: static to static (the sender's
// keyring, and the recipient's with the two keys the other way round),
// ephemeral to discovery, and static to discovery. Every message carries
// the three-entry encryption context, which both the KDF and the wrapping
// bind. The control: the discovery keyring of another recipient reads
// none of them, in either SDK.
func TestCrossDecryptECDH(t *testing.T) {
	ctx := context.Background()
	for _, c := range ecdhCurves {
		sender, recipient, stranger := newECDHKey(t, c.curve), newECDHKey(t, c.curve), newECDHKey(t, c.curve)
		static := ecdhRole{"static", keyring.RawPrivateKeyToStaticPublicKey, sender.pem, recipient.der}
		reverse := ecdhRole{"reverse-static", keyring.RawPrivateKeyToStaticPublicKey, recipient.pem, sender.der}
		ephemeral := ecdhRole{"ephemeral", keyring.EphemeralPrivateKeyToStaticPublicKey, nil, recipient.der}
		discovery := ecdhRole{"discovery", keyring.PublicKeyDiscovery, recipient.pem, nil}
		other := ecdhRole{"other-discovery", keyring.PublicKeyDiscovery, stranger.pem, nil}
		pairs := []struct {
			enc  ecdhRole
			decs []ecdhRole
		}{
			{static, []ecdhRole{static, reverse, discovery}},
			{reverse, []ecdhRole{static}},
			{ephemeral, []ecdhRole{discovery}},
		}
		for _, suite := range suites {
			for _, p := range pairs {
				encs := ecdhSDKs(t, suite, c.curve, c.spec, p.enc)
				for _, enc := range encs {
					for _, n := range []int{0, frameLength + 1} {
						pt := plaintext(n)
						ct, err := enc.encrypt(ctx, pt)
						if err != nil {
							t.Fatalf("%s %04X: %s %s encrypt: %v", c.name, suite, enc.name(), p.enc.name, err)
						}
						for _, d := range p.decs {
							for _, dec := range ecdhSDKs(t, suite, c.curve, c.spec, d) {
								name := fmt.Sprintf("%s/%04X/%s-%s-to-%s-%s/%d", c.name, suite, enc.name(), p.enc.name, dec.name(), d.name, n)
								t.Run(name, func(t *testing.T) {
									got, ec, err := dec.decrypt(ctx, ct)
									if err != nil {
										t.Fatalf("decrypt: %v", err)
									}
									if !bytes.Equal(got, pt) {
										t.Fatalf("decrypted %d bytes, not the %d encrypted", len(got), len(pt))
									}
									if !contextIncludes(ec, encryptionContext) {
										t.Fatalf("decrypted context %v, want it to include %v", ec, encryptionContext)
									}
								})
							}
						}
						for _, dec := range ecdhSDKs(t, suite, c.curve, c.spec, other) {
							if _, _, err := dec.decrypt(ctx, ct); err == nil {
								t.Errorf("%s %04X: %s's discovery keyring of another recipient decrypted %s's %s message", c.name, suite, dec.name(), enc.name(), p.enc.name)
							}
						}
					}
				}
			}
		}
	}
}
