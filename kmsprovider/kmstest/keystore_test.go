package kmstest

import (
	"context"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/require"
)

// branchKeyContexts returns the KMS encryption contexts of one branch key
// version as the branch key store builds them: DECRYPT_ONLY, ACTIVE and
// the beacon key's.
func branchKeyContexts(kmsARN string) (decryptOnly, active, beacon map[string]string) {
	decryptOnly = map[string]string{
		"branch-key-id":        "1b7f5c2e-7a44-4e4f-9a3e-2c1d0e9f8a7b",
		"type":                 "branch:version:5d2f8c1a-3b4e-4f6a-8c9d-0e1f2a3b4c5d",
		"create-time":          "2026-01-01T00:00:00.000000Z",
		"tablename":            "KeyStoreTable",
		"kms-arn":              kmsARN,
		"hierarchy-version":    "1",
		"aws-crypto-ec:tenant": "acme",
	}
	active = maps.Clone(decryptOnly)
	active["type"] = "branch:ACTIVE"
	active["version"] = decryptOnly["type"]
	beacon = maps.Clone(decryptOnly)
	beacon["type"] = "beacon:ACTIVE"
	return decryptOnly, active, beacon
}

// TestBranchKeyStoreCalls makes the KMS calls of the branch key store's
// CreateKey, VersionKey, GetActiveBranchKey and GetBranchKeyVersion, with
// the encryption contexts and key ids the specification gives them.
func TestBranchKeyStoreCalls(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	md := createKey(t, c, nil)
	arn := md.Arn
	grants := []string{"grant-token-1", "grant-token-2"}
	decryptOnly, active, beacon := branchKeyContexts(*arn)

	// Wrapped branch key creation: GenerateDataKeyWithoutPlaintext under
	// the DECRYPT_ONLY context, then ReEncrypt to the ACTIVE context.
	gdk, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
		KeyId: arn, NumberOfBytes: aws.Int32(32), EncryptionContext: decryptOnly, GrantTokens: grants,
	})
	require.NoError(t, err)
	require.Equal(t, *arn, *gdk.KeyId)
	re, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob: gdk.CiphertextBlob, SourceEncryptionContext: decryptOnly, SourceKeyId: arn,
		DestinationKeyId: arn, DestinationEncryptionContext: active, GrantTokens: grants,
	})
	require.NoError(t, err)
	require.Equal(t, *arn, *re.SourceKeyId)
	require.Equal(t, *arn, *re.KeyId)
	bk, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
		KeyId: arn, NumberOfBytes: aws.Int32(32), EncryptionContext: beacon, GrantTokens: grants,
	})
	require.NoError(t, err)

	// Branch key decryption: Decrypt with the configured key, the item's
	// context and the grant tokens. ACTIVE is a copy of its version.
	decrypt := func(blob []byte, ec map[string]string, keyID *string) ([]byte, error) {
		out, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec, KeyId: keyID, GrantTokens: grants})
		if err != nil {
			return nil, err
		}
		require.Equal(t, *arn, *out.KeyId)
		return out.Plaintext, nil
	}
	version, err := decrypt(gdk.CiphertextBlob, decryptOnly, arn)
	require.NoError(t, err)
	require.Len(t, version, 32)
	activeKey, err := decrypt(re.CiphertextBlob, active, arn)
	require.NoError(t, err)
	require.Equal(t, version, activeKey)
	beaconKey, err := decrypt(bk.CiphertextBlob, beacon, arn)
	require.NoError(t, err)
	require.NotEqual(t, version, beaconKey)

	// Authenticating an item (VersionKey): ReEncrypt from and to its own
	// context.
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob: re.CiphertextBlob, SourceEncryptionContext: active, SourceKeyId: arn,
		DestinationKeyId: arn, DestinationEncryptionContext: active, GrantTokens: grants,
	})
	require.NoError(t, err)

	// The context is bound exactly: another item's, one attribute more,
	// one less, or one changed does not decrypt.
	var ic *types.InvalidCiphertextException
	missing := maps.Clone(active)
	delete(missing, "aws-crypto-ec:tenant")
	extra := maps.Clone(active)
	extra["enc"] = "x"
	changed := maps.Clone(active)
	changed["version"] = "branch:version:00000000-0000-4000-8000-000000000000"
	for name, ec := range map[string]map[string]string{"DECRYPT_ONLY": decryptOnly, "beacon": beacon, "missing": missing, "extra": extra, "changed": changed, "none": nil} {
		_, err = decrypt(re.CiphertextBlob, ec, arn)
		require.ErrorAs(t, err, &ic, name)
		_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: re.CiphertextBlob, SourceEncryptionContext: ec, SourceKeyId: arn, DestinationKeyId: arn, DestinationEncryptionContext: active})
		require.ErrorAs(t, err, &ic, name)
	}

	// Another key named: IncorrectKeyException, for Decrypt and ReEncrypt.
	other := createKey(t, c, nil)
	var ik *types.IncorrectKeyException
	_, err = decrypt(re.CiphertextBlob, active, other.Arn)
	require.ErrorAs(t, err, &ik)
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: re.CiphertextBlob, SourceEncryptionContext: active, SourceKeyId: other.Arn, DestinationKeyId: arn, DestinationEncryptionContext: active})
	require.ErrorAs(t, err, &ik)
	// Into another key: it decrypts there only.
	moved, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: re.CiphertextBlob, SourceEncryptionContext: active, SourceKeyId: arn, DestinationKeyId: other.Arn, DestinationEncryptionContext: active})
	require.NoError(t, err)
	require.Equal(t, *other.Arn, *moved.KeyId)
	_, err = decrypt(moved.CiphertextBlob, active, arn)
	require.ErrorAs(t, err, &ik)

	// A key ARN of another region does not resolve; DestinationKeyId is
	// required.
	var nf *types.NotFoundException
	elsewhere := aws.String("arn:aws:kms:us-east-1:" + account + ":key/" + *md.KeyId)
	_, err = c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: elsewhere, NumberOfBytes: aws.Int32(32), EncryptionContext: decryptOnly})
	require.ErrorAs(t, err, &nf)
	_, err = decrypt(re.CiphertextBlob, active, elsewhere)
	require.ErrorAs(t, err, &nf)
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: gdk.CiphertextBlob, SourceEncryptionContext: decryptOnly, SourceKeyId: arn, DestinationKeyId: elsewhere, DestinationEncryptionContext: active})
	require.ErrorAs(t, err, &nf)
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: gdk.CiphertextBlob, SourceEncryptionContext: decryptOnly, SourceKeyId: arn, DestinationKeyId: aws.String(""), DestinationEncryptionContext: active})
	requireCode(t, err, "ValidationException")
	require.ErrorContains(t, err, "destinationKeyId")

	var dry *types.DryRunOperationException
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: gdk.CiphertextBlob, SourceEncryptionContext: decryptOnly, SourceKeyId: arn, DestinationKeyId: arn, DestinationEncryptionContext: active, DryRun: aws.Bool(true)})
	require.ErrorAs(t, err, &dry)
	_, err = c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: arn, NumberOfBytes: aws.Int32(32), EncryptionContext: decryptOnly, DryRun: aws.Bool(true)})
	require.ErrorAs(t, err, &dry)

	// Key states, for every call the store makes.
	calls := func() []error {
		_, e1 := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: arn, NumberOfBytes: aws.Int32(32), EncryptionContext: decryptOnly})
		_, e2 := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: gdk.CiphertextBlob, SourceEncryptionContext: decryptOnly, SourceKeyId: arn, DestinationKeyId: arn, DestinationEncryptionContext: active})
		_, e3 := decrypt(re.CiphertextBlob, active, arn)
		return []error{e1, e2, e3}
	}
	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: arn})
	require.NoError(t, err)
	for _, err := range calls() {
		var disabled *types.DisabledException
		require.ErrorAs(t, err, &disabled)
	}
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: arn})
	require.NoError(t, err)
	for _, err := range calls() {
		var invalid *types.KMSInvalidStateException
		require.ErrorAs(t, err, &invalid)
	}
	// A disabled destination with a usable source.
	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: other.Arn})
	require.NoError(t, err)
	fresh := createKey(t, c, nil)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: fresh.Arn, Plaintext: make([]byte, 32), EncryptionContext: active})
	require.NoError(t, err)
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: active, SourceKeyId: fresh.Arn, DestinationKeyId: other.Arn, DestinationEncryptionContext: active})
	var disabled *types.DisabledException
	require.ErrorAs(t, err, &disabled)
	require.Equal(t, *other.Arn, s.Calls()[len(s.Calls())-1].KeyID)
}

// TestBranchKeyStoreMultiRegion follows the store's MRK configurations: a
// branch key wrapped by a multi-Region key in one region is decrypted and
// re-encrypted by its replica in another (MRDiscovery rewrites the item's
// kms-arn to its own region).
func TestBranchKeyStoreMultiRegion(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	ce := s.Client(east, account)
	p := createKey(t, ce, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	rep, err := ce.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.Arn, ReplicaRegion: aws.String(west)})
	require.NoError(t, err)
	replica := rep.ReplicaKeyMetadata.Arn
	decryptOnly, active, _ := branchKeyContexts(*p.Arn)
	gdk, err := ce.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: p.Arn, NumberOfBytes: aws.Int32(32), EncryptionContext: decryptOnly})
	require.NoError(t, err)

	cw := s.Client(west, account)
	dec, err := cw.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: decryptOnly, KeyId: replica})
	require.NoError(t, err)
	require.Equal(t, *replica, *dec.KeyId)
	re, err := cw.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: gdk.CiphertextBlob, SourceEncryptionContext: decryptOnly, SourceKeyId: replica, DestinationKeyId: replica, DestinationEncryptionContext: active})
	require.NoError(t, err)
	require.Equal(t, *replica, *re.SourceKeyId)
	back, err := ce.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: active, KeyId: p.Arn})
	require.NoError(t, err)
	require.Equal(t, dec.Plaintext, back.Plaintext)

	// The primary's ARN in the replica's region does not resolve.
	_, err = cw.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: decryptOnly, KeyId: p.Arn})
	var nf *types.NotFoundException
	require.ErrorAs(t, err, &nf)
}

// TestBranchKeyStoreAcrossAccounts is a store whose KMS key belongs to
// another account, as its key policy allows.
func TestBranchKeyStoreAcrossAccounts(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	md := createKey(t, s.Client(west, other), nil)
	c := s.Client(west, "arn:aws:iam::"+account+":role/keystore-admin")
	decryptOnly, active, _ := branchKeyContexts(*md.Arn)

	_, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: md.Arn, NumberOfBytes: aws.Int32(32), EncryptionContext: decryptOnly})
	requireDenied(t, err, "kms:GenerateDataKeyWithoutPlaintext")
	s.AllowKey(*md.Arn, "arn:aws:iam::"+account+":role/keystore-admin")
	gdk, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: md.Arn, NumberOfBytes: aws.Int32(32), EncryptionContext: decryptOnly})
	require.NoError(t, err)
	re, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: gdk.CiphertextBlob, SourceEncryptionContext: decryptOnly, SourceKeyId: md.Arn, DestinationKeyId: md.Arn, DestinationEncryptionContext: active})
	require.NoError(t, err)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: active, KeyId: md.Arn})
	require.NoError(t, err)
	// Another principal of the same account is not allowed.
	_, err = s.Client(west, account).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: active, KeyId: md.Arn})
	requireDenied(t, err, "kms:Decrypt")
}
