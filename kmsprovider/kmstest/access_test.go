package kmstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/require"
)

// requireDenied checks that err is KMS's AccessDeniedException for action.
func requireDenied(t *testing.T, err error, action string) {
	t.Helper()
	requireCode(t, err, "AccessDeniedException")
	require.ErrorContains(t, err, "not authorized to perform: "+action+" on resource")
}

func TestCrossAccountNeedsAllowKey(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	theirs := s.Client(west, other)
	md := createKey(t, theirs, nil)
	ownEnc, err := theirs.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	require.NoError(t, err, "a key's own account uses it")
	c := s.Client(west, account)

	// Without a statement of the key's policy, every operation is denied,
	// by whatever identifier and also by the key the ciphertext names.
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.Arn, Plaintext: []byte("x")})
	requireDenied(t, err, "kms:Encrypt")
	require.ErrorContains(t, err, "User: arn:aws:iam::"+account+":root")
	require.ErrorContains(t, err, *md.Arn)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ownEnc.CiphertextBlob})
	requireDenied(t, err, "kms:Decrypt")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ownEnc.CiphertextBlob, KeyId: md.Arn})
	requireDenied(t, err, "kms:Decrypt")
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: md.Arn, KeySpec: types.DataKeySpecAes256})
	requireDenied(t, err, "kms:GenerateDataKey")
	_, err = c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: md.Arn, KeySpec: types.DataKeySpecAes256})
	requireDenied(t, err, "kms:GenerateDataKeyWithoutPlaintext")
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.Arn})
	requireDenied(t, err, "kms:DescribeKey")
	require.Equal(t, "AccessDeniedException", s.Calls()[len(s.Calls())-1].Error)
	require.Equal(t, *md.Arn, s.Calls()[len(s.Calls())-1].KeyID)

	// Denial comes before the key's state: a disabled key says nothing.
	_, err = theirs.DisableKey(ctx, &kms.DisableKeyInput{KeyId: md.KeyId})
	require.NoError(t, err)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.Arn, Plaintext: []byte("x")})
	requireDenied(t, err, "kms:Encrypt")
	_, err = theirs.EnableKey(ctx, &kms.EnableKeyInput{KeyId: md.KeyId})
	require.NoError(t, err)

	// A missing key of another account is still not found.
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("arn:aws:kms:us-west-2:" + other + ":key/11111111-2222-4333-8444-555555555555")})
	var nf *types.NotFoundException
	require.ErrorAs(t, err, &nf)

	s.AllowKey(*md.Arn, account)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.Arn, Plaintext: []byte("x")})
	require.NoError(t, err)
	require.Equal(t, *md.Arn, *enc.KeyId)
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ownEnc.CiphertextBlob})
	require.NoError(t, err)
	require.Equal(t, *md.Arn, *dec.KeyId)
	_, err = c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: md.Arn, KeySpec: types.DataKeySpecAes256})
	require.NoError(t, err)
	d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.Arn})
	require.NoError(t, err)
	require.Equal(t, other, *d.KeyMetadata.AWSAccountId)
	require.Equal(t, []Call{{Operation: "DescribeKey", Region: west, Account: account, Principal: "arn:aws:iam::" + account + ":root", KeyID: *md.Arn}}, s.Calls()[len(s.Calls())-1:])

	// A bare key id still means the caller's account.
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	require.ErrorAs(t, err, &nf)

	// Management is never allowed across accounts, whatever the policy says.
	s.AllowKey(*md.Arn, "*")
	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: md.Arn})
	requireDenied(t, err, "kms:DisableKey")
	require.ErrorContains(t, err, "cannot be used with a key of another account")
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: md.Arn})
	requireDenied(t, err, "kms:EnableKey")
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: md.Arn})
	requireDenied(t, err, "kms:ScheduleKeyDeletion")
	_, err = c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: md.Arn})
	requireDenied(t, err, "kms:CancelKeyDeletion")
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/theirs"), TargetKeyId: md.Arn})
	requireDenied(t, err, "kms:CreateAlias")

	// Revoked, it is denied again.
	s.RevokeKey(*md.Arn)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ownEnc.CiphertextBlob})
	requireDenied(t, err, "kms:Decrypt")
	s.AllowKey(*md.Arn, "arn:aws:iam::"+account+":root", "arn:aws:iam::"+DefaultAccount+":root")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ownEnc.CiphertextBlob})
	require.NoError(t, err, "the root ARN allows the account")
	s.RevokeKey(*md.Arn, account)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ownEnc.CiphertextBlob})
	requireDenied(t, err, "kms:Decrypt")
	_, err = s.Client(west, "").Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ownEnc.CiphertextBlob})
	require.NoError(t, err, "only the revoked principal was removed")
}

func TestCrossAccountPrincipals(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	md := createKey(t, s.Client(west, other), nil)
	app := "arn:aws:iam::" + account + ":role/app"
	asApp := s.Client(west, app)
	asRoot := s.Client(west, account)
	asOtherRole := s.Client(west, "arn:aws:iam::"+account+":role/batch/nightly")
	enc := func(c *kms.Client) error {
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.Arn, Plaintext: []byte("x")})
		return err
	}

	s.AllowKey(*md.KeyId, app)
	require.NoError(t, enc(asApp))
	requireDenied(t, enc(asRoot), "kms:Encrypt")
	err := enc(asOtherRole)
	requireDenied(t, err, "kms:Encrypt")
	require.ErrorContains(t, err, "User: arn:aws:iam::"+account+":role/batch/nightly ")
	calls := s.Calls()
	require.Equal(t, app, calls[len(calls)-3].Principal)
	require.Equal(t, account, calls[len(calls)-3].Account)

	// A principal's own account's keys need no statement.
	mine := createKey(t, asApp, nil)
	require.Equal(t, account, *mine.AWSAccountId)
	_, err = asOtherRole.Encrypt(ctx, &kms.EncryptInput{KeyId: mine.KeyId, Plaintext: []byte("x")})
	require.NoError(t, err)

	// The credentials of a principal are stable and carry its account.
	require.Equal(t, s.Credentials(app), s.Credentials(app))
	require.Regexp(t, `^AKIA[A-Z2-7]{16}$`, s.Credentials(app).AccessKeyID)
	require.Equal(t, account, s.Credentials(account).AccessKeyID)
	require.Equal(t, DefaultAccount, s.Credentials("").AccessKeyID)

	for _, bad := range []string{"12345", "arn:aws:iam::123:root", "arn:aws:iam::" + account + ":group/x", "arn:aws:sts::" + account + ":assumed-role/a/b", "arn:aws:iam::" + account + ":role/"} {
		require.Panics(t, func() { s.Credentials(bad) }, bad)
		require.Panics(t, func() { s.AllowKey(*md.Arn, bad) }, bad)
	}
	require.Panics(t, func() { s.AllowKey(*md.Arn, "") })
}

func TestCrossAccountAliases(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	theirs := s.Client(west, other)
	md := createKey(t, theirs, nil)
	_, err := theirs.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/shared"), TargetKeyId: md.KeyId})
	require.NoError(t, err)
	s.AllowKey(*md.Arn, account)
	c := s.Client(west, account)

	// An alias name is the caller's account's: another account's alias of
	// that name does not resolve.
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/shared"), Plaintext: []byte("x")})
	var nf *types.NotFoundException
	require.ErrorAs(t, err, &nf)
	// An alias ARN names its account, as in KMS, and the key's policy decides.
	aliasARN := "arn:aws:kms:us-west-2:" + other + ":alias/shared"
	out, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(aliasARN), Plaintext: []byte("x")})
	require.NoError(t, err)
	require.Equal(t, *md.Arn, *out.KeyId)
	_, err = s.Client(west, "999988887777").Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(aliasARN), Plaintext: []byte("x")})
	requireDenied(t, err, "kms:Encrypt")
}

func TestCrossAccountReEncrypt(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c := s.Client(west, account)
	mine := createKey(t, c, nil)
	theirs := createKey(t, s.Client(west, other), nil)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: mine.KeyId, Plaintext: []byte("x")})
	require.NoError(t, err)

	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: theirs.Arn})
	requireDenied(t, err, "kms:ReEncryptTo")
	s.AllowKey(*theirs.Arn, account)
	to, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: theirs.Arn})
	require.NoError(t, err)
	require.Equal(t, *theirs.Arn, *to.KeyId)
	require.Equal(t, *mine.Arn, *to.SourceKeyId)

	// Back from their key, by a third account allowed on their key only.
	third := s.Client(west, "999988887777")
	thirdKey := createKey(t, third, nil)
	_, err = third.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: to.CiphertextBlob, DestinationKeyId: thirdKey.KeyId})
	requireDenied(t, err, "kms:ReEncryptFrom")
	s.AllowKey(*theirs.Arn, "999988887777")
	back, err := third.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: to.CiphertextBlob, DestinationKeyId: thirdKey.KeyId})
	require.NoError(t, err)
	dec, err := third.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: back.CiphertextBlob})
	require.NoError(t, err)
	require.Equal(t, []byte("x"), dec.Plaintext)
}

func TestCrossAccountMultiRegionKey(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	owner := s.Client(east, other)
	p := createKey(t, owner, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	rep, err := owner.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String(west)})
	require.NoError(t, err)
	gdk, err := owner.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: p.KeyId, KeySpec: types.DataKeySpecAes256})
	require.NoError(t, err)

	// A key ARN allows one replica; the key id allows them all.
	s.AllowKey(*p.Arn, account)
	_, err = s.Client(east, account).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob})
	require.NoError(t, err)
	_, err = s.Client(west, account).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob})
	requireDenied(t, err, "kms:Decrypt")
	require.ErrorContains(t, err, *rep.ReplicaKeyMetadata.Arn)
	s.AllowKey(*p.KeyId, account)
	dec, err := s.Client(west, account).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob})
	require.NoError(t, err)
	require.Equal(t, *rep.ReplicaKeyMetadata.Arn, *dec.KeyId)

	_, err = s.Client(east, account).ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.Arn, ReplicaRegion: aws.String("eu-west-1")})
	requireDenied(t, err, "kms:ReplicateKey")
}
