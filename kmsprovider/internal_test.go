package kmsprovider

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/require"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/kmsarn"
	"github.com/go-esdk/esdk/keyring"
)

func TestIdentifiers(t *testing.T) {
	for _, c := range []struct {
		id       string
		kind     string
		mrk      bool
		region   string
		resource string
	}{
		{"arn:aws:kms:us-west-2:1:key/k", "a key ARN", false, "us-west-2", "k"},
		{"arn:aws:kms:us-west-2:1:key/mrk-k", "a key ARN", true, "us-west-2", "mrk-k"},
		{"arn:aws:kms:us-west-2:1:alias/mrk-k", "an alias ARN", false, "us-west-2", "mrk-k"},
		{"alias/mrk-k", "an alias name", false, "", "mrk-k"},
		{"mrk-k", "a bare key id", true, "", "mrk-k"},
		{"1234abcd-12ab-34cd-56ef-1234567890ab", "a bare key id", false, "", "1234abcd-12ab-34cd-56ef-1234567890ab"},
	} {
		id, err := parseIdentifier(c.id)
		require.NoError(t, err, c.id)
		require.Equal(t, c.kind, id.kind(), c.id)
		require.Equal(t, c.mrk, id.isMRK(), c.id)
		require.Equal(t, c.region, id.region(), c.id)
		require.Equal(t, c.resource, id.resourceID(), c.id)
	}
	for _, s := range []string{"", "alias/", "key/x", "a:b", "arn:nope"} {
		_, err := parseIdentifier(s)
		require.Error(t, err, "%q", s)
	}
}

// TestMRKMatch matches configured identifiers, ARNs or not, against
// stored key ARNs (internal/kmsarn tests the ARN pairs).
func TestMRKMatch(t *testing.T) {
	const (
		mrkWest  = "arn:aws:kms:us-west-2:111122223333:key/mrk-1"
		mrkEast  = "arn:aws:kms:us-east-1:111122223333:key/mrk-1"
		mrkOther = "arn:aws:kms:us-east-1:444455556666:key/mrk-1"
		mrk2     = "arn:aws:kms:us-east-1:111122223333:key/mrk-2"
		srk      = "arn:aws:kms:us-west-2:111122223333:key/k"
		srkEast  = "arn:aws:kms:us-east-1:111122223333:key/k"
		mrkCN    = "arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1"
	)
	for _, c := range []struct {
		configured, stored string
		want               bool
	}{
		{mrkWest, mrkWest, true},
		{mrkWest, mrkEast, true},
		{mrkWest, mrkOther, false},
		{mrkWest, mrk2, false},
		{mrkWest, mrkCN, false},
		{srk, srk, true},
		{srk, srkEast, false},
		{"mrk-1", mrkWest, false},
		{"arn:aws:kms:us-west-2:111122223333:alias/mrk-1", mrkWest, false},
	} {
		id, err := parseIdentifier(c.configured)
		require.NoError(t, err)
		stored, err := kmsarn.ParseKey(c.stored)
		require.NoError(t, err)
		require.Equal(t, c.want, mrkMatch(id, stored), "%s vs %s", c.configured, c.stored)
	}
}

func TestCheckMRKsUnique(t *testing.T) {
	parse := func(ss ...string) []identifier {
		var out []identifier
		for _, s := range ss {
			id, err := parseIdentifier(s)
			require.NoError(t, err)
			out = append(out, id)
		}
		return out
	}
	require.NoError(t, checkMRKsUnique(parse("arn:aws:kms:us-west-2:1:key/k", "arn:aws:kms:us-east-1:1:key/k", "alias/mrk-1", "mrk-2")))
	err := checkMRKsUnique(parse("arn:aws:kms:us-west-2:1:key/mrk-1", "mrk-2", "mrk-1", "arn:aws:kms:us-east-1:1:key/mrk-2", "alias/mrk-1"))
	require.ErrorContains(t, err, "arn:aws:kms:us-west-2:1:key/mrk-1, mrk-1; mrk-2, arn:aws:kms:us-east-1:1:key/mrk-2")
	require.NotContains(t, err.Error(), "alias")
}

// fakeKMS answers with whatever its functions say and records requests.
type fakeKMS struct {
	generate func(*kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error)
	encrypt  func(*kms.EncryptInput) (*kms.EncryptOutput, error)
	decrypt  func(*kms.DecryptInput) (*kms.DecryptOutput, error)
	ctxs     []context.Context
}

func (f *fakeKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	f.ctxs = append(f.ctxs, ctx)
	return f.generate(in)
}

func (f *fakeKMS) Encrypt(ctx context.Context, in *kms.EncryptInput, _ ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	f.ctxs = append(f.ctxs, ctx)
	return f.encrypt(in)
}

func (f *fakeKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.ctxs = append(f.ctxs, ctx)
	return f.decrypt(in)
}

const fakeARN = "arn:aws:kms:us-west-2:111122223333:key/k"

type ctxKey struct{}

func TestKeyringRequestsAndAnswerChecks(t *testing.T) {
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ec := map[string]string{"a": "b"}
	ctx := context.WithValue(context.Background(), ctxKey{}, "caller")
	var generated *kms.GenerateDataKeyInput
	answer := &kms.GenerateDataKeyOutput{KeyId: aws.String(fakeARN), Plaintext: make([]byte, 32), CiphertextBlob: []byte("blob")}
	f := &fakeKMS{generate: func(in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		generated = in
		out := *answer
		out.Plaintext = append([]byte(nil), answer.Plaintext...)
		return &out, nil
	}}
	kr, err := NewKeyring(KeyringOptions{Client: f, KeyID: "alias/x", GrantTokens: []string{"g"}})
	require.NoError(t, err)

	m := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
	require.NoError(t, kr.OnEncrypt(ctx, m))
	require.Equal(t, "alias/x", aws.ToString(generated.KeyId))
	require.Equal(t, int32(32), aws.ToInt32(generated.NumberOfBytes))
	require.Equal(t, ec, generated.EncryptionContext)
	require.Equal(t, []string{"g"}, generated.GrantTokens)
	require.Equal(t, "caller", f.ctxs[0].Value(ctxKey{}), "the caller's context reaches the client")
	require.Equal(t, []format.EncryptedDataKey{{ProviderID: "aws-kms", ProviderInfo: []byte(fakeARN), Ciphertext: []byte("blob")}}, m.EncryptedDataKeys)

	for name, bad := range map[string]*kms.GenerateDataKeyOutput{
		"short data key":   {KeyId: aws.String(fakeARN), Plaintext: make([]byte, 16), CiphertextBlob: []byte("blob")},
		"no key id":        {Plaintext: make([]byte, 32), CiphertextBlob: []byte("blob")},
		"alias key id":     {KeyId: aws.String("arn:aws:kms:us-west-2:111122223333:alias/x"), Plaintext: make([]byte, 32)},
		"bare key id":      {KeyId: aws.String("k"), Plaintext: make([]byte, 32)},
		"malformed key id": {KeyId: aws.String("arn:aws:kms:us-west-2:key/k"), Plaintext: make([]byte, 32)},
	} {
		answer = bad
		m := &keyring.EncryptionMaterials{Suite: suite}
		require.Error(t, kr.OnEncrypt(ctx, m), name)
		require.Nil(t, m.PlaintextDataKey, name)
		require.Empty(t, m.EncryptedDataKeys, name)
	}

	f.encrypt = func(in *kms.EncryptInput) (*kms.EncryptOutput, error) {
		require.Equal(t, "alias/x", aws.ToString(in.KeyId))
		require.Len(t, in.Plaintext, 32)
		require.Equal(t, []string{"g"}, in.GrantTokens)
		return &kms.EncryptOutput{KeyId: aws.String("k"), CiphertextBlob: []byte("blob")}, nil
	}
	m = &keyring.EncryptionMaterials{Suite: suite, PlaintextDataKey: make([]byte, 32)}
	require.ErrorContains(t, kr.OnEncrypt(ctx, m), "Encrypt answered with KeyId")
	require.Empty(t, m.EncryptedDataKeys)
	m.PlaintextDataKey = make([]byte, 31)
	require.Error(t, kr.OnEncrypt(ctx, m), "a data key of the wrong length is not sent")
}

func TestDecryptAnswerChecks(t *testing.T) {
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	edks := []format.EncryptedDataKey{
		{ProviderID: "aws-kms", ProviderInfo: []byte(fakeARN), Ciphertext: []byte("0")},
		{ProviderID: "aws-kms", ProviderInfo: []byte(fakeARN), Ciphertext: []byte("1")},
		{ProviderID: "aws-kms", ProviderInfo: []byte(fakeARN), Ciphertext: []byte("2")},
	}
	var requests []*kms.DecryptInput
	f := &fakeKMS{decrypt: func(in *kms.DecryptInput) (*kms.DecryptOutput, error) {
		requests = append(requests, in)
		switch string(in.CiphertextBlob) {
		case "0":
			return &kms.DecryptOutput{KeyId: aws.String("arn:aws:kms:us-west-2:111122223333:key/other"), Plaintext: make([]byte, 32)}, nil
		case "1":
			return &kms.DecryptOutput{KeyId: in.KeyId, Plaintext: make([]byte, 16)}, nil
		}
		return &kms.DecryptOutput{KeyId: in.KeyId, Plaintext: []byte("0123456789abcdef0123456789abcdef")}, nil
	}}
	kr, err := NewKeyring(KeyringOptions{Client: f, KeyID: fakeARN, GrantTokens: []string{"g"}})
	require.NoError(t, err)
	disc, err := NewDiscoveryKeyring(DiscoveryKeyringOptions{Client: f})
	require.NoError(t, err)
	for _, k := range []keyring.Keyring{disc, kr} { // kr last: its requests are checked below
		requests = nil
		d := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: map[string]string{"a": "b"}}
		require.NoError(t, k.OnDecrypt(context.Background(), d, edks))
		require.Equal(t, "0123456789abcdef0123456789abcdef", string(d.PlaintextDataKey))
		require.Len(t, requests, 3, "a bad answer is collected and the next key tried")
		require.Equal(t, fakeARN, aws.ToString(requests[2].KeyId))
		require.Equal(t, map[string]string{"a": "b"}, requests[2].EncryptionContext)

		d = &keyring.DecryptionMaterials{Suite: suite}
		err := k.OnDecrypt(context.Background(), d, edks[:2])
		require.ErrorIs(t, err, keyring.ErrNoMatchingKey)
		require.ErrorContains(t, err, "not the \""+fakeARN+"\" asked for")
		require.ErrorContains(t, err, "16-byte data key")
		require.Nil(t, d.PlaintextDataKey)
	}
	require.Equal(t, []string{"g"}, requests[0].GrantTokens)

	// Every KMS error is kept, in order, reachable with errors.Is.
	errA, errB := errors.New("first"), errors.New("second")
	f.decrypt = func(in *kms.DecryptInput) (*kms.DecryptOutput, error) {
		if string(in.CiphertextBlob) == "0" {
			return nil, errA
		}
		return nil, errB
	}
	err = kr.OnDecrypt(context.Background(), &keyring.DecryptionMaterials{Suite: suite}, edks[:2])
	require.ErrorIs(t, err, errA)
	require.ErrorIs(t, err, errB)
	var nm *keyring.NoMatchingKeyError
	require.ErrorAs(t, err, &nm)
	require.Len(t, nm.Causes, 2)
}

// TestOptionFunctions checks that the functions after the options adjust
// a copy of them, in order, and that a keyring keeps its own copy of the
// grant tokens.
func TestOptionFunctions(t *testing.T) {
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	var got []string
	f := &fakeKMS{generate: func(in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		got = in.GrantTokens
		return &kms.GenerateDataKeyOutput{KeyId: aws.String(fakeARN), Plaintext: make([]byte, 32), CiphertextBlob: []byte("blob")}, nil
	}}
	tokens := []string{"a"}
	o := KeyringOptions{Client: f, KeyID: "alias/first", GrantTokens: tokens}
	kr, err := NewKeyring(o,
		func(o *KeyringOptions) { o.KeyID = fakeARN },
		func(o *KeyringOptions) { o.GrantTokens = append(o.GrantTokens, "b") },
	)
	require.NoError(t, err)
	require.Equal(t, "alias/first", o.KeyID, "the caller's options are not changed")
	require.Equal(t, fakeARN, kr.KeyID())
	tokens[0] = "changed"
	require.NoError(t, kr.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite}))
	require.Equal(t, []string{"a", "b"}, got)

	// No grant tokens: the request carries none.
	kr, err = NewKeyring(KeyringOptions{Client: f, KeyID: fakeARN, GrantTokens: []string{}})
	require.NoError(t, err)
	require.NoError(t, kr.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite}))
	require.Nil(t, got)

	disc, err := NewMRKDiscoveryKeyring(DiscoveryKeyringOptions{Client: f}, func(o *DiscoveryKeyringOptions) { o.Region = "eu-west-1" })
	require.NoError(t, err)
	require.Equal(t, "eu-west-1", disc.region)
}

type getPublicKeyFunc func(*kms.GetPublicKeyInput) (*kms.GetPublicKeyOutput, error)

func (f getPublicKeyFunc) GetPublicKey(_ context.Context, in *kms.GetPublicKeyInput, _ ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	return f(in)
}

func TestFetchPublicKeyOptions(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	var got *kms.GetPublicKeyInput
	f := getPublicKeyFunc(func(in *kms.GetPublicKeyInput) (*kms.GetPublicKeyOutput, error) {
		got = in
		return &kms.GetPublicKeyOutput{KeyUsage: types.KeyUsageTypeEncryptDecrypt, PublicKey: der}, nil
	})
	pemData, err := FetchPublicKey(context.Background(), f, fakeARN, func(o *FetchPublicKeyOptions) { o.GrantTokens = []string{"g"} })
	require.NoError(t, err)
	require.Equal(t, []string{"g"}, got.GrantTokens)
	require.Equal(t, fakeARN, aws.ToString(got.KeyId))
	pub, err := parseRSAPublicKey(pemData)
	require.NoError(t, err)
	require.True(t, pub.Equal(&priv.PublicKey))

	_, err = FetchPublicKey(context.Background(), f, fakeARN)
	require.NoError(t, err)
	require.Nil(t, got.GrantTokens)
}
