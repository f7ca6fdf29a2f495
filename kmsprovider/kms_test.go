package kmsprovider_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

const (
	account      = "111122223333"
	otherAccount = "444455556666"
	region       = "us-west-2"
	otherRegion  = "eu-central-1"
)

var testContext = map[string]string{"tenant": "acme", "purpose": "kms test"}

func newServer(t testing.TB) *kmstest.Server {
	t.Helper()
	srv := kmstest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// createKey makes a key and returns its ARN.
func createKey(t testing.TB, c *kms.Client, in *kms.CreateKeyInput) string {
	t.Helper()
	if in == nil {
		in = &kms.CreateKeyInput{}
	}
	out, err := c.CreateKey(context.Background(), in)
	require.NoError(t, err)
	return aws.ToString(out.KeyMetadata.Arn)
}

func encMaterials(id format.SuiteID, ec map[string]string) *keyring.EncryptionMaterials {
	return &keyring.EncryptionMaterials{Suite: format.MustSuite(id), EncryptionContext: ec}
}

func decMaterials(m *keyring.EncryptionMaterials) *keyring.DecryptionMaterials {
	return &keyring.DecryptionMaterials{Suite: m.Suite, EncryptionContext: m.EncryptionContext}
}

// wrap runs kr.OnEncrypt on fresh 0x0478 materials and returns them.
func wrap(t *testing.T, kr keyring.Keyring) *keyring.EncryptionMaterials {
	t.Helper()
	m := encMaterials(format.AES256GCMHKDFSHA512CommitKey, testContext)
	require.NoError(t, kr.OnEncrypt(context.Background(), m))
	return m
}

// unwrap runs kr.OnDecrypt over m's encrypted data keys and checks the
// data key when it succeeds.
func unwrap(t *testing.T, kr keyring.Keyring, m *keyring.EncryptionMaterials) error {
	t.Helper()
	d := decMaterials(m)
	err := kr.OnDecrypt(context.Background(), d, m.EncryptedDataKeys)
	if err == nil {
		require.Equal(t, m.PlaintextDataKey, d.PlaintextDataKey)
	} else {
		require.Nil(t, d.PlaintextDataKey, "a failed OnDecrypt set the data key")
	}
	return err
}

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestKeyringRoundTripThroughEnvelope(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	keyARN := createKey(t, c, nil)
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: keyARN})
	require.NoError(t, err)
	mm := mustManager(t, kr)
	ctx := context.Background()

	for _, id := range []format.SuiteID{
		format.AES256GCMHKDFSHA512CommitKey,
		format.AES256GCMHKDFSHA512CommitKeyECDSAP384,
		format.AES128GCMIV12Tag16NoKDF,
		format.AES192GCMIV12Tag16HKDFSHA256,
	} {
		t.Run(fmt.Sprintf("0x%04X", uint16(id)), func(t *testing.T) {
			suite := format.MustSuite(id)
			policy := envelope.RequireEncryptRequireDecrypt
			if !suite.Committing() {
				policy = envelope.ForbidEncryptAllowDecrypt
			}
			client, err := envelope.New(func(o *envelope.Options) { o.Suite = id; o.CommitmentPolicy = policy })
			require.NoError(t, err)
			srv.ResetCalls()
			plaintext := []byte("sealed by a key that never leaves KMS")
			msg, err := client.EncryptBytes(ctx, plaintext, mm, testContext)
			require.NoError(t, err)
			require.Equal(t, 1, srv.Count("GenerateDataKey"))

			pt, h, err := client.DecryptBytes(ctx, msg, mm, nil)
			require.NoError(t, err)
			require.Equal(t, plaintext, pt)
			require.Len(t, h.EncryptedDataKeys, 1)
			e := h.EncryptedDataKeys[0]
			require.Equal(t, "aws-kms", e.ProviderID)
			require.Equal(t, keyARN, string(e.ProviderInfo))
			require.NotEmpty(t, e.Ciphertext)
			calls := srv.Calls()
			require.Len(t, calls, 2)
			require.Equal(t, "Decrypt", calls[1].Operation)
			require.Equal(t, keyARN, calls[1].KeyID)
		})
	}
}

// The data key's ciphertext is the KMS blob itself: KMS decrypts it alone,
// bound to the encryption context.
func TestEncryptedDataKeyIsTheKMSCiphertextBlob(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	keyARN := createKey(t, c, nil)
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: keyARN})
	require.NoError(t, err)
	m := wrap(t, kr)
	require.Len(t, m.PlaintextDataKey, 32)
	out, err := c.Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: m.EncryptedDataKeys[0].Ciphertext, EncryptionContext: testContext})
	require.NoError(t, err)
	require.Equal(t, m.PlaintextDataKey, out.Plaintext)
	require.Equal(t, keyARN, aws.ToString(out.KeyId))
}

func TestKeyringAsChildCallsEncrypt(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	a, b := createKey(t, c, nil), createKey(t, c, nil)
	ka, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: a})
	require.NoError(t, err)
	kb, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: b})
	require.NoError(t, err)
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: ka, Children: []keyring.Keyring{kb}})
	require.NoError(t, err)
	m := wrap(t, multi)
	require.Equal(t, 1, srv.Count("GenerateDataKey"))
	require.Equal(t, 1, srv.Count("Encrypt"))
	require.Len(t, m.EncryptedDataKeys, 2)
	require.Equal(t, b, string(m.EncryptedDataKeys[1].ProviderInfo))
	require.NoError(t, unwrap(t, ka, m))
	require.NoError(t, unwrap(t, kb, m))
}

func TestKeyringGrantTokensAndContextReachKMS(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	keyARN := createKey(t, c, nil)
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: keyARN, GrantTokens: []string{"grant-1"}})
	require.NoError(t, err)
	m := wrap(t, kr)
	// The blob is bound to the context: decrypting under another fails
	// with KMS's own error, reachable with errors.As.
	d := decMaterials(m)
	d.EncryptionContext = map[string]string{"tenant": "someone else"}
	err = kr.OnDecrypt(context.Background(), d, m.EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrNoMatchingKey)
	var invalid *types.InvalidCiphertextException
	require.ErrorAs(t, err, &invalid)
	require.NoError(t, unwrap(t, kr, m))
}

func TestKeyringNotKeyARNCannotDecrypt(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	keyARN := createKey(t, c, nil)
	keyID := keyARN[strings.LastIndex(keyARN, "/")+1:]
	_, err := c.CreateAlias(context.Background(), &kms.CreateAliasInput{AliasName: aws.String("alias/orders"), TargetKeyId: aws.String(keyID)})
	require.NoError(t, err)

	for _, id := range []string{
		"alias/orders",
		"arn:aws:kms:" + region + ":" + account + ":alias/orders",
		keyID,
	} {
		t.Run(id, func(t *testing.T) {
			kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: id})
			require.NoError(t, err)
			m := wrap(t, kr) // encrypting works with any identifier
			require.Equal(t, keyARN, string(m.EncryptedDataKeys[0].ProviderInfo), "provider info is the key ARN KMS answered with")

			srv.ResetCalls()
			err = unwrap(t, kr, m)
			t.Log(err)
			require.ErrorIs(t, err, kmsprovider.ErrCannotMatchKeyARN)
			require.NotErrorIs(t, err, keyring.ErrNoMatchingKey)
			require.ErrorContains(t, err, id)
			require.ErrorContains(t, err, keyARN, "the error names the key ARN to configure")
			require.Zero(t, srv.Count(""), "no KMS call")

			mrk, err := kmsprovider.NewMRKKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: id})
			require.NoError(t, err)
			require.ErrorIs(t, unwrap(t, mrk, m), kmsprovider.ErrCannotMatchKeyARN)

			// The key ARN decrypts.
			byARN, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: keyARN})
			require.NoError(t, err)
			require.NoError(t, unwrap(t, byARN, m))
		})
	}
}

func TestKeyringSkipsOtherKeys(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	a, b := createKey(t, c, nil), createKey(t, c, nil)
	ka, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: a})
	require.NoError(t, err)
	kb, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: b})
	require.NoError(t, err)
	m := wrap(t, ka)
	srv.ResetCalls()
	err = unwrap(t, kb, m)
	var nm *keyring.NoMatchingKeyError
	require.ErrorAs(t, err, &nm)
	require.ErrorContains(t, err, a, "the error names the message's keys")
	require.Zero(t, srv.Count("Decrypt"), "a key of another ARN is never sent to KMS")

	// Encrypted data keys of other providers are skipped too.
	raw, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "name", WrappingKey: make([]byte, 32)})
	require.NoError(t, err)
	require.ErrorIs(t, unwrap(t, raw, m), keyring.ErrNoMatchingKey)
	m2 := wrap(t, raw)
	require.ErrorIs(t, unwrap(t, ka, m2), keyring.ErrNoMatchingKey)
}

func TestKeyringMalformedProviderInfoFails(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	keyARN := createKey(t, c, nil)
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: keyARN})
	require.NoError(t, err)
	m := wrap(t, kr)
	good := m.EncryptedDataKeys[0]
	for _, info := range []string{"", "not an arn", "arn:aws:kms:us-west-2:111122223333:alias/x", "arn:aws:s3:us-west-2:111122223333:key/x"} {
		m.EncryptedDataKeys = []format.EncryptedDataKey{{ProviderID: "aws-kms", ProviderInfo: []byte(info), Ciphertext: good.Ciphertext}, good}
		err := unwrap(t, kr, m)
		require.ErrorIs(t, err, keyring.ErrNoMatchingKey)
		require.ErrorContains(t, err, "not a key ARN", info)
	}
}

func TestKeyringDataKeyAlreadySet(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	keyARN := createKey(t, c, nil)
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: keyARN})
	require.NoError(t, err)
	disc, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: c})
	require.NoError(t, err)
	m := wrap(t, kr)
	for _, k := range []keyring.Keyring{kr, disc} {
		d := decMaterials(m)
		d.PlaintextDataKey = make([]byte, 32)
		require.ErrorIs(t, k.OnDecrypt(context.Background(), d, m.EncryptedDataKeys), keyring.ErrDataKeyAlreadySet)
	}
}

func TestKMSErrorsAreReachable(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	ctx := context.Background()
	keyARN := createKey(t, c, nil)
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: keyARN})
	require.NoError(t, err)
	m := wrap(t, kr)

	t.Run("DisabledException", func(t *testing.T) {
		_, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keyARN)})
		require.NoError(t, err)
		defer c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(keyARN)})
		err = unwrap(t, kr, m)
		t.Log(err)
		requireServiceFailure(t, err)
		var disabled *types.DisabledException
		require.ErrorAs(t, err, &disabled)
		err = kr.OnEncrypt(ctx, encMaterials(format.AES256GCMHKDFSHA512CommitKey, nil))
		require.ErrorAs(t, err, &disabled)
		require.ErrorContains(t, err, "GenerateDataKey")
	})
	t.Run("NotFoundException", func(t *testing.T) {
		missing := "arn:aws:kms:" + region + ":" + account + ":key/00000000-0000-0000-0000-000000000000"
		k, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: missing})
		require.NoError(t, err)
		em := encMaterials(format.AES256GCMHKDFSHA512CommitKey, nil)
		err = k.OnEncrypt(ctx, em)
		var nf *types.NotFoundException
		require.ErrorAs(t, err, &nf)
		require.Nil(t, em.PlaintextDataKey, "materials unchanged on error")
		require.Empty(t, em.EncryptedDataKeys)
		// As an additional keyring: Encrypt fails the same way.
		em.PlaintextDataKey = make([]byte, 32)
		require.ErrorAs(t, k.OnEncrypt(ctx, em), &nf)
		require.Empty(t, em.EncryptedDataKeys)
	})
	t.Run("AccessDeniedException", func(t *testing.T) {
		srv.FailKey(keyARN, "AccessDeniedException")
		defer srv.FailKey(keyARN, "")
		err := unwrap(t, kr, m)
		require.Equal(t, "AccessDeniedException", apiErrorCode(err))
	})
}

// A decryption that fails on every key reports every key's cause.
func TestEveryCauseReported(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	ctx := context.Background()
	a, b := createKey(t, c, nil), createKey(t, c, nil)
	multi, err := kmsprovider.NewMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: kmsprovider.NewRegionalClients(srv.Config(region, account)), Generator: a, KeyIDs: []string{b}})
	require.NoError(t, err)
	m := wrap(t, multi)
	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(a)})
	require.NoError(t, err)
	srv.FailKey(b, "AccessDeniedException")

	disc, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: c})
	require.NoError(t, err)
	for _, kr := range []keyring.Keyring{disc, multi} {
		err = unwrap(t, kr, m)
		requireServiceFailure(t, err)
		var disabled *types.DisabledException
		require.ErrorAs(t, err, &disabled)
		require.Equal(t, "AccessDeniedException", apiErrorCode(errWithCode(err, "AccessDeniedException")))
		require.ErrorContains(t, err, a)
		require.ErrorContains(t, err, b)
	}
}

// requireServiceFailure requires err to say that AWS KMS failed, not that
// the message holds no data key for this keyring: a service failure must
// never read as a tampered message.
func requireServiceFailure(t *testing.T, err error) {
	t.Helper()
	require.NotErrorIs(t, err, keyring.ErrNoMatchingKey)
	var ue *keyring.UnwrapError
	require.ErrorAs(t, err, &ue)
	require.ErrorContains(t, err, "the key provider failed")
}

// errWithCode finds, in err's tree, the API error with the code.
func errWithCode(err error, code string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == code {
		return ae
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if f := errWithCode(e, code); f != nil {
				return f
			}
		}
	case interface{ Unwrap() error }:
		return errWithCode(u.Unwrap(), code)
	}
	return nil
}

func TestThrottledTwiceThenSuccess(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	keyARN := createKey(t, c, nil)
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: keyARN})
	require.NoError(t, err)
	client, err := envelope.New()
	require.NoError(t, err)
	mm := mustManager(t, kr)

	srv.ResetCalls()
	srv.ThrottleNext(2)
	msg, err := client.EncryptBytes(context.Background(), []byte("hello"), mm, testContext)
	require.NoError(t, err)
	calls := srv.Calls()
	require.Len(t, calls, 3, "two throttled calls and the one that succeeded: %+v", calls)
	for i, want := range []string{"ThrottlingException", "ThrottlingException", ""} {
		require.Equal(t, "GenerateDataKey", calls[i].Operation)
		require.Equal(t, want, calls[i].Error)
	}

	srv.ResetCalls()
	srv.ThrottleNext(2)
	pt, _, err := client.DecryptBytes(context.Background(), msg, mm, nil)
	require.NoError(t, err)
	require.Equal(t, "hello", string(pt))
	require.Equal(t, 3, srv.Count("Decrypt"))
}

func TestThrottledPastRetryBudget(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account, func(o *kms.Options) { o.RetryMaxAttempts = 4 })
	keyARN := createKey(t, c, nil)
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: keyARN})
	require.NoError(t, err)

	srv.ResetCalls()
	srv.ThrottleNext(100)
	defer srv.ThrottleNext(0)
	err = kr.OnEncrypt(context.Background(), encMaterials(format.AES256GCMHKDFSHA512CommitKey, nil))
	require.Equal(t, "ThrottlingException", apiErrorCode(err), "%v", err)
	require.Equal(t, 4, srv.Count(""), "the SDK's retryer made every attempt, and nothing else retried")

	m := func() *keyring.EncryptionMaterials {
		srv.ThrottleNext(0)
		defer srv.ThrottleNext(100)
		return wrap(t, kr)
	}()
	srv.ResetCalls()
	err = unwrap(t, kr, m)
	requireServiceFailure(t, err)
	require.Equal(t, "ThrottlingException", apiErrorCode(err))
	require.Equal(t, 4, srv.Count("Decrypt"))
}

func TestContextCancelledDuringSlowCall(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	keyARN := createKey(t, c, nil)
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: keyARN})
	require.NoError(t, err)
	m := wrap(t, kr)
	disc, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: c})
	require.NoError(t, err)

	const latency = time.Minute
	srv.SetLatency(latency)
	defer srv.SetLatency(0)
	ops := map[string]func(ctx context.Context) error{
		"GenerateDataKey": func(ctx context.Context) error {
			return kr.OnEncrypt(ctx, encMaterials(format.AES256GCMHKDFSHA512CommitKey, nil))
		},
		"Decrypt": func(ctx context.Context) error {
			return kr.OnDecrypt(ctx, decMaterials(m), m.EncryptedDataKeys)
		},
		"discovery Decrypt": func(ctx context.Context) error {
			return disc.OnDecrypt(ctx, decMaterials(m), m.EncryptedDataKeys)
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			start := time.Now()
			err := op(ctx)
			require.ErrorIs(t, err, context.Canceled)
			require.NotErrorIs(t, err, keyring.ErrNoMatchingKey, "a cancelled call is not a key that does not match")
			require.Less(t, time.Since(start), latency/2, "returned before the slow call would have ended")
		})
	}
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, kr.OnDecrypt(ctx, decMaterials(m), m.EncryptedDataKeys), context.DeadlineExceeded)
	})
}

func TestMultiKeyringWithDisabledKeyStillDecrypts(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	ctx := context.Background()
	a, b := createKey(t, c, nil), createKey(t, c, nil)
	multi, err := kmsprovider.NewMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: kmsprovider.NewRegionalClients(srv.Config(region, account)), Generator: a, KeyIDs: []string{b}})
	require.NoError(t, err)
	client, err := envelope.New()
	require.NoError(t, err)
	mm := mustManager(t, multi)
	msg, err := client.EncryptBytes(ctx, []byte("two keys"), mm, testContext)
	require.NoError(t, err)

	for _, disabled := range []string{a, b} {
		_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(disabled)})
		require.NoError(t, err)
		pt, h, err := client.DecryptBytes(ctx, msg, mm, nil)
		require.NoError(t, err, "key %s disabled", disabled)
		require.Equal(t, "two keys", string(pt))
		require.Len(t, h.EncryptedDataKeys, 2)
		_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(disabled)})
		require.NoError(t, err)
	}
}

func TestDiscoveryKeyring(t *testing.T) {
	srv := newServer(t)
	mine := srv.Client(region, account)
	theirs := srv.Client(region, otherAccount)
	myKey := createKey(t, mine, nil)
	theirKey := createKey(t, theirs, nil)
	krMine, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: mine, KeyID: myKey})
	require.NoError(t, err)
	krTheirs, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: theirs, KeyID: theirKey})
	require.NoError(t, err)
	mMine, mTheirs := wrap(t, krMine), wrap(t, krTheirs)

	open, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: mine})
	require.NoError(t, err)
	require.NoError(t, unwrap(t, open, mMine))
	// Without a filter, any account's key is called; KMS answers for the
	// other account's key as its key policy says.
	var denied smithy.APIError
	require.ErrorAs(t, unwrap(t, open, mTheirs), &denied)
	require.Equal(t, "AccessDeniedException", denied.ErrorCode())
	srv.AllowKey(theirKey, account)
	require.NoError(t, unwrap(t, open, mTheirs))

	filtered, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: mine, Filter: &kmsprovider.DiscoveryFilter{Partition: "aws", AccountIDs: []string{account}}})
	require.NoError(t, err)
	require.NoError(t, unwrap(t, filtered, mMine))
	srv.ResetCalls()
	err = unwrap(t, filtered, mTheirs)
	require.ErrorIs(t, err, keyring.ErrNoMatchingKey)
	require.ErrorContains(t, err, "account "+otherAccount+" is not in the discovery filter")
	require.Zero(t, srv.Count(""), "the filtered key is never sent to KMS")

	otherPartition, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: mine, Filter: &kmsprovider.DiscoveryFilter{Partition: "aws-cn", AccountIDs: []string{account}}})
	require.NoError(t, err)
	require.ErrorContains(t, unwrap(t, otherPartition, mMine), "partition aws is not")

	err = open.OnEncrypt(context.Background(), encMaterials(format.AES256GCMHKDFSHA512CommitKey, nil))
	require.ErrorIs(t, err, keyring.ErrDecryptOnly)

	for _, f := range []*kmsprovider.DiscoveryFilter{{AccountIDs: []string{account}}, {Partition: "aws"}, {Partition: "aws", AccountIDs: []string{""}}} {
		_, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: mine, Filter: f})
		require.Error(t, err)
	}
	_, err = kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{})
	require.Error(t, err)
}

// newMRK makes a multi-Region key in region with a replica in otherRegion
// and returns both ARNs.
func newMRK(t *testing.T, srv *kmstest.Server) (primary, replica string) {
	t.Helper()
	c := srv.Client(region, account)
	primary = createKey(t, c, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	out, err := c.ReplicateKey(context.Background(), &kms.ReplicateKeyInput{KeyId: aws.String(primary), ReplicaRegion: aws.String(otherRegion)})
	require.NoError(t, err)
	replica = aws.ToString(out.ReplicaKeyMetadata.Arn)
	require.Equal(t, strings.Replace(primary, region, otherRegion, 1), replica)
	return primary, replica
}

func TestMRKReplicaDecryptsInAnotherRegion(t *testing.T) {
	srv := newServer(t)
	primary, replica := newMRK(t, srv)
	here := srv.Client(region, account)
	there := srv.Client(otherRegion, account)

	enc, err := kmsprovider.NewMRKKeyring(kmsprovider.KeyringOptions{Client: here, KeyID: primary})
	require.NoError(t, err)
	m := wrap(t, enc)
	require.Equal(t, primary, string(m.EncryptedDataKeys[0].ProviderInfo))

	t.Run("MRK keyring", func(t *testing.T) {
		kr, err := kmsprovider.NewMRKKeyring(kmsprovider.KeyringOptions{Client: there, KeyID: replica})
		require.NoError(t, err)
		srv.ResetCalls()
		require.NoError(t, unwrap(t, kr, m))
		calls := srv.Calls()
		require.Len(t, calls, 1)
		require.Equal(t, otherRegion, calls[0].Region)
		require.Equal(t, replica, calls[0].KeyID)
	})
	t.Run("strict keyring does not match a replica", func(t *testing.T) {
		kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: there, KeyID: replica})
		require.NoError(t, err)
		require.ErrorIs(t, unwrap(t, kr, m), keyring.ErrNoMatchingKey)
	})
	t.Run("MRK discovery keyring", func(t *testing.T) {
		kr, err := kmsprovider.NewMRKDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: there, Region: otherRegion, Filter: &kmsprovider.DiscoveryFilter{Partition: "aws", AccountIDs: []string{account}}})
		require.NoError(t, err)
		srv.ResetCalls()
		require.NoError(t, unwrap(t, kr, m))
		calls := srv.Calls()
		require.Len(t, calls, 1)
		require.Equal(t, replica, calls[0].KeyID, "the ARN's region was rewritten to the client's")
	})
	t.Run("MRK discovery multi-keyring", func(t *testing.T) {
		kr, err := kmsprovider.NewMRKDiscoveryMultiKeyring(kmsprovider.DiscoveryMultiKeyringOptions{Clients: kmsprovider.NewRegionalClients(srv.Config("", account)), Regions: []string{otherRegion}})
		require.NoError(t, err)
		require.NoError(t, unwrap(t, kr, m))
	})
	t.Run("MRK multi-keyring", func(t *testing.T) {
		kr, err := kmsprovider.NewMRKMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: kmsprovider.NewRegionalClients(srv.Config("", account)), Generator: replica})
		require.NoError(t, err)
		require.NoError(t, unwrap(t, kr, m))
	})
	t.Run("plain discovery keyring calls the stored region", func(t *testing.T) {
		kr, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: there})
		require.NoError(t, err)
		err = unwrap(t, kr, m)
		var nf *types.NotFoundException
		require.ErrorAs(t, err, &nf)
	})
	t.Run("MRK discovery skips single-Region keys of other regions", func(t *testing.T) {
		single := createKey(t, here, nil)
		k, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: here, KeyID: single})
		require.NoError(t, err)
		ms := wrap(t, k)
		kr, err := kmsprovider.NewMRKDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: there, Region: otherRegion})
		require.NoError(t, err)
		srv.ResetCalls()
		err = unwrap(t, kr, ms)
		require.ErrorIs(t, err, keyring.ErrNoMatchingKey)
		require.ErrorContains(t, err, "single-Region key of region "+region)
		require.Zero(t, srv.Count(""))
		home, err := kmsprovider.NewMRKDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: here, Region: region})
		require.NoError(t, err)
		require.NoError(t, unwrap(t, home, ms))
	})
	t.Run("MRK discovery keyring checks its client's region", func(t *testing.T) {
		_, err := kmsprovider.NewMRKDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: there, Region: region})
		require.ErrorContains(t, err, otherRegion)
		_, err = kmsprovider.NewMRKDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: there})
		require.Error(t, err)
	})
}

func TestMRKMultiKeyringRejectsDuplicateMRKs(t *testing.T) {
	srv := newServer(t)
	primary, replica := newMRK(t, srv)
	clients := kmsprovider.NewRegionalClients(srv.Config(region, account))
	_, err := kmsprovider.NewMRKMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: clients, Generator: primary, KeyIDs: []string{replica}})
	require.ErrorContains(t, err, primary)
	require.ErrorContains(t, err, replica)
	id := primary[strings.LastIndex(primary, "/")+1:]
	_, err = kmsprovider.NewMRKMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: clients, Generator: id, KeyIDs: []string{replica}})
	require.ErrorContains(t, err, "more than once")
	// The plain multi-keyring does not treat them as one key.
	_, err = kmsprovider.NewMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: clients, Generator: primary, KeyIDs: []string{replica}})
	require.NoError(t, err)
}

func TestMultiKeyringUsesEachKeysRegion(t *testing.T) {
	srv := newServer(t)
	a := createKey(t, srv.Client(region, account), nil)
	b := createKey(t, srv.Client(otherRegion, account), nil)
	var asked []string
	clients := kmsprovider.NewRegionalClients(srv.Config(region, account))
	supplier := kmsprovider.ClientSupplierFunc(func(r string) (kmsprovider.Client, error) {
		asked = append(asked, r)
		return clients.Client(r)
	})
	multi, err := kmsprovider.NewMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: supplier, Generator: b, KeyIDs: []string{a, "alias/none"}})
	require.NoError(t, err)
	require.Equal(t, []string{otherRegion, region, ""}, asked)
	require.NotNil(t, multi)

	multi, err = kmsprovider.NewMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: supplier, Generator: b, KeyIDs: []string{a}})
	require.NoError(t, err)
	m := wrap(t, multi)
	require.Len(t, m.EncryptedDataKeys, 2)
	for _, k := range []string{a, b} {
		only, err := kmsprovider.NewMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: supplier, Generator: k})
		require.NoError(t, err)
		require.NoError(t, unwrap(t, only, m))
	}

	disc, err := kmsprovider.NewDiscoveryMultiKeyring(kmsprovider.DiscoveryMultiKeyringOptions{Clients: supplier, Regions: []string{region, otherRegion}})
	require.NoError(t, err)
	require.NoError(t, unwrap(t, disc, m))

	for _, tc := range []struct {
		o     kmsprovider.MultiKeyringOptions
		field string
	}{
		{kmsprovider.MultiKeyringOptions{Clients: supplier}, "MultiKeyringOptions.Generator"},
		{kmsprovider.MultiKeyringOptions{Clients: supplier, Generator: "arn:aws:kms:x"}, "MultiKeyringOptions.Generator"},
		{kmsprovider.MultiKeyringOptions{Clients: supplier, Generator: a, KeyIDs: []string{b, ""}}, "MultiKeyringOptions.KeyIDs[1]"},
		{kmsprovider.MultiKeyringOptions{Clients: supplier, Generator: a, KeyIDs: []string{"arn:aws:kms:x"}}, "MultiKeyringOptions.KeyIDs[0]"},
		{kmsprovider.MultiKeyringOptions{Generator: a}, "MultiKeyringOptions.Clients"},
	} {
		_, err := kmsprovider.NewMultiKeyring(tc.o)
		require.ErrorContains(t, err, tc.field, "%+v", tc.o)
	}
	_, err = kmsprovider.NewDiscoveryMultiKeyring(kmsprovider.DiscoveryMultiKeyringOptions{Clients: supplier, Regions: []string{region, ""}})
	require.Error(t, err)
	_, err = kmsprovider.NewDiscoveryMultiKeyring(kmsprovider.DiscoveryMultiKeyringOptions{Clients: supplier})
	require.Error(t, err)
}

func TestRegionalClients(t *testing.T) {
	srv := newServer(t)
	clients := kmsprovider.NewRegionalClients(srv.Config(region, account))
	a, err := clients.KMSClient("")
	require.NoError(t, err)
	b, err := clients.KMSClient(region)
	require.NoError(t, err)
	require.Same(t, a, b, "the default region's client is reused")
	c, err := clients.KMSClient(otherRegion)
	require.NoError(t, err)
	require.NotSame(t, a, c)
	require.Equal(t, otherRegion, c.Options().Region)

	_, err = kmsprovider.NewRegionalClients(aws.Config{}).KMSClient("")
	require.ErrorContains(t, err, "no region")
}

func rsaKey(t *testing.T, srv *kmstest.Server, spec types.KeySpec) (keyARN string, publicPEM []byte) {
	t.Helper()
	c := srv.Client(region, account)
	keyARN = createKey(t, c, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	publicPEM, err := kmsprovider.FetchPublicKey(context.Background(), c, keyARN)
	require.NoError(t, err)
	return keyARN, publicPEM
}

func TestRSAKeyring(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	keyARN, pub := rsaKey(t, srv, types.KeySpecRsa2048)

	for _, alg := range []types.EncryptionAlgorithmSpec{types.EncryptionAlgorithmSpecRsaesOaepSha1, types.EncryptionAlgorithmSpecRsaesOaepSha256} {
		t.Run(string(alg), func(t *testing.T) {
			encOnly, err := kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{KeyID: keyARN, EncryptionAlgorithm: alg, PublicKeyPEM: pub})
			require.NoError(t, err)
			srv.ResetCalls()
			m := wrap(t, encOnly)
			require.Zero(t, srv.Count(""), "encrypting calls no KMS API")
			e := m.EncryptedDataKeys[0]
			require.Equal(t, "aws-kms-rsa", e.ProviderID)
			require.Equal(t, keyARN, string(e.ProviderInfo))
			require.Len(t, e.Ciphertext, 256)
			require.ErrorIs(t, unwrap(t, encOnly, m), keyring.ErrEncryptOnly)

			dec, err := kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, KeyID: keyARN, EncryptionAlgorithm: alg})
			require.NoError(t, err)
			srv.ResetCalls()
			require.NoError(t, unwrap(t, dec, m))
			require.Equal(t, 1, srv.Count("Decrypt"))
			require.ErrorIs(t, dec.OnEncrypt(context.Background(), encMaterials(format.AES256GCMHKDFSHA512CommitKey, nil)), keyring.ErrDecryptOnly)

			// The encryption context is bound through its digest.
			d := decMaterials(m)
			d.EncryptionContext = map[string]string{"tenant": "other"}
			err = dec.OnDecrypt(context.Background(), d, m.EncryptedDataKeys)
			require.ErrorIs(t, err, keyring.ErrNoMatchingKey)
			require.ErrorContains(t, err, "encryption context digest does not match")
			require.Nil(t, d.PlaintextDataKey)
		})
	}

	t.Run("through the envelope, unsigned suites", func(t *testing.T) {
		kr, err := kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, KeyID: keyARN, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256, PublicKeyPEM: pub})
		require.NoError(t, err)
		mm := mustManager(t, kr)
		for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES128GCMIV12Tag16HKDFSHA256} {
			policy := envelope.RequireEncryptRequireDecrypt
			if !format.MustSuite(id).Committing() {
				policy = envelope.ForbidEncryptAllowDecrypt
			}
			client, err := envelope.New(func(o *envelope.Options) { o.Suite = id; o.CommitmentPolicy = policy })
			require.NoError(t, err)
			msg, err := client.EncryptBytes(context.Background(), []byte("rsa"), mm, testContext)
			require.NoError(t, err)
			pt, _, err := client.DecryptBytes(context.Background(), msg, mm, nil)
			require.NoError(t, err)
			require.Equal(t, "rsa", string(pt))
		}
	})
	t.Run("signed suites refused both ways", func(t *testing.T) {
		// aws-kms-rsa-keyring.md: OnEncrypt and OnDecrypt MUST fail for a
		// suite with an asymmetric signature. A configuration error, not
		// a key that does not match.
		kr, err := kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, KeyID: keyARN, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256, PublicKeyPEM: pub})
		require.NoError(t, err)
		for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKeyECDSAP384, format.AES256GCMIV12Tag16HKDFSHA384ECDSAP384, format.AES128GCMIV12Tag16HKDFSHA256ECDSAP256} {
			em := encMaterials(id, testContext)
			err := kr.OnEncrypt(context.Background(), em)
			require.ErrorIs(t, err, kmsprovider.ErrSignedSuite, "suite %v", id)
			require.NotErrorIs(t, err, keyring.ErrNoMatchingKey)
			require.ErrorContains(t, err, "0x0478", "the error names an unsigned suite to use")
			require.Nil(t, em.PlaintextDataKey)
			require.Empty(t, em.EncryptedDataKeys)

			// A message written under a signed suite by someone else:
			// refused before KMS is called.
			good := wrap(t, kr)
			d := &keyring.DecryptionMaterials{Suite: format.MustSuite(id), EncryptionContext: testContext}
			srv.ResetCalls()
			err = kr.OnDecrypt(context.Background(), d, good.EncryptedDataKeys)
			require.ErrorIs(t, err, kmsprovider.ErrSignedSuite, "suite %v", id)
			require.NotErrorIs(t, err, keyring.ErrNoMatchingKey)
			require.Nil(t, d.PlaintextDataKey)
			require.Zero(t, srv.Count(""), "no KMS call for a refused suite")
		}

		// Through the envelope: the default suite 0x0578 signs.
		mm := mustManager(t, kr)
		client, err := envelope.New()
		require.NoError(t, err)
		_, err = client.EncryptBytes(context.Background(), []byte("rsa"), mm, testContext)
		require.ErrorIs(t, err, kmsprovider.ErrSignedSuite)
	})
	t.Run("wrong algorithm", func(t *testing.T) {
		enc, err := kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{KeyID: keyARN, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha1, PublicKeyPEM: pub})
		require.NoError(t, err)
		dec, err := kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, KeyID: keyARN, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
		require.NoError(t, err)
		err = unwrap(t, dec, wrap(t, enc))
		var invalid *types.InvalidCiphertextException
		require.ErrorAs(t, err, &invalid)
	})
	t.Run("a key ARN is required", func(t *testing.T) {
		// The key identifier is written into every encrypted data key
		// as its provider info, and decrypting matches a key ARN: any
		// other identifier makes messages nobody can decrypt.
		sha256 := types.EncryptionAlgorithmSpecRsaesOaepSha256
		for _, id := range []string{keyARN[strings.LastIndex(keyARN, "/")+1:], "alias/x", "arn:aws:kms:us-west-2:111122223333:alias/x", "mrk-1234abcd12ab34cd56ef1234567890ab"} {
			for _, o := range []kmsprovider.RSAKeyringOptions{
				{Client: c, KeyID: id, EncryptionAlgorithm: sha256, PublicKeyPEM: pub},
				{KeyID: id, EncryptionAlgorithm: sha256, PublicKeyPEM: pub},
			} {
				kr, err := kmsprovider.NewRSAKeyring(o)
				require.Nil(t, kr, id)
				require.ErrorContains(t, err, "RSAKeyringOptions.KeyID", id)
				require.ErrorContains(t, err, "key ARN", id)
				require.ErrorContains(t, err, "arn:aws:kms:", "the error shows what to pass")
				require.ErrorContains(t, err, id)
			}
		}
	})
	t.Run("bad configuration", func(t *testing.T) {
		sha256 := types.EncryptionAlgorithmSpecRsaesOaepSha256
		_, err := kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, KeyID: "alias/x", EncryptionAlgorithm: sha256, PublicKeyPEM: pub})
		require.ErrorContains(t, err, "alias")
		_, err = kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, KeyID: "arn:aws:kms:us-west-2:111122223333:alias/x", EncryptionAlgorithm: sha256, PublicKeyPEM: pub})
		require.ErrorContains(t, err, "alias")
		_, err = kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, KeyID: keyARN, EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault, PublicKeyPEM: pub})
		require.Error(t, err)
		_, err = kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{KeyID: keyARN, EncryptionAlgorithm: sha256})
		require.Error(t, err)
		_, err = kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, KeyID: keyARN, EncryptionAlgorithm: sha256, PublicKeyPEM: []byte("not pem")})
		require.Error(t, err)
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		require.NoError(t, err)
		der, err := x509.MarshalPKIXPublicKey(&small.PublicKey)
		require.NoError(t, err)
		_, err = kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, KeyID: keyARN, EncryptionAlgorithm: sha256, PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})})
		require.ErrorContains(t, err, "1024 bits")
	})
	t.Run("FetchPublicKey of a symmetric key", func(t *testing.T) {
		sym := createKey(t, c, nil)
		_, err := kmsprovider.FetchPublicKey(context.Background(), c, sym)
		require.Error(t, err)
	})
}

func TestConstructorsCheckTheirInput(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	for _, id := range []string{"", "arn:aws:kms:us-west-2:111122223333", "arn:aws:s3:us-west-2:111122223333:key/x", "alias/", "a/b", "key:x"} {
		_, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: id})
		require.Error(t, err, "%q", id)
	}
	var typedNil *kms.Client
	_, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{KeyID: "alias/x"})
	require.Error(t, err)
	_, err = kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: typedNil, KeyID: "alias/x"})
	require.Error(t, err)
	_, err = kmsprovider.NewMRKKeyring(kmsprovider.KeyringOptions{Client: typedNil, KeyID: "alias/x"})
	require.Error(t, err)
	_, err = kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: typedNil})
	require.Error(t, err)
	_, err = kmsprovider.NewMRKDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: typedNil, Region: region})
	require.Error(t, err)
	_, err = kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: typedNil, KeyID: "arn:aws:kms:us-west-2:111122223333:key/k", EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
	require.Error(t, err)
	var noClients *kmsprovider.RegionalClients
	_, err = kmsprovider.NewMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: noClients, Generator: "alias/x"})
	require.Error(t, err)
	_, err = kmsprovider.NewMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: kmsprovider.ClientSupplierFunc(func(string) (kmsprovider.Client, error) { return typedNil, nil }), Generator: "alias/x"})
	require.ErrorContains(t, err, "no client")

	// Every constructor's error has the package prefix and names the
	// field.
	keyARN := "arn:aws:kms:us-west-2:111122223333:key/k"
	supplier := kmsprovider.NewRegionalClients(srv.Config(region, account))
	for _, tc := range []struct {
		err   error
		field string
	}{
		{second(kmsprovider.NewKeyring(kmsprovider.KeyringOptions{KeyID: keyARN})), "KeyringOptions.Client"},
		{second(kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c})), "KeyringOptions.KeyID"},
		{second(kmsprovider.NewMRKKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: "a/b"})), "KeyringOptions.KeyID"},
		{second(kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{})), "DiscoveryKeyringOptions.Client"},
		{second(kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: c, Region: region})), "DiscoveryKeyringOptions.Region"},
		{second(kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: c, Filter: &kmsprovider.DiscoveryFilter{AccountIDs: []string{account}}})), "DiscoveryKeyringOptions.Filter"},
		{second(kmsprovider.NewMRKDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: c})), "DiscoveryKeyringOptions.Region"},
		{second(kmsprovider.NewMRKDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: c, Region: otherRegion})), "DiscoveryKeyringOptions.Region"},
		{second(kmsprovider.NewMRKDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Region: region})), "DiscoveryKeyringOptions.Client"},
		{second(kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})), "RSAKeyringOptions.KeyID"},
		{second(kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, KeyID: keyARN})), "RSAKeyringOptions.EncryptionAlgorithm"},
		{second(kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{Client: c, KeyID: keyARN, EncryptionAlgorithm: "RSAES_PKCS1_V1_5"})), "RSAKeyringOptions.EncryptionAlgorithm"},
		{second(kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{KeyID: keyARN, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})), "RSAKeyringOptions.PublicKeyPEM"},
		{second(kmsprovider.NewMultiKeyring(kmsprovider.MultiKeyringOptions{Generator: keyARN})), "MultiKeyringOptions.Clients"},
		{second(kmsprovider.NewMRKMultiKeyring(kmsprovider.MultiKeyringOptions{Clients: supplier})), "MultiKeyringOptions.Generator"},
		{second(kmsprovider.NewDiscoveryMultiKeyring(kmsprovider.DiscoveryMultiKeyringOptions{Regions: []string{region}})), "DiscoveryMultiKeyringOptions.Clients"},
		{second(kmsprovider.NewMRKDiscoveryMultiKeyring(kmsprovider.DiscoveryMultiKeyringOptions{Clients: supplier})), "DiscoveryMultiKeyringOptions.Regions"},
		{second(kmsprovider.NewMRKDiscoveryMultiKeyring(kmsprovider.DiscoveryMultiKeyringOptions{Clients: supplier, Regions: []string{region, ""}})), "DiscoveryMultiKeyringOptions.Regions[1]"},
	} {
		require.ErrorContains(t, tc.err, tc.field)
		require.True(t, strings.HasPrefix(tc.err.Error(), "esdk/kmsprovider: "), "%v lacks the package prefix", tc.err)
	}

	// Materials without a suite are an error, not a panic.
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: "arn:aws:kms:us-west-2:111122223333:key/k"})
	require.NoError(t, err)
	disc, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: c})
	require.NoError(t, err)
	require.Error(t, kr.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{}))
	for _, k := range []keyring.Keyring{kr, disc} {
		require.Error(t, k.OnDecrypt(context.Background(), &keyring.DecryptionMaterials{}, nil))
	}
}

func second[T any](_ T, err error) error { return err }

// mustManager is envelope.NewDefaultManager for keyrings known to be valid.
func mustManager(tb testing.TB, kr keyring.Keyring) *envelope.DefaultManager {
	tb.Helper()
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		tb.Fatal(err)
	}
	return mm
}
