package kmsprovider

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/kmsarn"
	"github.com/go-esdk/esdk/keyring"
)

// RSAProviderID is the provider id of the encrypted data keys that the
// AWS KMS RSA keyring writes and reads.
const RSAProviderID = "aws-kms-rsa"

// rsaDigestLength is the length of the SHA-384 digest of the encryption
// context that the RSA keyring encrypts together with the data key.
const rsaDigestLength = sha512.Size384

// RSAKeyring is the AWS KMS RSA keyring, for an asymmetric KMS key with
// key usage ENCRYPT_DECRYPT. It encrypts locally with the key's public key,
// so encrypting needs no AWS access at all, and decrypts by calling KMS
// Decrypt with the key and its encryption algorithm. What RSA encrypts is
// the SHA-384 digest of the encryption context followed by the data key;
// decryption checks the digest, which binds the context to the data key
// (asymmetric KMS keys take no encryption context of their own).
//
// It works with unsigned algorithm suites only, such as 0x0478
// (format.AES256GCMHKDFSHA512CommitKey); a suite with an asymmetric
// signature, such as envelope's default 0x0578, fails both ways with an
// error matching [ErrSignedSuite]. Choose the suite with
// envelope.Options.Suite.
type RSAKeyring struct {
	client      DecryptAPI // nil for an encrypt-only keyring
	id          identifier
	alg         types.EncryptionAlgorithmSpec
	newHash     func() hash.Hash
	pub         *rsa.PublicKey // nil for a decrypt-only keyring
	grantTokens []string
	desc        string
}

var _ keyring.Keyring = (*RSAKeyring)(nil)

// RSAKeyringOptions configure an AWS KMS RSA keyring (see
// [NewRSAKeyring]).
type RSAKeyringOptions struct {
	// Client calls KMS Decrypt; nil makes a keyring that cannot decrypt.
	Client DecryptAPI
	// KeyID is the key ARN of the asymmetric KMS key,
	// arn:aws:kms:REGION:ACCOUNT:key/KEY_ID. Required. Every encrypted
	// data key names its key by it, and decryption matches it against a
	// key ARN, so a bare key id or an alias (which may also change under
	// the public key) is refused.
	KeyID string
	// EncryptionAlgorithm is types.EncryptionAlgorithmSpecRsaesOaepSha1
	// or types.EncryptionAlgorithmSpecRsaesOaepSha256. Required.
	EncryptionAlgorithm types.EncryptionAlgorithmSpec
	// PublicKeyPEM is the key's public key as a PEM "PUBLIC KEY" block of
	// at least 2048 bits (see [FetchPublicKey]); nil makes a keyring that
	// cannot encrypt.
	PublicKeyPEM []byte
	// GrantTokens are sent with every KMS call the keyring makes; nil
	// sends none. The keyring keeps its own copy.
	GrantTokens []string
}

// NewRSAKeyring returns the AWS KMS RSA keyring for o.KeyID. It copies o
// and applies optFns to the copy in order. KeyID (a key ARN),
// EncryptionAlgorithm and at least one of Client and PublicKeyPEM are
// required.
func NewRSAKeyring(o RSAKeyringOptions, optFns ...func(*RSAKeyringOptions)) (*RSAKeyring, error) {
	for _, f := range optFns {
		f(&o)
	}
	keyID, alg, client := o.KeyID, o.EncryptionAlgorithm, o.Client
	id, err := parseIdentifier(keyID)
	if err != nil {
		return nil, fmt.Errorf("esdk/kmsprovider: RSAKeyringOptions.KeyID: %w", err)
	}
	if !id.isKeyARN() {
		// Written as the provider info of every encrypted data key, any
		// other identifier makes messages that no keyring can decrypt.
		return nil, fmt.Errorf("esdk/kmsprovider: RSAKeyringOptions.KeyID must be the key ARN of the AWS KMS RSA key (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID), not %s (%q): messages name their key by it, and decryption needs the key ARN (aws kms describe-key --key-id %s shows it)", id.kind(), keyID, keyID)
	}
	var newHash func() hash.Hash
	switch alg {
	case types.EncryptionAlgorithmSpecRsaesOaepSha1:
		newHash = sha1.New
	case types.EncryptionAlgorithmSpecRsaesOaepSha256:
		newHash = sha256.New
	case "":
		return nil, fmt.Errorf("esdk/kmsprovider: RSAKeyringOptions.EncryptionAlgorithm is required (%s or %s)", types.EncryptionAlgorithmSpecRsaesOaepSha1, types.EncryptionAlgorithmSpecRsaesOaepSha256)
	default:
		return nil, fmt.Errorf("esdk/kmsprovider: the AWS KMS RSA keyring supports %s and %s, not %q (RSAKeyringOptions.EncryptionAlgorithm)", types.EncryptionAlgorithmSpecRsaesOaepSha1, types.EncryptionAlgorithmSpecRsaesOaepSha256, alg)
	}
	var pub *rsa.PublicKey
	if o.PublicKeyPEM != nil {
		if pub, err = parseRSAPublicKey(o.PublicKeyPEM); err != nil {
			return nil, err
		}
	}
	if isNil(client) {
		client = nil
	}
	if client == nil && pub == nil {
		return nil, errors.New("esdk/kmsprovider: the AWS KMS RSA keyring needs RSAKeyringOptions.PublicKeyPEM, RSAKeyringOptions.Client or both")
	}
	return &RSAKeyring{
		client: client, id: id, alg: alg, newHash: newHash, pub: pub,
		grantTokens: copyTokens(o.GrantTokens), desc: "AWS KMS RSA keyring " + keyID,
	}, nil
}

func parseRSAPublicKey(b []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("esdk/kmsprovider: the RSA public key is not a PEM \"PUBLIC KEY\" block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("esdk/kmsprovider: the RSA public key: %w", err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("esdk/kmsprovider: the public key is a %T, not an RSA key", k)
	}
	if n := pub.N.BitLen(); n < 2048 {
		return nil, fmt.Errorf("esdk/kmsprovider: the RSA public key has %d bits, at least 2048 are needed", n)
	}
	return pub, nil
}

// FetchPublicKeyOptions are the options of one FetchPublicKey call.
type FetchPublicKeyOptions struct {
	// GrantTokens are sent with the GetPublicKey call; nil sends none.
	GrantTokens []string
}

// FetchPublicKey asks KMS for the public key of an asymmetric RSA key with
// key usage ENCRYPT_DECRYPT and returns it as PEM, for
// RSAKeyringOptions.PublicKeyPEM. It is one KMS call: keep the result
// rather than calling it for every keyring. optFns set the call's
// [FetchPublicKeyOptions].
func FetchPublicKey(ctx context.Context, client GetPublicKeyAPI, keyID string, optFns ...func(*FetchPublicKeyOptions)) ([]byte, error) {
	out, err := getPublicKey(ctx, client, keyID, types.KeyUsageTypeEncryptDecrypt, optFns)
	if err != nil {
		return nil, err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: out.PublicKey})
	if _, err := parseRSAPublicKey(b); err != nil {
		return nil, fmt.Errorf("%w (KMS key %s, key spec %s)", err, keyID, out.KeySpec)
	}
	return b, nil
}

// getPublicKey calls GetPublicKey for keyID and checks that the key has
// the usage the caller needs.
func getPublicKey(ctx context.Context, client GetPublicKeyAPI, keyID string, usage types.KeyUsageType, optFns []func(*FetchPublicKeyOptions)) (*kms.GetPublicKeyOutput, error) {
	var o FetchPublicKeyOptions
	for _, f := range optFns {
		f(&o)
	}
	out, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID), GrantTokens: copyTokens(o.GrantTokens)})
	if err != nil {
		return nil, callError(ctx, "public key of "+keyID, "GetPublicKey", err)
	}
	if out.KeyUsage != usage {
		return nil, fmt.Errorf("esdk/kmsprovider: KMS key %s has key usage %s, not %s", keyID, out.KeyUsage, usage)
	}
	return out, nil
}

// KeyID returns the key identifier the keyring was configured with.
func (k *RSAKeyring) KeyID() string { return k.id.raw }

// String describes the keyring.
func (k *RSAKeyring) String() string { return k.desc }

// contextDigest is the SHA-384 digest of the serialized encryption context.
func contextDigest(ec map[string]string) ([]byte, error) {
	b, err := format.MarshalEncryptionContext(ec)
	if err != nil {
		return nil, err
	}
	d := sha512.Sum384(b)
	return d[:], nil
}

// OnEncrypt generates the data key if m has none, then appends an
// encrypted data key: RSA-OAEP of the context digest and the data key
// under the public key. It calls no KMS API. A suite with an asymmetric
// signature is refused with an error matching [ErrSignedSuite]. On error
// m is unchanged.
func (k *RSAKeyring) OnEncrypt(_ context.Context, m *keyring.EncryptionMaterials) error {
	if k.pub == nil {
		return fmt.Errorf("%w: %s has no public key and cannot encrypt", keyring.ErrDecryptOnly, k.desc)
	}
	if m.Suite == nil {
		return fmt.Errorf("esdk/kmsprovider: %s: the encryption materials have no algorithm suite", k.desc)
	}
	if m.Suite.Signed() {
		return fmt.Errorf("%w: suite %s signs, and a signature says nothing when the wrapping key is public; encrypt with an unsigned suite such as 0x0478 (envelope.Options.Suite = format.AES256GCMHKDFSHA512CommitKey)", ErrSignedSuite, m.Suite.ID())
	}
	key := m.PlaintextDataKey
	if key == nil {
		key = make([]byte, m.Suite.KeyLength())
		if _, err := rand.Read(key); err != nil {
			return fmt.Errorf("esdk/kmsprovider: %s: generating a data key: %w", k.desc, err)
		}
	} else if err := keyring.CheckDataKey(m.Suite, key); err != nil {
		return err
	}
	digest, err := contextDigest(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf("esdk/kmsprovider: %s: %w", k.desc, err)
	}
	pt := append(digest, key...)
	ct, err := rsa.EncryptOAEP(k.newHash(), rand.Reader, k.pub, pt, nil)
	clear(pt)
	if err != nil {
		return fmt.Errorf("esdk/kmsprovider: %s: %w", k.desc, err)
	}
	m.PlaintextDataKey = key
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, format.EncryptedDataKey{
		ProviderID:   RSAProviderID,
		ProviderInfo: []byte(k.id.raw),
		Ciphertext:   ct,
	})
	return nil
}

// OnDecrypt tries, one at a time, the message's AWS KMS RSA encrypted data
// keys of the keyring's key (or, for a multi-Region key, of a replica),
// calling KMS Decrypt with the keyring's key and algorithm, and sets m's
// data key from the first whose context digest matches m's context. A
// message whose suite has an asymmetric signature is refused, before any
// KMS call, with an error matching [ErrSignedSuite].
func (k *RSAKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if err := checkDecryptionMaterials(m, k.desc); err != nil {
		return err
	}
	if isNil(k.client) {
		return fmt.Errorf("%w: %s has no KMS client", keyring.ErrEncryptOnly, k.desc)
	}
	if m.Suite.Signed() {
		return fmt.Errorf("%w: the message's suite %s signs; the AWS Encryption SDKs decrypt no such message with this keyring (it is written with an unsigned suite)", ErrSignedSuite, m.Suite.ID())
	}
	cands, stored, err := filterKMS(edks, RSAProviderID, k.desc)
	if err != nil {
		return err
	}
	digest, err := contextDigest(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf("esdk/kmsprovider: %s: %w", k.desc, err)
	}
	pick := func(a kmsarn.ARN) (string, string) {
		if !mrkMatch(k.id, a) {
			return "", ""
		}
		return a.String(), ""
	}
	return tryKeys(ctx, k.desc, cands, stored, pick, func(i int, _ string) error {
		key, err := k.decrypt(ctx, edks[i].Ciphertext, digest, m.Suite)
		if err == nil {
			m.PlaintextDataKey = key
		}
		return err
	})
}

func (k *RSAKeyring) decrypt(ctx context.Context, ciphertext, digest []byte, suite *format.Suite) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("esdk/kmsprovider: %s: %w", k.desc, err)
	}
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:               aws.String(k.id.raw),
		CiphertextBlob:      ciphertext,
		EncryptionAlgorithm: k.alg,
		GrantTokens:         k.grantTokens,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, contextDone(ctx, k.desc+": Decrypt", err)
		}
		return nil, err
	}
	pt := out.Plaintext
	if got := aws.ToString(out.KeyId); got != k.id.raw {
		clear(pt)
		return nil, fmt.Errorf("KMS Decrypt answered for key %q, not the %q asked for", got, k.id.raw)
	}
	if want := rsaDigestLength + suite.KeyLength(); len(pt) != want {
		clear(pt)
		return nil, fmt.Errorf("KMS Decrypt returned %d bytes, want %d (context digest and a data key for suite %s)", len(pt), want, suite.ID())
	}
	if subtle.ConstantTimeCompare(pt[:rsaDigestLength], digest) != 1 {
		clear(pt)
		return nil, errors.New("the encryption context digest does not match: the message's encryption context is not the one the data key was encrypted with")
	}
	return pt[rsaDigestLength:], nil
}
