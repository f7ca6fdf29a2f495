package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	mpl "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygenerated"
	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	esdk "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygenerated"
	esdktypes "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygeneratedtypes"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// Both SDKs use the same raw AES-256 wrapping key under the same namespace
// and name, so that each one's messages carry an encrypted data key the
// other's keyring unwraps.
const (
	keyNamespace = "bench-namespace"
	keyName      = "bench-key"
	frameLength  = 4096
)

// wrappingKey is a fixed AES-256 key: benchmarks need no secret.
var wrappingKey = []byte("0123456789abcdef0123456789abcdef")

// encryptionContext is the context of every message, three entries like
// the benchmarks of the main module.
var encryptionContext = map[string]string{
	"tenant":  "acme",
	"purpose": "benchmark",
	"object":  "s3://bucket/key",
}

// suites are the two suites measured: committing unsigned (0x0478) and
// committing ECDSA P-384 signed (0x0578, the default of both SDKs).
var suites = []uint16{0x0478, 0x0578}

// sdk is what the benchmarks need of an SDK: one-shot encryption and
// decryption of a byte slice under the shared key and context.
type sdk interface {
	name() string
	encrypt(ctx context.Context, pt []byte) ([]byte, error)
	// decrypt returns the plaintext and the encryption context the message
	// carried.
	decrypt(ctx context.Context, ct []byte) ([]byte, map[string]string, error)
}

// ours is this SDK through EncryptBytes and DecryptBytes.
type ours struct {
	c  *envelope.Client
	mm envelope.MaterialsManager
}

func newOurs(suite uint16, key []byte) (*ours, error) {
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: keyNamespace, Name: keyName, WrappingKey: key})
	if err != nil {
		return nil, err
	}
	return newOursWith(suite, kr)
}

// newOursWith is this SDK over any keyring.
func newOursWith(suite uint16, kr keyring.Keyring) (*ours, error) {
	c, err := envelope.New(func(o *envelope.Options) {
		o.Suite = format.SuiteID(suite)
		o.FrameLength = frameLength
		o.CommitmentPolicy = envelope.RequireEncryptRequireDecrypt
	})
	if err != nil {
		return nil, err
	}
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		return nil, err
	}
	return &ours{c: c, mm: mm}, nil
}

func (*ours) name() string { return "ours" }

func (o *ours) encrypt(ctx context.Context, pt []byte) ([]byte, error) {
	return o.c.EncryptBytes(ctx, pt, o.mm, encryptionContext)
}

func (o *ours) decrypt(ctx context.Context, ct []byte) ([]byte, map[string]string, error) {
	pt, h, err := o.c.DecryptBytes(ctx, ct, o.mm, encryptionContext)
	if err != nil {
		return nil, nil, err
	}
	return pt, h.EncryptionContext, nil
}

// official is the official AWS Encryption SDK for Go with a raw AES
// keyring of its material providers library.
type official struct {
	c     *esdk.Client
	kr    mpltypes.IKeyring
	suite mpltypes.ESDKAlgorithmSuiteId
}

func newOfficial(suite uint16, key []byte) (*official, error) {
	ctx := context.Background()
	mp, err := mpl.NewClient(mpltypes.MaterialProvidersConfig{})
	if err != nil {
		return nil, err
	}
	kr, err := mp.CreateRawAesKeyring(ctx, mpltypes.CreateRawAesKeyringInput{
		KeyNamespace: keyNamespace,
		KeyName:      keyName,
		WrappingKey:  key,
		WrappingAlg:  mpltypes.AesWrappingAlgAlgAes256GcmIv12Tag16,
	})
	if err != nil {
		return nil, err
	}
	return newOfficialWith(suite, kr)
}

// newOfficialWith is the official SDK over any keyring of its material
// providers library.
func newOfficialWith(suite uint16, kr mpltypes.IKeyring) (*official, error) {
	policy := mpltypes.ESDKCommitmentPolicyRequireEncryptRequireDecrypt
	c, err := esdk.NewClient(esdktypes.AwsEncryptionSdkConfig{CommitmentPolicy: &policy})
	if err != nil {
		return nil, err
	}
	return &official{c: c, kr: kr, suite: mpltypes.ESDKAlgorithmSuiteId(fmt.Sprintf("0x%04X", suite))}, nil
}

func (*official) name() string { return "official" }

func (o *official) encrypt(ctx context.Context, pt []byte) ([]byte, error) {
	fl := int64(frameLength)
	suite := o.suite
	out, err := o.c.Encrypt(ctx, esdktypes.EncryptInput{
		Plaintext:         pt,
		AlgorithmSuiteId:  &suite,
		EncryptionContext: encryptionContext,
		FrameLength:       &fl,
		Keyring:           o.kr,
	})
	if err != nil {
		return nil, err
	}
	return out.Ciphertext, nil
}

func (o *official) decrypt(ctx context.Context, ct []byte) ([]byte, map[string]string, error) {
	out, err := o.c.Decrypt(ctx, esdktypes.DecryptInput{
		Ciphertext:        ct,
		EncryptionContext: encryptionContext,
		Keyring:           o.kr,
	})
	if err != nil {
		return nil, nil, err
	}
	return out.Plaintext, out.EncryptionContext, nil
}

// newSDKs returns both SDKs set up for suite and the shared wrapping key,
// ours first.
func newSDKs(tb testing.TB, suite uint16) []sdk { return newSDKsWithKey(tb, suite, wrappingKey) }

func newSDKsWithKey(tb testing.TB, suite uint16, key []byte) []sdk {
	tb.Helper()
	o, err := newOurs(suite, key)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := newOfficial(suite, key)
	if err != nil {
		tb.Fatal(err)
	}
	return []sdk{o, a}
}

// plaintext returns n bytes of a fixed pseudorandom stream, the same bytes
// for every SDK.
func plaintext(n int) []byte {
	b := make([]byte, n)
	fill(b)
	return b
}

func fill(b []byte) {
	r := rand.NewChaCha8([32]byte{'e', 's', 'd', 'k'})
	_, _ = r.Read(b)
}

// contextIncludes reports whether got holds every entry of want (an SDK
// may add entries of its own, such as the public key of a signed suite).
func contextIncludes(got, want map[string]string) bool {
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}
