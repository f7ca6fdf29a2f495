package kmstest

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/require"
)

var eccSpecs = []struct {
	spec  types.KeySpec
	curve ecdh.Curve
	size  int // bytes of a shared secret: the curve's field size
}{
	{types.KeySpecEccNistP256, ecdh.P256(), 32},
	{types.KeySpecEccNistP384, ecdh.P384(), 48},
	{types.KeySpecEccNistP521, ecdh.P521(), 66},
}

// agreementKey creates a KEY_AGREEMENT key of spec.
func agreementKey(t *testing.T, c *kms.Client, spec types.KeySpec) *types.KeyMetadata {
	t.Helper()
	return createKey(t, c, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeKeyAgreement})
}

// spki returns the DER SubjectPublicKeyInfo of a local key's public key.
func spki(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return der
}

func TestECCKeyAgreement(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	for _, tc := range eccSpecs {
		t.Run(string(tc.spec), func(t *testing.T) {
			md := agreementKey(t, c, tc.spec)
			require.Equal(t, tc.spec, md.KeySpec)
			require.Equal(t, types.KeyUsageTypeKeyAgreement, md.KeyUsage)
			require.Equal(t, []types.KeyAgreementAlgorithmSpec{types.KeyAgreementAlgorithmSpecEcdh}, md.KeyAgreementAlgorithms)
			require.Empty(t, md.EncryptionAlgorithms)
			d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
			require.NoError(t, err)
			require.Equal(t, md.KeyAgreementAlgorithms, d.KeyMetadata.KeyAgreementAlgorithms)
			require.Equal(t, types.KeyUsageTypeKeyAgreement, d.KeyMetadata.KeyUsage)

			pub, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: md.KeyId, GrantTokens: []string{"g"}})
			require.NoError(t, err)
			require.Equal(t, *md.Arn, *pub.KeyId)
			require.Equal(t, tc.spec, pub.KeySpec)
			require.Equal(t, types.KeyUsageTypeKeyAgreement, pub.KeyUsage)
			require.Equal(t, []types.KeyAgreementAlgorithmSpec{types.KeyAgreementAlgorithmSpecEcdh}, pub.KeyAgreementAlgorithms)
			require.Empty(t, pub.EncryptionAlgorithms)
			parsed, err := x509.ParsePKIXPublicKey(pub.PublicKey)
			require.NoError(t, err)
			kmsPub, err := parsed.(*ecdsa.PublicKey).ECDH()
			require.NoError(t, err)
			require.Equal(t, tc.curve, kmsPub.Curve())

			// KMS's secret is the raw x-coordinate, the field size long, that
			// the peer computes locally with its private key.
			for range 8 {
				peer, err := tc.curve.GenerateKey(rand.Reader)
				require.NoError(t, err)
				out, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{
					KeyId: md.Arn, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh,
					PublicKey: spki(t, peer.PublicKey()), GrantTokens: []string{"g"},
				})
				require.NoError(t, err)
				want, err := peer.ECDH(kmsPub)
				require.NoError(t, err)
				require.Len(t, out.SharedSecret, tc.size)
				require.Equal(t, want, out.SharedSecret)
				require.Equal(t, *md.Arn, *out.KeyId)
				require.Equal(t, types.KeyAgreementAlgorithmSpecEcdh, out.KeyAgreementAlgorithm)
				require.Equal(t, types.OriginTypeAwsKms, out.KeyOrigin)
				require.Empty(t, out.CiphertextForRecipient)
			}

			// Two KMS keys on the curve agree with each other.
			other := agreementKey(t, c, tc.spec)
			otherPub, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: other.Arn})
			require.NoError(t, err)
			ab, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: md.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: otherPub.PublicKey})
			require.NoError(t, err)
			ba, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: other.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: pub.PublicKey})
			require.NoError(t, err)
			require.Equal(t, ab.SharedSecret, ba.SharedSecret)
		})
	}
	require.Equal(t, 3*(8+2), s.Count("DeriveSharedSecret"))
	last := s.Calls()[len(s.Calls())-1]
	require.Equal(t, "DeriveSharedSecret", last.Operation)
	require.NotEmpty(t, last.KeyID)
}

func TestECCKeyAgreementErrors(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	p256 := agreementKey(t, c, types.KeySpecEccNistP256)
	sym := createKey(t, c, nil)
	rsaKey := createKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	peerDER := spki(t, peer.PublicKey())
	derive := func(keyID *string, pub []byte, mods ...func(*kms.DeriveSharedSecretInput)) error {
		in := &kms.DeriveSharedSecretInput{KeyId: keyID, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: pub}
		for _, m := range mods {
			m(in)
		}
		_, err := c.DeriveSharedSecret(ctx, in)
		return err
	}
	require.NoError(t, derive(p256.KeyId, peerDER))

	// Keys of another usage.
	var usage *types.InvalidKeyUsageException
	require.ErrorAs(t, derive(sym.KeyId, peerDER), &usage)
	require.ErrorAs(t, derive(rsaKey.KeyId, peerDER), &usage)
	// A key agreement key does nothing else.
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: p256.KeyId, Plaintext: []byte("x")})
	require.ErrorAs(t, err, &usage)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: p256.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
	require.ErrorAs(t, err, &usage)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: p256.KeyId, CiphertextBlob: make([]byte, 256), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
	require.ErrorAs(t, err, &usage)
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: p256.KeyId, KeySpec: types.DataKeySpecAes256})
	require.ErrorAs(t, err, &usage)
	_, err = c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: p256.KeyId, KeySpec: types.DataKeySpecAes256})
	require.ErrorAs(t, err, &usage)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: []byte("x")})
	require.NoError(t, err)
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: p256.KeyId})
	require.ErrorAs(t, err, &usage)

	// Peer keys that are not points of the key's curve.
	p384, err := ecdh.P384().GenerateKey(rand.Reader)
	require.NoError(t, err)
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	offCurve := bytes.Clone(peerDER)
	offCurve[len(offCurve)-1] ^= 0x01 // the point's y no longer fits its x
	for name, pub := range map[string][]byte{
		"P-384 point":   spki(t, p384.PublicKey()),
		"RSA key":       spki(t, &rsaPriv.PublicKey),
		"not on curve":  offCurve,
		"raw point":     peer.PublicKey().Bytes(),
		"truncated DER": peerDER[:len(peerDER)-1],
		"garbage":       []byte("not a key"),
		"empty":         {},
		"too long":      make([]byte, 8193),
	} {
		err := derive(p256.KeyId, pub)
		requireCode(t, err, "ValidationException")
		require.NotContains(t, err.Error(), "esdk/kmstest: ", name) // KMS-shaped messages
	}
	requireCode(t, derive(p256.KeyId, peerDER, func(in *kms.DeriveSharedSecretInput) { in.KeyAgreementAlgorithm = "ECDHE" }), "ValidationException")
	requireCode(t, derive(p256.KeyId, peerDER, func(in *kms.DeriveSharedSecretInput) { in.GrantTokens = make([]string, 11) }), "ValidationException")
	var unsupported *types.UnsupportedOperationException
	require.ErrorAs(t, derive(p256.KeyId, peerDER, func(in *kms.DeriveSharedSecretInput) {
		in.Recipient = &types.RecipientInfo{AttestationDocument: []byte("doc"), KeyEncryptionAlgorithm: types.KeyEncryptionMechanismRsaesOaepSha256}
	}), &unsupported)
	var dry *types.DryRunOperationException
	require.ErrorAs(t, derive(p256.KeyId, peerDER, func(in *kms.DeriveSharedSecretInput) { in.DryRun = aws.Bool(true) }), &dry)
	var nf *types.NotFoundException
	require.ErrorAs(t, derive(aws.String("alias/none"), peerDER), &nf)

	// Key states.
	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: p256.KeyId})
	require.NoError(t, err)
	var disabled *types.DisabledException
	require.ErrorAs(t, derive(p256.KeyId, peerDER), &disabled)
	_, err = c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: p256.KeyId})
	require.ErrorAs(t, err, &disabled)
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: p256.KeyId})
	require.NoError(t, err)
	var invalid *types.KMSInvalidStateException
	require.ErrorAs(t, derive(p256.KeyId, peerDER), &invalid)
	// DryRun does the key checks first.
	require.ErrorAs(t, derive(p256.KeyId, peerDER, func(in *kms.DeriveSharedSecretInput) { in.DryRun = aws.Bool(true) }), &invalid)
}

func TestECCCreateKeyUsage(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	for _, tc := range []struct {
		spec  types.KeySpec
		usage types.KeyUsageType
		want  string
	}{
		{types.KeySpecEccNistP256, "", "ValidationException"},
		{types.KeySpecEccNistP384, types.KeyUsageTypeEncryptDecrypt, "ValidationException"},
		{types.KeySpecEccNistP521, types.KeyUsageTypeSignVerify, "UnsupportedOperationException"},
		{types.KeySpecRsa2048, types.KeyUsageTypeKeyAgreement, "ValidationException"},
		{types.KeySpecSymmetricDefault, types.KeyUsageTypeKeyAgreement, "ValidationException"},
		{types.KeySpecEccSecgP256k1, types.KeyUsageTypeKeyAgreement, "ValidationException"},
		{types.KeySpecEccSecgP256k1, types.KeyUsageTypeSignVerify, "UnsupportedOperationException"},
		{types.KeySpecSm2, types.KeyUsageTypeKeyAgreement, "UnsupportedOperationException"},
		{types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac, "UnsupportedOperationException"},
		{types.KeySpecHmac256, "", "ValidationException"},
		{types.KeySpecEccNistP256, "AGREE", "ValidationException"},
	} {
		_, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: tc.spec, KeyUsage: tc.usage})
		requireCode(t, err, tc.want)
	}
}

func TestECCKeyAgreementAcrossAccountsAndRegions(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	owner := s.Client(east, other)
	p := createKey(t, owner, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP384, KeyUsage: types.KeyUsageTypeKeyAgreement, MultiRegion: aws.Bool(true)})
	rep, err := owner.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String(west)})
	require.NoError(t, err)
	require.Equal(t, types.KeyUsageTypeKeyAgreement, rep.ReplicaKeyMetadata.KeyUsage)
	peer, err := ecdh.P384().GenerateKey(rand.Reader)
	require.NoError(t, err)
	in := func(keyID *string) *kms.DeriveSharedSecretInput {
		return &kms.DeriveSharedSecretInput{KeyId: keyID, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: spki(t, peer.PublicKey())}
	}
	east1, err := owner.DeriveSharedSecret(ctx, in(p.KeyId))
	require.NoError(t, err)
	west1, err := s.Client(west, other).DeriveSharedSecret(ctx, in(p.KeyId))
	require.NoError(t, err)
	require.Equal(t, east1.SharedSecret, west1.SharedSecret, "replicas share the key pair")

	user := s.Client(east, account)
	_, err = user.DeriveSharedSecret(ctx, in(p.Arn))
	requireDenied(t, err, "kms:DeriveSharedSecret")
	_, err = user.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: p.Arn})
	requireDenied(t, err, "kms:GetPublicKey")
	s.AllowKey(*p.KeyId, account)
	out, err := user.DeriveSharedSecret(ctx, in(p.Arn))
	require.NoError(t, err)
	require.Equal(t, east1.SharedSecret, out.SharedSecret)
	pub, err := user.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: p.Arn})
	require.NoError(t, err)
	parsed, err := x509.ParsePKIXPublicKey(pub.PublicKey)
	require.NoError(t, err)
	kmsPub, err := parsed.(*ecdsa.PublicKey).ECDH()
	require.NoError(t, err)
	local, err := peer.ECDH(kmsPub)
	require.NoError(t, err)
	require.Equal(t, local, out.SharedSecret)
}
