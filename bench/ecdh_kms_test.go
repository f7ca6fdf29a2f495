package bench

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	mpl "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygenerated"
	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

// TestCrossDecryptKMSECDH checks the AWS KMS ECDH keyrings of both SDKs
// against each other over kmstest, whose *kms.Client the official SDK's
// keyring takes as it takes any: for each curve and suite, messages of
// KMSPrivateKeyToStaticPublicKey (the sender's key in KMS, to the
// recipient's KMS key) are read by the other SDK's keyring of the same
// schema and by its KMSPublicKeyDiscovery keyring of the recipient's key,
// and the raw ECDH keyrings' ephemeral messages to the recipient's KMS key
// are read by the other SDK's discovery keyring. Every KMS call of both
// SDKs goes to the in-process endpoint.
func TestCrossDecryptKMSECDH(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.Client("us-west-2", "111122223333")
	mp, err := mpl.NewClient(mpltypes.MaterialProvidersConfig{})
	if err != nil {
		t.Fatal(err)
	}
	agreementKey := func(spec types.KeySpec) (string, []byte) {
		t.Helper()
		out, err := client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeKeyAgreement})
		if err != nil {
			t.Fatal(err)
		}
		pub, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: out.KeyMetadata.Arn})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.KeyMetadata.Arn), pub.PublicKey
	}
	for _, c := range ecdhCurves {
		spec := types.KeySpec(c.spec) // the MPL's curve names are KMS's key specs
		sender, senderPub := agreementKey(spec)
		recipient, recipientPub := agreementKey(spec)

		oursStatic, err := kmsprovider.NewECDHKeyring(kmsprovider.ECDHKeyringOptions{Client: client, Schema: kmsprovider.KMSPrivateKeyToStaticPublicKey, Curve: c.curve, KeyID: sender, SenderPublicKey: senderPub, RecipientPublicKey: recipientPub})
		if err != nil {
			t.Fatal(err)
		}
		oursDiscovery, err := kmsprovider.NewECDHKeyring(kmsprovider.ECDHKeyringOptions{Client: client, Schema: kmsprovider.KMSPublicKeyDiscovery, Curve: c.curve, KeyID: recipient, RecipientPublicKey: recipientPub})
		if err != nil {
			t.Fatal(err)
		}
		oursEphemeral, err := keyring.NewRawECDH(keyring.RawECDHOptions{Schema: keyring.EphemeralPrivateKeyToStaticPublicKey, Curve: c.curve, RecipientPublicKey: recipientPub})
		if err != nil {
			t.Fatal(err)
		}
		officialStatic, err := mp.CreateAwsKmsEcdhKeyring(ctx, mpltypes.CreateAwsKmsEcdhKeyringInput{
			CurveSpec: c.spec, KmsClient: client,
			KeyAgreementScheme: &mpltypes.KmsEcdhStaticConfigurationsMemberKmsPrivateKeyToStaticPublicKey{
				Value: mpltypes.KmsPrivateKeyToStaticPublicKeyInput{SenderKmsIdentifier: sender, RecipientPublicKey: recipientPub},
			},
		})
		if err != nil {
			t.Fatalf("official KMS ECDH static keyring: %v", err)
		}
		officialDiscovery, err := mp.CreateAwsKmsEcdhKeyring(ctx, mpltypes.CreateAwsKmsEcdhKeyringInput{
			CurveSpec: c.spec, KmsClient: client,
			KeyAgreementScheme: &mpltypes.KmsEcdhStaticConfigurationsMemberKmsPublicKeyDiscovery{
				Value: mpltypes.KmsPublicKeyDiscoveryInput{RecipientKmsIdentifier: recipient},
			},
		})
		if err != nil {
			t.Fatalf("official KMS ECDH discovery keyring: %v", err)
		}
		officialEphemeral, err := mp.CreateRawEcdhKeyring(ctx, mpltypes.CreateRawEcdhKeyringInput{
			CurveSpec: c.spec,
			KeyAgreementScheme: &mpltypes.RawEcdhStaticConfigurationsMemberEphemeralPrivateKeyToStaticPublicKey{
				Value: mpltypes.EphemeralPrivateKeyToStaticPublicKeyInput{RecipientPublicKey: recipientPub},
			},
		})
		if err != nil {
			t.Fatal(err)
		}

		for _, suite := range suites {
			ours := func(kr keyring.Keyring) sdk {
				s, err := newOursWith(suite, kr)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			official := func(kr mpltypes.IKeyring) sdk {
				s, err := newOfficialWith(suite, kr)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			for _, p := range []struct {
				name string
				enc  sdk
				decs map[string]sdk
			}{
				{"ours-kms-static", ours(oursStatic), map[string]sdk{"official-kms-static": official(officialStatic), "official-kms-discovery": official(officialDiscovery)}},
				{"official-kms-static", official(officialStatic), map[string]sdk{"ours-kms-static": ours(oursStatic), "ours-kms-discovery": ours(oursDiscovery)}},
				{"ours-raw-ephemeral", ours(oursEphemeral), map[string]sdk{"official-kms-discovery": official(officialDiscovery)}},
				{"official-raw-ephemeral", official(officialEphemeral), map[string]sdk{"ours-kms-discovery": ours(oursDiscovery)}},
			} {
				pt := plaintext(frameLength + 1)
				ct, err := p.enc.encrypt(ctx, pt)
				if err != nil {
					t.Fatalf("%s %04X: %s encrypt: %v", c.name, suite, p.name, err)
				}
				for name, dec := range p.decs {
					t.Run(fmt.Sprintf("%s/%04X/%s-to-%s", c.name, suite, p.name, name), func(t *testing.T) {
						got, ec, err := dec.decrypt(ctx, ct)
						if err != nil {
							t.Fatalf("decrypt: %v", err)
						}
						if !bytes.Equal(got, pt) || !contextIncludes(ec, encryptionContext) {
							t.Fatal("decrypted another plaintext or context")
						}
					})
				}
			}
		}
	}
	if n := srv.Count("DeriveSharedSecret"); n == 0 {
		t.Fatal("no DeriveSharedSecret call reached kmstest")
	}
}
