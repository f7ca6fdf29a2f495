package kmsprovider

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/kmsarn"
	"github.com/go-esdk/esdk/keyring"
)

// DeriveSharedSecretAPI is the KMS DeriveSharedSecret operation, which the
// AWS KMS ECDH keyring calls.
type DeriveSharedSecretAPI interface {
	DeriveSharedSecret(ctx context.Context, params *kms.DeriveSharedSecretInput, optFns ...func(*kms.Options)) (*kms.DeriveSharedSecretOutput, error)
}

var _ DeriveSharedSecretAPI = (*kms.Client)(nil)

// ECDHSchema is the key agreement schema of an AWS KMS ECDH keyring: whose
// private key the KMS key is. The zero value is not a schema.
type ECDHSchema int

const (
	// KMSPrivateKeyToStaticPublicKey (the specification's
	// KmsPrivateKeyToStaticPublicKey): the KMS key is the sender's, and
	// the recipient's public key is given. The keyring encrypts to the
	// recipient and decrypts the messages exchanged between the two keys
	// in either direction.
	KMSPrivateKeyToStaticPublicKey ECDHSchema = iota + 1
	// KMSPublicKeyDiscovery (KmsPublicKeyDiscovery): the KMS key is the
	// recipient's. The keyring decrypts every message wrapped for its
	// public key, from any sender, and cannot encrypt.
	KMSPublicKeyDiscovery
)

func (s ECDHSchema) String() string {
	switch s {
	case KMSPrivateKeyToStaticPublicKey:
		return "KMSPrivateKeyToStaticPublicKey"
	case KMSPublicKeyDiscovery:
		return "KMSPublicKeyDiscovery"
	}
	return fmt.Sprintf("ECDHSchema(%d)", int(s))
}

// ECDHKeyringOptions configure an AWS KMS ECDH keyring (see
// [NewECDHKeyring]). Client, Schema, Curve and KeyID are required, and the
// public keys the schema lists; a public key the schema does not use is an
// error.
type ECDHKeyringOptions struct {
	// Client calls KMS DeriveSharedSecret in the key's region. Required.
	Client DeriveSharedSecretAPI
	// Schema is the key agreement schema. Required.
	Schema ECDHSchema
	// Curve is ecdh.P256(), ecdh.P384() or ecdh.P521(): the curve of the
	// KMS key (key spec ECC_NIST_P256, ECC_NIST_P384 or ECC_NIST_P521)
	// and of every public key. Required.
	Curve ecdh.Curve
	// KeyID names the KMS key, of key usage KEY_AGREEMENT, that holds the
	// private key: the sender's (KMSPrivateKeyToStaticPublicKey) or the
	// recipient's (KMSPublicKeyDiscovery). A key ARN or a key id, not an
	// alias: the key must not change under its public key. Required.
	KeyID string
	// SenderPublicKey is the public key of KeyID, DER-encoded X.509
	// SubjectPublicKeyInfo, as [FetchECDHPublicKey] returns it:
	// KMSPrivateKeyToStaticPublicKey only.
	SenderPublicKey []byte
	// RecipientPublicKey is the recipient's public key, DER-encoded:
	// for KMSPrivateKeyToStaticPublicKey the other party's (a raw key
	// pair's, or another KMS key's); for KMSPublicKeyDiscovery the public
	// key of KeyID, as [FetchECDHPublicKey] returns it.
	RecipientPublicKey []byte
	// GrantTokens are sent with every KMS call the keyring makes; nil
	// sends none. The keyring keeps its own copy.
	GrantTokens []string
}

// ECDHKeyring is the AWS KMS ECDH keyring: the raw ECDH keyring's wire
// format (keyring.WrapECDH and keyring.UnwrapECDH) over a private key that
// stays in AWS KMS, whose shared secrets KMS DeriveSharedSecret computes.
// Its encrypted data keys have the provider id "aws-kms-ecdh"
// (keyring.KMSECDHProviderID); a raw ECDH keyring with the matching keys
// reads them, and it reads theirs. It makes one KMS call per data key it
// wraps, and one per encrypted data key of its own public keys that it
// tries; the encrypted data keys of other public keys cost no KMS call.
type ECDHKeyring struct {
	client      DeriveSharedSecretAPI
	schema      ECDHSchema
	id          identifier
	own         *ecdh.PublicKey // KeyID's
	peer        *ecdh.PublicKey // the recipient's (static); nil for discovery
	peerDER     []byte
	grantTokens []string
	desc        string
}

var _ keyring.Keyring = (*ECDHKeyring)(nil)

// NewECDHKeyring returns the AWS KMS ECDH keyring for o.KeyID. It copies o
// and applies optFns to the copy in order, then checks it: the public keys
// must be on Curve and not the identity. It makes no KMS call: the KMS
// key's public key comes from [FetchECDHPublicKey], once.
func NewECDHKeyring(o ECDHKeyringOptions, optFns ...func(*ECDHKeyringOptions)) (*ECDHKeyring, error) {
	for _, f := range optFns {
		f(&o)
	}
	if isNil(o.Client) {
		return nil, errors.New("esdk/kmsprovider: ECDHKeyringOptions.Client is required (a KMS client of the key's region)")
	}
	if o.Curve == nil {
		return nil, errors.New("esdk/kmsprovider: ECDHKeyringOptions.Curve is required (ecdh.P256(), ecdh.P384() or ecdh.P521())")
	}
	if _, err := ecdhKeySpec(o.Curve); err != nil {
		return nil, fmt.Errorf("esdk/kmsprovider: ECDHKeyringOptions.Curve: %w", err)
	}
	id, err := parseIdentifier(o.KeyID)
	if err != nil {
		return nil, fmt.Errorf("esdk/kmsprovider: ECDHKeyringOptions.KeyID: %w", err)
	}
	if (id.isARN && id.arn.ResourceType != "key") || (!id.isARN && id.raw != id.resourceID()) {
		return nil, fmt.Errorf("esdk/kmsprovider: the AWS KMS ECDH keyring needs a key ARN or key id in ECDHKeyringOptions.KeyID, not %s (%q): the key must not change under its public key", id.kind(), o.KeyID)
	}
	k := &ECDHKeyring{
		client: o.Client, schema: o.Schema, id: id, grantTokens: copyTokens(o.GrantTokens),
		desc: fmt.Sprintf("AWS KMS ECDH keyring %s", o.KeyID),
	}
	parse := func(field string, der []byte) (*ecdh.PublicKey, error) {
		if der == nil {
			return nil, fmt.Errorf("esdk/kmsprovider: ECDHKeyringOptions.%s is required by %v", field, o.Schema)
		}
		pub, err := keyring.ParseECDHPublicKey(o.Curve, der)
		if err != nil {
			return nil, fmt.Errorf("esdk/kmsprovider: ECDHKeyringOptions.%s: %w", field, err)
		}
		return pub, nil
	}
	switch o.Schema {
	case KMSPrivateKeyToStaticPublicKey:
		if k.own, err = parse("SenderPublicKey", o.SenderPublicKey); err != nil {
			return nil, err
		}
		if k.peer, err = parse("RecipientPublicKey", o.RecipientPublicKey); err != nil {
			return nil, err
		}
		k.peerDER = bytes.Clone(o.RecipientPublicKey)
	case KMSPublicKeyDiscovery:
		if o.SenderPublicKey != nil {
			return nil, fmt.Errorf("esdk/kmsprovider: ECDHKeyringOptions.SenderPublicKey is not used by %v (any sender's key is read from the message); leave it unset", o.Schema)
		}
		if k.own, err = parse("RecipientPublicKey", o.RecipientPublicKey); err != nil {
			return nil, err
		}
	case 0:
		return nil, fmt.Errorf("esdk/kmsprovider: ECDHKeyringOptions.Schema is required (%v or %v)", KMSPrivateKeyToStaticPublicKey, KMSPublicKeyDiscovery)
	default:
		return nil, fmt.Errorf("esdk/kmsprovider: ECDHKeyringOptions.Schema: unknown schema %v", o.Schema)
	}
	return k, nil
}

// ecdhKeySpec is the KMS key spec of a curve.
func ecdhKeySpec(c ecdh.Curve) (types.KeySpec, error) {
	switch c {
	case ecdh.P256():
		return types.KeySpecEccNistP256, nil
	case ecdh.P384():
		return types.KeySpecEccNistP384, nil
	case ecdh.P521():
		return types.KeySpecEccNistP521, nil
	}
	return "", fmt.Errorf("curve %v is not supported: want ecdh.P256(), ecdh.P384() or ecdh.P521()", c)
}

// FetchECDHPublicKey asks KMS for the public key of keyID, a KMS key of
// key usage KEY_AGREEMENT on curve, and returns it DER-encoded, for
// ECDHKeyringOptions.SenderPublicKey or RecipientPublicKey (and for the
// other party, who encrypts to it). It fails when the key's usage or key
// spec is not that. It is one KMS call: keep the result rather than
// calling it for every keyring. optFns set the call's
// [FetchPublicKeyOptions].
func FetchECDHPublicKey(ctx context.Context, client GetPublicKeyAPI, keyID string, curve ecdh.Curve, optFns ...func(*FetchPublicKeyOptions)) ([]byte, error) {
	spec, err := ecdhKeySpec(curve)
	if err != nil {
		return nil, fmt.Errorf("esdk/kmsprovider: %w", err)
	}
	out, err := getPublicKey(ctx, client, keyID, types.KeyUsageTypeKeyAgreement, optFns)
	if err != nil {
		return nil, err
	}
	if out.KeySpec != spec {
		return nil, fmt.Errorf("esdk/kmsprovider: KMS key %s has key spec %s, not %s (the curve %v)", keyID, out.KeySpec, spec, curve)
	}
	if _, err := keyring.ParseECDHPublicKey(curve, out.PublicKey); err != nil {
		return nil, fmt.Errorf("esdk/kmsprovider: the public key of KMS key %s: %w", keyID, err)
	}
	return bytes.Clone(out.PublicKey), nil
}

// KeyID returns the key identifier the keyring was configured with.
func (k *ECDHKeyring) KeyID() string { return k.id.raw }

// Schema returns the keyring's key agreement schema.
func (k *ECDHKeyring) Schema() ECDHSchema { return k.schema }

// String describes the keyring.
func (k *ECDHKeyring) String() string { return k.desc }

// OnEncrypt generates the data key if m has none, computes the shared
// secret of the KMS key and the recipient's public key with KMS
// DeriveSharedSecret, and appends an encrypted data key that wraps the
// data key under a key derived from it. A KMSPublicKeyDiscovery keyring
// returns an error matching keyring.ErrDecryptOnly. On error m is
// unchanged.
func (k *ECDHKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	if k.schema == KMSPublicKeyDiscovery {
		return fmt.Errorf("%w: %s holds the recipient's private key and no recipient to encrypt to", keyring.ErrDecryptOnly, k.desc)
	}
	if m.Suite == nil {
		return fmt.Errorf("esdk/kmsprovider: %s: the encryption materials have no algorithm suite", k.desc)
	}
	if m.PlaintextDataKey != nil {
		if err := keyring.CheckDataKey(m.Suite, m.PlaintextDataKey); err != nil {
			return err
		}
	}
	z, err := k.sharedSecret(ctx, k.peer)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("esdk/kmsprovider: %s: %w", k.desc, err)
	}
	return keyring.WrapECDH(m, keyring.KMSECDHProviderID, k.own, k.peer, z)
}

// OnDecrypt sets m.PlaintextDataKey from the first encrypted data key,
// of an ECDH keyring of any kind, exchanged between this keyring's public
// keys (KMSPrivateKeyToStaticPublicKey: its sender and recipient keys,
// either way round; KMSPublicKeyDiscovery: its recipient key, from any
// sender), calling KMS DeriveSharedSecret for each one it tries. When a
// DeriveSharedSecret call fails (throttling past the client's retries, a
// disabled key, denied access, an answer for another key) the error is a
// *keyring.UnwrapError, not a no-match.
func (k *ECDHKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if err := checkDecryptionMaterials(m, k.desc); err != nil {
		return err
	}
	p := keyring.ECDHParty{Keyring: k.desc, Own: k.own, SharedSecret: k.sharedSecret}
	if k.schema == KMSPrivateKeyToStaticPublicKey {
		p.Peer = k.peer
	}
	return keyring.UnwrapECDH(ctx, m, edks, p)
}

// sharedSecret calls KMS DeriveSharedSecret with the keyring's key and
// peer, and checks the answer: the keyring's key, the ECDH algorithm.
func (k *ECDHKeyring) sharedSecret(ctx context.Context, peer *ecdh.PublicKey) ([]byte, error) {
	der := k.peerDER
	if peer != k.peer {
		var err error
		if der, err = x509.MarshalPKIXPublicKey(peer); err != nil {
			return nil, fmt.Errorf("encoding the peer public key: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("esdk/kmsprovider: %s: %w", k.desc, err)
	}
	out, err := k.client.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{
		KeyId:                 aws.String(k.id.raw),
		KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh,
		PublicKey:             der,
		GrantTokens:           k.grantTokens,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, contextDone(ctx, k.desc+": DeriveSharedSecret", err)
		}
		return nil, fmt.Errorf("DeriveSharedSecret: %w", err)
	}
	if got := aws.ToString(out.KeyId); !k.isKey(got) {
		clear(out.SharedSecret)
		return nil, fmt.Errorf("KMS DeriveSharedSecret answered for key %q, not the %q asked for", got, k.id.raw)
	}
	if out.KeyAgreementAlgorithm != types.KeyAgreementAlgorithmSpecEcdh {
		clear(out.SharedSecret)
		return nil, fmt.Errorf("KMS DeriveSharedSecret answered with key agreement algorithm %q, not %s", out.KeyAgreementAlgorithm, types.KeyAgreementAlgorithmSpecEcdh)
	}
	return out.SharedSecret, nil
}

// isKey reports whether got, the key ARN KMS answered with, names the
// keyring's key.
func (k *ECDHKeyring) isKey(got string) bool {
	if k.id.isARN {
		return got == k.id.raw
	}
	a, err := kmsarn.ParseKey(got)
	return err == nil && a.ResourceID == k.id.raw
}
