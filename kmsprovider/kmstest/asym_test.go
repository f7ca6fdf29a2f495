package kmstest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"hash"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/require"
)

func TestRSAKeys(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()

	for _, tc := range []struct {
		spec types.KeySpec
		bits int
	}{
		{types.KeySpecRsa2048, 2048},
		{types.KeySpecRsa3072, 3072},
		{types.KeySpecRsa4096, 4096},
	} {
		t.Run(string(tc.spec), func(t *testing.T) {
			md := createKey(t, c, &kms.CreateKeyInput{KeySpec: tc.spec, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
			require.Equal(t, tc.spec, md.KeySpec)
			require.Equal(t, []types.EncryptionAlgorithmSpec{types.EncryptionAlgorithmSpecRsaesOaepSha1, types.EncryptionAlgorithmSpecRsaesOaepSha256}, md.EncryptionAlgorithms)

			pub, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: md.KeyId, GrantTokens: []string{"g"}})
			require.NoError(t, err)
			require.Equal(t, *md.Arn, *pub.KeyId)
			require.Equal(t, tc.spec, pub.KeySpec)
			require.Equal(t, types.KeyUsageTypeEncryptDecrypt, pub.KeyUsage)
			require.Equal(t, md.EncryptionAlgorithms, pub.EncryptionAlgorithms)
			parsed, err := x509.ParsePKIXPublicKey(pub.PublicKey)
			require.NoError(t, err)
			rsaPub := parsed.(*rsa.PublicKey)
			require.Equal(t, tc.bits, rsaPub.N.BitLen())

			for _, alg := range []struct {
				spec types.EncryptionAlgorithmSpec
				h    func() hash.Hash
			}{
				{types.EncryptionAlgorithmSpecRsaesOaepSha1, sha1.New},
				{types.EncryptionAlgorithmSpecRsaesOaepSha256, sha256.New},
			} {
				// Encrypted locally with the public key, decrypted by KMS.
				pt := []byte("data key " + string(alg.spec))
				local, err := rsa.EncryptOAEP(alg.h(), rand.Reader, rsaPub, pt, nil)
				require.NoError(t, err)
				dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: local, KeyId: md.Arn, EncryptionAlgorithm: alg.spec})
				require.NoError(t, err)
				require.Equal(t, pt, dec.Plaintext)
				require.Equal(t, *md.Arn, *dec.KeyId)
				require.Equal(t, alg.spec, dec.EncryptionAlgorithm)

				// Encrypted by KMS, decrypted locally.
				enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: pt, EncryptionAlgorithm: alg.spec})
				require.NoError(t, err)
				require.Len(t, enc.CiphertextBlob, tc.bits/8)
				require.Equal(t, alg.spec, enc.EncryptionAlgorithm)
				dec, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: md.KeyId, EncryptionAlgorithm: alg.spec})
				require.NoError(t, err)
				require.Equal(t, pt, dec.Plaintext)

				// The longest plaintext OAEP takes, and one byte more.
				max := tc.bits/8 - 2*alg.h().Size() - 2
				_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: make([]byte, max), EncryptionAlgorithm: alg.spec})
				require.NoError(t, err)
				_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: make([]byte, max+1), EncryptionAlgorithm: alg.spec})
				requireCode(t, err, "ValidationException")
			}
		})
	}
}

func TestRSAErrors(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	md := createKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048})
	sym := createKey(t, c, nil)
	sha256Alg := types.EncryptionAlgorithmSpecRsaesOaepSha256
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: sha256Alg})
	require.NoError(t, err)

	var ic *types.InvalidCiphertextException
	var usage *types.InvalidKeyUsageException

	// Without KeyId an RSA ciphertext names no key.
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.ErrorAs(t, err, &ic)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: sha256Alg})
	requireCode(t, err, "ValidationException")
	// Without the algorithm, the key does not do SYMMETRIC_DEFAULT.
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: md.KeyId})
	require.ErrorAs(t, err, &usage)
	// The other OAEP hash does not decrypt it.
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: md.KeyId, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha1})
	require.ErrorAs(t, err, &ic)
	// A symmetric key does not do RSA, and the reverse.
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: sym.KeyId, EncryptionAlgorithm: sha256Alg})
	require.ErrorAs(t, err, &usage)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: sha256Alg})
	require.ErrorAs(t, err, &usage)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	require.ErrorAs(t, err, &usage)
	// No data keys and no encryption context with RSA keys.
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: md.KeyId, KeySpec: types.DataKeySpecAes256})
	require.ErrorAs(t, err, &usage)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: sha256Alg, EncryptionContext: map[string]string{"a": "b"}})
	requireCode(t, err, "ValidationException")
	// A symmetric key has no public key.
	_, err = c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: sym.KeyId})
	var unsupported *types.UnsupportedOperationException
	require.ErrorAs(t, err, &unsupported)

	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: md.KeyId})
	require.NoError(t, err)
	var disabled *types.DisabledException
	_, err = c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: md.KeyId})
	require.ErrorAs(t, err, &disabled)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: md.KeyId, EncryptionAlgorithm: sha256Alg})
	require.ErrorAs(t, err, &disabled)
}

func TestReEncrypt(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	a := createKey(t, c, nil)
	b := createKey(t, c, nil)
	r := createKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048})
	srcEC := map[string]string{"src": "1"}
	dstEC := map[string]string{"dst": "2"}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: a.KeyId, Plaintext: []byte("payload"), EncryptionContext: srcEC})
	require.NoError(t, err)

	re, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: srcEC,
		DestinationKeyId: b.KeyId, DestinationEncryptionContext: dstEC, GrantTokens: []string{"g"},
	})
	require.NoError(t, err)
	require.Equal(t, *a.Arn, *re.SourceKeyId)
	require.Equal(t, *b.Arn, *re.KeyId)
	require.Equal(t, types.EncryptionAlgorithmSpecSymmetricDefault, re.SourceEncryptionAlgorithm)
	require.Equal(t, types.EncryptionAlgorithmSpecSymmetricDefault, re.DestinationEncryptionAlgorithm)
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: dstEC})
	require.NoError(t, err)
	require.Equal(t, []byte("payload"), dec.Plaintext)
	require.Equal(t, *b.Arn, *dec.KeyId)

	// Wrong source context, wrong source key.
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: b.KeyId})
	var ic *types.InvalidCiphertextException
	require.ErrorAs(t, err, &ic)
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: srcEC, SourceKeyId: b.KeyId, DestinationKeyId: b.KeyId})
	var ik *types.IncorrectKeyException
	require.ErrorAs(t, err, &ik)

	// Into an RSA key and back.
	oaep := types.EncryptionAlgorithmSpecRsaesOaepSha256
	toRSA, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: srcEC,
		DestinationKeyId: r.Arn, DestinationEncryptionAlgorithm: oaep,
	})
	require.NoError(t, err)
	require.Equal(t, oaep, toRSA.DestinationEncryptionAlgorithm)
	back, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob: toRSA.CiphertextBlob, SourceKeyId: r.KeyId, SourceEncryptionAlgorithm: oaep,
		DestinationKeyId: a.KeyId,
	})
	require.NoError(t, err)
	require.Equal(t, *r.Arn, *back.SourceKeyId)
	dec, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: back.CiphertextBlob})
	require.NoError(t, err)
	require.Equal(t, []byte("payload"), dec.Plaintext)

	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: srcEC, DestinationKeyId: aws.String("alias/none")})
	var nf *types.NotFoundException
	require.ErrorAs(t, err, &nf)
}

func TestGenerateRandom(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	a, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(32)})
	require.NoError(t, err)
	require.Len(t, a.Plaintext, 32)
	b, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(32)})
	require.NoError(t, err)
	require.NotEqual(t, a.Plaintext, b.Plaintext)
	for _, n := range []*int32{nil, aws.Int32(0), aws.Int32(1025)} {
		_, err = c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: n})
		requireCode(t, err, "ValidationException")
	}
}

func TestDryRun(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	md := createKey(t, c, nil)
	var dry *types.DryRunOperationException
	_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x"), DryRun: aws.Bool(true)})
	require.ErrorAs(t, err, &dry)
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: md.KeyId, KeySpec: types.DataKeySpecAes256, DryRun: aws.Bool(true)})
	require.ErrorAs(t, err, &dry)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	require.NoError(t, err)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, DryRun: aws.Bool(true)})
	require.ErrorAs(t, err, &dry)
	// Request and key checks come first; the cryptography is not done.
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: make([]byte, 4097), DryRun: aws.Bool(true)})
	requireCode(t, err, "ValidationException")
	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: md.KeyId})
	require.NoError(t, err)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, DryRun: aws.Bool(true)})
	var disabled *types.DisabledException
	require.ErrorAs(t, err, &disabled)
}

// BenchmarkGenerateDataKeyDecrypt measures a data key's round trip through
// the real client over loopback: GenerateDataKey, then Decrypt; plain, with
// signatures verified, and over TLS with signatures verified.
func BenchmarkGenerateDataKeyDecrypt(b *testing.B) {
	for _, bc := range []struct {
		name string
		opt  func(*Options)
	}{
		{"plain", func(*Options) {}},
		{"verify", func(o *Options) { o.VerifySignatures = true }},
		{"tls+verify", func(o *Options) { o.TLS, o.VerifySignatures = true, true }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := NewServer(bc.opt)
			defer s.Close()
			c := s.Client(west, account)
			ctx := context.Background()
			key, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
			if err != nil {
				b.Fatal(err)
			}
			ec := map[string]string{"purpose": "bench"}
			b.ReportAllocs()
			for b.Loop() {
				dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: key.KeyMetadata.Arn, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec, KeyId: key.KeyMetadata.Arn}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
