package kmstest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

const (
	west    = "us-west-2"
	east    = "us-east-1"
	account = "123456789012"
	other   = "210987654321"
	root    = "arn:aws:iam::" + account + ":root" // the principal of account's requests
)

func newServer(t *testing.T) *Server {
	t.Helper()
	s := NewServer()
	t.Cleanup(s.Close)
	return s
}

func createKey(t *testing.T, c *kms.Client, in *kms.CreateKeyInput) *types.KeyMetadata {
	t.Helper()
	if in == nil {
		in = &kms.CreateKeyInput{}
	}
	out, err := c.CreateKey(context.Background(), in)
	require.NoError(t, err)
	return out.KeyMetadata
}

// requireCode checks that err is a KMS API error of type code.
func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "not an API error: %v", err)
	require.Equal(t, code, ae.ErrorCode(), "%v", err)
}

func TestCreateKeySymmetric(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	md := createKey(t, c, &kms.CreateKeyInput{Description: aws.String("test key")})

	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, *md.KeyId)
	require.Equal(t, "arn:aws:kms:us-west-2:123456789012:key/"+*md.KeyId, *md.Arn)
	require.Equal(t, account, *md.AWSAccountId)
	require.Equal(t, types.KeySpecSymmetricDefault, md.KeySpec)
	require.Equal(t, types.KeyUsageTypeEncryptDecrypt, md.KeyUsage)
	require.Equal(t, types.KeyStateEnabled, md.KeyState)
	require.True(t, md.Enabled)
	require.Equal(t, "test key", *md.Description)
	require.Equal(t, []types.EncryptionAlgorithmSpec{types.EncryptionAlgorithmSpecSymmetricDefault}, md.EncryptionAlgorithms)
	require.False(t, *md.MultiRegion)
	require.Nil(t, md.MultiRegionConfiguration)
	require.False(t, md.CreationDate.IsZero())
}

func TestPartitions(t *testing.T) {
	s := newServer(t)
	for region, arn := range map[string]string{
		"cn-north-1":    "arn:aws-cn:kms:cn-north-1:",
		"us-gov-west-1": "arn:aws-us-gov:kms:us-gov-west-1:",
		"eu-central-1":  "arn:aws:kms:eu-central-1:",
	} {
		md := createKey(t, s.Client(region, account), nil)
		require.True(t, strings.HasPrefix(*md.Arn, arn+account+":key/"), *md.Arn)
	}
}

func TestAccountFromAccessKey(t *testing.T) {
	s := newServer(t)
	md := createKey(t, s.Client(west, ""), nil)
	require.Equal(t, DefaultAccount, *md.AWSAccountId)

	cfg := s.Config(west, "")
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "x"}, nil
	})
	md = createKey(t, kms.NewFromConfig(cfg), nil)
	require.Equal(t, DefaultAccount, *md.AWSAccountId)

	md = createKey(t, s.Client(west, other), nil)
	require.Equal(t, other, *md.AWSAccountId)
}

func TestDescribeKeyIdentifiers(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	md := createKey(t, c, nil)
	_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: md.KeyId})
	require.NoError(t, err)

	for _, id := range []string{
		*md.KeyId,
		*md.Arn,
		"alias/app",
		"arn:aws:kms:us-west-2:123456789012:alias/app",
	} {
		out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id), GrantTokens: []string{"token"}})
		require.NoError(t, err, id)
		require.Equal(t, *md.Arn, *out.KeyMetadata.Arn, id)
	}

	for _, id := range []string{
		"alias/missing",
		"11111111-2222-4333-8444-555555555555",
		"arn:aws:kms:us-west-2:123456789012:key/11111111-2222-4333-8444-555555555555",
		"arn:aws:kms:us-east-1:123456789012:key/" + *md.KeyId, // another region
		"arn:aws:kms:us-west-2:210987654321:key/" + *md.KeyId, // another account
		"arn:aws:kms:us-west-2:210987654321:alias/app",
		"arn:aws-cn:kms:us-west-2:123456789012:key/" + *md.KeyId, // wrong partition
		"arn:aws:s3:::bucket",
	} {
		_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		var nf *types.NotFoundException
		require.ErrorAs(t, err, &nf, id)
	}

	// An alias is per region: the same name in another region is not found.
	_, err = s.Client(east, account).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/app")})
	var nf *types.NotFoundException
	require.ErrorAs(t, err, &nf)
}

func TestCreateAliasErrors(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	md := createKey(t, c, nil)
	_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/a"), TargetKeyId: md.Arn})
	require.NoError(t, err)

	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/a"), TargetKeyId: md.KeyId})
	var exists *types.AlreadyExistsException
	require.ErrorAs(t, err, &exists)

	for _, name := range []string{"a", "alias/", "alias/aws/x", "alias/sp ace"} {
		_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(name), TargetKeyId: md.KeyId})
		var bad *types.InvalidAliasNameException
		require.ErrorAs(t, err, &bad, name)
	}
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/b"), TargetKeyId: aws.String("alias/a")})
	requireCode(t, err, "ValidationException")
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/b"), TargetKeyId: aws.String("nope")})
	var nf *types.NotFoundException
	require.ErrorAs(t, err, &nf)
}

func TestGenerateDataKey(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	md := createKey(t, c, nil)
	ec := map[string]string{"purpose": "test", "a": "b"}

	for _, tc := range []struct {
		in   kms.GenerateDataKeyInput
		size int
	}{
		{kms.GenerateDataKeyInput{KeySpec: types.DataKeySpecAes256}, 32},
		{kms.GenerateDataKeyInput{KeySpec: types.DataKeySpecAes128}, 16},
		{kms.GenerateDataKeyInput{NumberOfBytes: aws.Int32(1)}, 1},
		{kms.GenerateDataKeyInput{NumberOfBytes: aws.Int32(1024)}, 1024},
	} {
		in := tc.in
		in.KeyId = md.KeyId
		in.EncryptionContext = ec
		in.GrantTokens = []string{"g1", "g2"}
		out, err := c.GenerateDataKey(ctx, &in)
		require.NoError(t, err)
		require.Len(t, out.Plaintext, tc.size)
		require.Equal(t, *md.Arn, *out.KeyId)

		dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec})
		require.NoError(t, err)
		require.Equal(t, out.Plaintext, dec.Plaintext)
		require.Equal(t, *md.Arn, *dec.KeyId)
	}

	for _, in := range []kms.GenerateDataKeyInput{
		{},
		{KeySpec: types.DataKeySpecAes256, NumberOfBytes: aws.Int32(32)},
		{NumberOfBytes: aws.Int32(0)},
		{NumberOfBytes: aws.Int32(1025)},
		{KeySpec: "AES_512"},
		{KeySpec: types.DataKeySpecAes256, GrantTokens: make([]string, 11)},
	} {
		in.KeyId = md.KeyId
		for i := range in.GrantTokens {
			in.GrantTokens[i] = "t"
		}
		_, err := c.GenerateDataKey(ctx, &in)
		requireCode(t, err, "ValidationException")
	}
}

func TestGenerateDataKeyWithoutPlaintext(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	md := createKey(t, c, nil)
	ec := map[string]string{"k": "v"}
	out, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
		KeyId: aws.String("arn:aws:kms:us-west-2:123456789012:key/" + *md.KeyId), KeySpec: types.DataKeySpecAes128, EncryptionContext: ec,
	})
	require.NoError(t, err)
	require.Equal(t, *md.Arn, *out.KeyId)
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec, KeyId: md.Arn})
	require.NoError(t, err)
	require.Len(t, dec.Plaintext, 16)

	_, err = c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: md.KeyId})
	requireCode(t, err, "ValidationException")
}

func TestEncryptDecrypt(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	md := createKey(t, c, nil)
	md2 := createKey(t, c, nil)
	ec := map[string]string{"tenant": "a", "x": ""}

	for _, n := range []int{1, 100, 4096} {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: pt, EncryptionContext: ec, GrantTokens: []string{"g"}})
		require.NoError(t, err)
		require.Equal(t, *md.Arn, *enc.KeyId)
		require.Equal(t, types.EncryptionAlgorithmSpecSymmetricDefault, enc.EncryptionAlgorithm)
		if n > 1 {
			require.NotContains(t, string(enc.CiphertextBlob), string(pt))
		}

		for _, keyID := range []*string{nil, md.KeyId, md.Arn} {
			dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, KeyId: keyID})
			require.NoError(t, err)
			require.Equal(t, pt, dec.Plaintext)
			require.Equal(t, *md.Arn, *dec.KeyId)
			require.Equal(t, types.EncryptionAlgorithmSpecSymmetricDefault, dec.EncryptionAlgorithm)
		}
	}

	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("secret"), EncryptionContext: ec})
	require.NoError(t, err)

	// The real service's limit: 4,096 bytes of plaintext.
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: make([]byte, 4097)})
	requireCode(t, err, "ValidationException")
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte{}})
	requireCode(t, err, "ValidationException")

	// Bound to the encryption context.
	for _, bad := range []map[string]string{nil, {"tenant": "b", "x": ""}, {"tenant": "a"}, {"tenant": "a", "x": "", "y": ""}} {
		_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: bad})
		var ic *types.InvalidCiphertextException
		require.ErrorAs(t, err, &ic, "%v", bad)
	}
	// Authenticated: every byte matters.
	for i := range enc.CiphertextBlob {
		blob := bytes.Clone(enc.CiphertextBlob)
		blob[i] ^= 0x01
		_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec, KeyId: md.Arn})
		var ic *types.InvalidCiphertextException
		var ik *types.IncorrectKeyException
		require.True(t, errors.As(err, &ic) || errors.As(err, &ik), "byte %d: %v", i, err)
		_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec})
		var nf *types.NotFoundException
		require.True(t, errors.As(err, &ic) || errors.As(err, &nf), "byte %d: %v", i, err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob[:20], EncryptionContext: ec})
	var ic *types.InvalidCiphertextException
	require.ErrorAs(t, err, &ic)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("not a ciphertext at all, not at all"), EncryptionContext: ec})
	require.ErrorAs(t, err, &ic)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: make([]byte, 6145)})
	requireCode(t, err, "ValidationException")

	// Bound to the key: another key named in the request.
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, KeyId: md2.KeyId})
	var ik *types.IncorrectKeyException
	require.ErrorAs(t, err, &ik)
	// Bound to the key: the blob rewritten to name another key.
	blob := bytes.ReplaceAll(enc.CiphertextBlob, []byte(*md.KeyId), []byte(*md2.KeyId))
	require.NotEqual(t, enc.CiphertextBlob, blob)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec})
	require.ErrorAs(t, err, &ic)
}

func TestKeyStates(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	md := createKey(t, c, nil)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	require.NoError(t, err)

	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: md.KeyId})
	require.NoError(t, err)
	d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	require.NoError(t, err)
	require.Equal(t, types.KeyStateDisabled, d.KeyMetadata.KeyState)
	require.False(t, d.KeyMetadata.Enabled)

	var disabled *types.DisabledException
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	require.ErrorAs(t, err, &disabled)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.ErrorAs(t, err, &disabled)
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: md.KeyId, KeySpec: types.DataKeySpecAes256})
	require.ErrorAs(t, err, &disabled)
	_, err = c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: md.KeyId, KeySpec: types.DataKeySpecAes256})
	require.ErrorAs(t, err, &disabled)
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: md.KeyId})
	require.ErrorAs(t, err, &disabled)

	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: md.KeyId})
	require.NoError(t, err)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.NoError(t, err)

	sched, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId, PendingWindowInDays: aws.Int32(7)})
	require.NoError(t, err)
	require.Equal(t, types.KeyStatePendingDeletion, sched.KeyState)
	require.Equal(t, *md.Arn, *sched.KeyId)
	require.Equal(t, int32(7), *sched.PendingWindowInDays)

	var invalid *types.KMSInvalidStateException
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.ErrorAs(t, err, &invalid)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	require.ErrorAs(t, err, &invalid)
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: md.KeyId})
	require.ErrorAs(t, err, &invalid)
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/late"), TargetKeyId: md.KeyId})
	require.ErrorAs(t, err, &invalid)
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId})
	require.ErrorAs(t, err, &invalid)
	d, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	require.NoError(t, err)
	require.Equal(t, types.KeyStatePendingDeletion, d.KeyMetadata.KeyState)
	require.NotNil(t, d.KeyMetadata.DeletionDate)

	_, err = c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: md.KeyId})
	require.NoError(t, err)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.ErrorAs(t, err, &disabled)
	_, err = c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: md.KeyId})
	require.ErrorAs(t, err, &invalid)

	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId, PendingWindowInDays: aws.Int32(6)})
	requireCode(t, err, "ValidationException")

	var nf *types.NotFoundException
	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String("alias/none")})
	require.ErrorAs(t, err, &nf)
}

func TestUnsupportedCreateKey(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	for _, in := range []*kms.CreateKeyInput{
		{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify},
		{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify},
		{Origin: types.OriginTypeExternal},
	} {
		_, err := c.CreateKey(ctx, in)
		var u *types.UnsupportedOperationException
		require.ErrorAs(t, err, &u)
	}
	_, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: "AES_999"})
	requireCode(t, err, "ValidationException")
}

// TestCallRequest: the log holds each request's grant tokens and
// encryption context (ReEncrypt's destination context), failed requests
// too, and Calls returns copies.
func TestCallRequest(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	a, b := createKey(t, c, nil), createKey(t, c, nil)
	s.ResetCalls()

	ec := map[string]string{"purpose": "test"}
	gt := []string{"grant-1", "grant-2"}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: a.Arn, Plaintext: []byte("x"), EncryptionContext: ec, GrantTokens: gt})
	require.NoError(t, err)
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec, DestinationKeyId: b.Arn, DestinationEncryptionContext: map[string]string{"purpose": "other"}, GrantTokens: gt[:1]})
	require.NoError(t, err)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, GrantTokens: gt})
	requireCode(t, err, "InvalidCiphertextException")
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: a.Arn})
	require.NoError(t, err)

	calls := s.Calls()
	require.Len(t, calls, 4)
	require.Equal(t, Call{Operation: "Encrypt", Region: west, Account: account, Principal: root, KeyID: *a.Arn, GrantTokens: gt, EncryptionContext: ec}, calls[0])
	require.Equal(t, []string{"grant-1"}, calls[1].GrantTokens)
	require.Equal(t, map[string]string{"purpose": "other"}, calls[1].EncryptionContext)
	require.Equal(t, *b.Arn, calls[1].KeyID)
	require.Equal(t, gt, calls[2].GrantTokens)
	require.Nil(t, calls[2].EncryptionContext)
	require.Equal(t, "InvalidCiphertextException", calls[2].Error)
	require.Nil(t, calls[3].GrantTokens)
	require.Nil(t, calls[3].EncryptionContext)

	calls[0].GrantTokens[0] = "changed"
	calls[0].EncryptionContext["purpose"] = "changed"
	require.Equal(t, gt, s.Calls()[0].GrantTokens)
	require.Equal(t, ec, s.Calls()[0].EncryptionContext)
}
