package kmstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/require"
)

func TestMultiRegionKey(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	ce := s.Client(east, account)
	cw := s.Client(west, account)

	p := createKey(t, ce, &kms.CreateKeyInput{MultiRegion: aws.Bool(true), Description: aws.String("mrk")})
	require.Regexp(t, `^mrk-[0-9a-f]{32}$`, *p.KeyId)
	require.True(t, *p.MultiRegion)
	require.Equal(t, types.MultiRegionKeyTypePrimary, p.MultiRegionConfiguration.MultiRegionKeyType)
	require.Equal(t, *p.Arn, *p.MultiRegionConfiguration.PrimaryKey.Arn)
	require.Empty(t, p.MultiRegionConfiguration.ReplicaKeys)

	rep, err := ce.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String(west)})
	require.NoError(t, err)
	r := rep.ReplicaKeyMetadata
	require.Equal(t, *p.KeyId, *r.KeyId)
	require.Equal(t, "arn:aws:kms:us-west-2:123456789012:key/"+*p.KeyId, *r.Arn)
	require.Equal(t, types.MultiRegionKeyTypeReplica, r.MultiRegionConfiguration.MultiRegionKeyType)
	require.Equal(t, *p.Arn, *r.MultiRegionConfiguration.PrimaryKey.Arn)
	require.Equal(t, east, *r.MultiRegionConfiguration.PrimaryKey.Region)
	require.Equal(t, "mrk", *r.Description)

	d, err := ce.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: p.KeyId})
	require.NoError(t, err)
	require.Len(t, d.KeyMetadata.MultiRegionConfiguration.ReplicaKeys, 1)
	require.Equal(t, *r.Arn, *d.KeyMetadata.MultiRegionConfiguration.ReplicaKeys[0].Arn)

	// Encrypted in one region, decrypted by the replica in the other, with
	// and without KeyId; the response names the replica that decrypted.
	ec := map[string]string{"k": "v"}
	gdk, err := ce.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: p.Arn, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	require.NoError(t, err)
	for _, keyID := range []*string{nil, r.Arn, r.KeyId} {
		dec, err := cw.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: ec, KeyId: keyID})
		require.NoError(t, err)
		require.Equal(t, gdk.Plaintext, dec.Plaintext)
		require.Equal(t, *r.Arn, *dec.KeyId)
	}
	enc, err := cw.Encrypt(ctx, &kms.EncryptInput{KeyId: r.KeyId, Plaintext: []byte("back"), EncryptionContext: ec})
	require.NoError(t, err)
	dec, err := ce.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, KeyId: p.Arn})
	require.NoError(t, err)
	require.Equal(t, []byte("back"), dec.Plaintext)
	require.Equal(t, *p.Arn, *dec.KeyId)
	// Still bound to the encryption context across regions.
	_, err = cw.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob})
	var ic *types.InvalidCiphertextException
	require.ErrorAs(t, err, &ic)

	// Key state is per region.
	_, err = cw.DisableKey(ctx, &kms.DisableKeyInput{KeyId: r.KeyId})
	require.NoError(t, err)
	_, err = cw.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: ec})
	var disabled *types.DisabledException
	require.ErrorAs(t, err, &disabled)
	_, err = ce.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: ec})
	require.NoError(t, err)

	// A region without a replica does not have the key.
	_, err = s.Client("eu-west-1", account).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: ec})
	var nf *types.NotFoundException
	require.ErrorAs(t, err, &nf)

	// The replica's ARN is only usable in its region.
	_, err = ce.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: ec, KeyId: r.Arn})
	require.ErrorAs(t, err, &nf)

	// Another MRK's replica in the same region is another key.
	p2 := createKey(t, ce, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	_, err = ce.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: ec, KeyId: p2.Arn})
	var ik *types.IncorrectKeyException
	require.ErrorAs(t, err, &ik)

	// Deleting a primary with replicas waits for them.
	sched, err := ce.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: p.KeyId})
	require.NoError(t, err)
	require.Equal(t, types.KeyStatePendingReplicaDeletion, sched.KeyState)
	var invalid *types.KMSInvalidStateException
	_, err = ce.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: ec})
	require.ErrorAs(t, err, &invalid)
}

func TestReplicateKeyErrors(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	ce := s.Client(east, account)
	single := createKey(t, ce, nil)
	p := createKey(t, ce, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	_, err := ce.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String(west)})
	require.NoError(t, err)

	var unsupported *types.UnsupportedOperationException
	_, err = ce.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: single.KeyId, ReplicaRegion: aws.String(west)})
	require.ErrorAs(t, err, &unsupported)
	_, err = s.Client(west, account).ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("eu-west-1")})
	require.ErrorAs(t, err, &unsupported, "a replica is not replicated")

	var exists *types.AlreadyExistsException
	_, err = ce.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String(west)})
	require.ErrorAs(t, err, &exists)

	_, err = ce.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String(east)})
	requireCode(t, err, "ValidationException")
	_, err = ce.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("cn-north-1")})
	requireCode(t, err, "ValidationException")

	var nf *types.NotFoundException
	_, err = ce.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: aws.String("mrk-00000000000000000000000000000000"), ReplicaRegion: aws.String(west)})
	require.ErrorAs(t, err, &nf)
}

func TestMultiRegionRSAKey(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	ce := s.Client(east, account)
	p := createKey(t, ce, &kms.CreateKeyInput{MultiRegion: aws.Bool(true), KeySpec: types.KeySpecRsa2048})
	rep, err := ce.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.Arn, ReplicaRegion: aws.String(west)})
	require.NoError(t, err)
	oaep := types.EncryptionAlgorithmSpecRsaesOaepSha1
	enc, err := ce.Encrypt(ctx, &kms.EncryptInput{KeyId: p.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: oaep})
	require.NoError(t, err)
	dec, err := s.Client(west, account).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: rep.ReplicaKeyMetadata.Arn, EncryptionAlgorithm: oaep})
	require.NoError(t, err)
	require.Equal(t, []byte("x"), dec.Plaintext)
	pe, err := ce.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: p.KeyId})
	require.NoError(t, err)
	pw, err := s.Client(west, account).GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: p.KeyId})
	require.NoError(t, err)
	require.Equal(t, pe.PublicKey, pw.PublicKey)
}
