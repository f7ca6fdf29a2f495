package kmsprovider_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/require"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

var ecdhCurves = []struct {
	name  string
	curve ecdh.Curve
	spec  types.KeySpec
}{
	{"P-256", ecdh.P256(), types.KeySpecEccNistP256},
	{"P-384", ecdh.P384(), types.KeySpecEccNistP384},
	{"P-521", ecdh.P521(), types.KeySpecEccNistP521},
}

// agreementKey makes a KEY_AGREEMENT key of spec and returns its ARN and
// public key (DER).
func agreementKey(t testing.TB, c *kms.Client, spec types.KeySpec, curve ecdh.Curve) (string, []byte) {
	t.Helper()
	arn := createKey(t, c, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeKeyAgreement})
	pub, err := kmsprovider.FetchECDHPublicKey(context.Background(), c, arn, curve)
	require.NoError(t, err)
	return arn, pub
}

// rawKeyPair is a key pair held in memory: PKCS #8 PEM and DER.
func rawKeyPair(t testing.TB, curve ecdh.Curve) (pemKey, der []byte) {
	t.Helper()
	priv, err := curve.GenerateKey(rand.Reader)
	require.NoError(t, err)
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	der, err = x509.MarshalPKIXPublicKey(priv.PublicKey())
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), der
}

func mustECDH(t testing.TB, o kmsprovider.ECDHKeyringOptions, optFns ...func(*kmsprovider.ECDHKeyringOptions)) *kmsprovider.ECDHKeyring {
	t.Helper()
	kr, err := kmsprovider.NewECDHKeyring(o, optFns...)
	require.NoError(t, err)
	return kr
}

func mustRawECDH(t testing.TB, o keyring.RawECDHOptions) *keyring.RawECDH {
	t.Helper()
	kr, err := keyring.NewRawECDH(o)
	require.NoError(t, err)
	return kr
}

// TestECDHKeyring exchanges messages between KMS ECDH keyrings and raw
// ECDH keyrings, every way the schemas allow, on every curve: a KMS
// sender to a KMS recipient (read by the sender's keyring, the recipient's
// static keyring the other way round and the recipient's discovery
// keyring), a KMS sender to a raw recipient, and raw senders (static and
// ephemeral) to a KMS recipient.
func TestECDHKeyring(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	for _, cv := range ecdhCurves {
		t.Run(cv.name, func(t *testing.T) {
			sender, senderPub := agreementKey(t, c, cv.spec, cv.curve)
			recipient, recipientPub := agreementKey(t, c, cv.spec, cv.curve)
			rawPEM, rawPub := rawKeyPair(t, cv.curve)

			kmsStatic := mustECDH(t, kmsprovider.ECDHKeyringOptions{Client: c, Schema: kmsprovider.KMSPrivateKeyToStaticPublicKey, Curve: cv.curve, KeyID: sender, SenderPublicKey: senderPub, RecipientPublicKey: recipientPub})
			kmsReverse := mustECDH(t, kmsprovider.ECDHKeyringOptions{Client: c, Schema: kmsprovider.KMSPrivateKeyToStaticPublicKey, Curve: cv.curve, KeyID: recipient, SenderPublicKey: recipientPub, RecipientPublicKey: senderPub})
			kmsDiscovery := mustECDH(t, kmsprovider.ECDHKeyringOptions{Client: c, Schema: kmsprovider.KMSPublicKeyDiscovery, Curve: cv.curve, KeyID: recipient, RecipientPublicKey: recipientPub})
			kmsToRaw := mustECDH(t, kmsprovider.ECDHKeyringOptions{Client: c, Schema: kmsprovider.KMSPrivateKeyToStaticPublicKey, Curve: cv.curve, KeyID: sender, SenderPublicKey: senderPub, RecipientPublicKey: rawPub})
			rawDiscovery := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.PublicKeyDiscovery, Curve: cv.curve, RecipientPrivateKey: rawPEM})
			rawReverse := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: cv.curve, SenderPrivateKey: rawPEM, RecipientPublicKey: senderPub})
			rawToKMS := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: cv.curve, SenderPrivateKey: rawPEM, RecipientPublicKey: recipientPub})
			ephemeralToKMS := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.EphemeralPrivateKeyToStaticPublicKey, Curve: cv.curve, RecipientPublicKey: recipientPub})

			for _, tc := range []struct {
				name string
				enc  keyring.Keyring
				decs map[string]keyring.Keyring
				id   string
			}{
				{"kms-static", kmsStatic, map[string]keyring.Keyring{"kms-static": kmsStatic, "kms-reverse": kmsReverse, "kms-discovery": kmsDiscovery}, keyring.KMSECDHProviderID},
				{"kms-reverse", kmsReverse, map[string]keyring.Keyring{"kms-static": kmsStatic}, keyring.KMSECDHProviderID},
				{"kms-to-raw", kmsToRaw, map[string]keyring.Keyring{"raw-discovery": rawDiscovery, "raw-reverse": rawReverse, "kms-to-raw": kmsToRaw}, keyring.KMSECDHProviderID},
				{"raw-static", rawToKMS, map[string]keyring.Keyring{"kms-discovery": kmsDiscovery}, keyring.RawECDHProviderID},
				{"raw-ephemeral", ephemeralToKMS, map[string]keyring.Keyring{"kms-discovery": kmsDiscovery}, keyring.RawECDHProviderID},
			} {
				m := wrap(t, tc.enc)
				require.Len(t, m.EncryptedDataKeys, 1)
				require.Equal(t, tc.id, m.EncryptedDataKeys[0].ProviderID)
				for name, dec := range tc.decs {
					require.NoError(t, unwrap(t, dec, m), "%s read by %s", tc.name, name)
				}
			}
		})
	}
}

// TestECDHKeyringOnlyOwnKeys: the encrypted data keys of other public keys
// cost no KMS call, and a message for another recipient is a no-match
// that says so.
func TestECDHKeyringOnlyOwnKeys(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	recipient, recipientPub := agreementKey(t, c, types.KeySpecEccNistP256, ecdh.P256())
	discovery := mustECDH(t, kmsprovider.ECDHKeyringOptions{Client: c, Schema: kmsprovider.KMSPublicKeyDiscovery, Curve: ecdh.P256(), KeyID: recipient, RecipientPublicKey: recipientPub})
	_, otherPub := rawKeyPair(t, ecdh.P256())
	toOther := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.EphemeralPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), RecipientPublicKey: otherPub})
	toUs := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.EphemeralPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), RecipientPublicKey: recipientPub})

	m := wrap(t, toOther)
	srv.ResetCalls()
	err := unwrap(t, discovery, m)
	require.True(t, errors.Is(err, keyring.ErrNoMatchingKey), "%v", err)
	require.ErrorContains(t, err, "for other public keys")
	require.Zero(t, srv.Count("DeriveSharedSecret"))

	// Its own key behind two others: one call.
	require.NoError(t, toOther.OnEncrypt(context.Background(), m))
	require.NoError(t, toUs.OnEncrypt(context.Background(), m))
	require.NoError(t, unwrap(t, discovery, m))
	require.Equal(t, 1, srv.Count("DeriveSharedSecret"))

	// Another encryption context: the commitment key differs, a no-match.
	d := decMaterials(m)
	d.EncryptionContext = map[string]string{"other": "context"}
	err = discovery.OnDecrypt(context.Background(), d, m.EncryptedDataKeys)
	require.True(t, errors.Is(err, keyring.ErrNoMatchingKey), "%v", err)
	require.ErrorContains(t, err, "commitment key differs")
}

// TestECDHKeyringServiceFails: KMS failing is a *keyring.UnwrapError, which
// no caller takes for a message that is not theirs; on encryption it is an
// error with the KMS error reachable, and the materials are unchanged.
func TestECDHKeyringServiceFails(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	sender, senderPub := agreementKey(t, c, types.KeySpecEccNistP384, ecdh.P384())
	_, recipientPub := agreementKey(t, c, types.KeySpecEccNistP384, ecdh.P384())
	static := mustECDH(t, kmsprovider.ECDHKeyringOptions{Client: c, Schema: kmsprovider.KMSPrivateKeyToStaticPublicKey, Curve: ecdh.P384(), KeyID: sender, SenderPublicKey: senderPub, RecipientPublicKey: recipientPub})
	m := wrap(t, static)

	srv.FailKey(sender, "DisabledException")
	err := unwrap(t, static, m)
	var ue *keyring.UnwrapError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, static.String(), ue.Keyring)
	require.False(t, errors.Is(err, keyring.ErrNoMatchingKey))
	var disabled *types.DisabledException
	require.ErrorAs(t, err, &disabled)

	em := encMaterials(format.AES256GCMHKDFSHA512CommitKey, testContext)
	err = static.OnEncrypt(context.Background(), em)
	require.ErrorAs(t, err, &disabled)
	require.ErrorContains(t, err, "esdk/kmsprovider: AWS KMS ECDH keyring "+sender)
	require.Nil(t, em.PlaintextDataKey)
	require.Empty(t, em.EncryptedDataKeys)
	srv.FailKey(sender, "")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := decMaterials(m)
	err = static.OnDecrypt(ctx, d, m.EncryptedDataKeys)
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, errors.Is(err, keyring.ErrNoMatchingKey))
	require.ErrorIs(t, static.OnEncrypt(ctx, encMaterials(format.AES256GCMHKDFSHA512CommitKey, nil)), context.Canceled)
}

// recordingClient records the DeriveSharedSecret requests it passes on,
// and can rewrite the answers.
type recordingClient struct {
	kmsprovider.DeriveSharedSecretAPI
	mu     sync.Mutex
	inputs []*kms.DeriveSharedSecretInput
	answer func(*kms.DeriveSharedSecretOutput)
}

func (r *recordingClient) DeriveSharedSecret(ctx context.Context, in *kms.DeriveSharedSecretInput, optFns ...func(*kms.Options)) (*kms.DeriveSharedSecretOutput, error) {
	r.mu.Lock()
	r.inputs = append(r.inputs, in)
	r.mu.Unlock()
	out, err := r.DeriveSharedSecretAPI.DeriveSharedSecret(ctx, in, optFns...)
	if err == nil && r.answer != nil {
		r.answer(out)
	}
	return out, err
}

// TestECDHKeyringRequests: the requests carry the key, the ECDH algorithm,
// the peer's public key and the grant tokens; an answer for another key or
// algorithm, or a secret of the wrong length, is refused, and on
// decryption it is a failure of KMS, not a no-match. A bare key id works
// as well as the key ARN.
func TestECDHKeyringRequests(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	sender, senderPub := agreementKey(t, c, types.KeySpecEccNistP256, ecdh.P256())
	_, recipientPub := agreementKey(t, c, types.KeySpecEccNistP256, ecdh.P256())
	rec := &recordingClient{DeriveSharedSecretAPI: c}
	tokens := []string{"grant-token-1", "grant-token-2"}
	o := kmsprovider.ECDHKeyringOptions{Client: rec, Schema: kmsprovider.KMSPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), KeyID: sender, SenderPublicKey: senderPub, RecipientPublicKey: recipientPub, GrantTokens: tokens}
	kr := mustECDH(t, o)
	tokens[0] = "changed" // the keyring keeps its own copy
	m := wrap(t, kr)
	require.NoError(t, unwrap(t, kr, m))
	require.Len(t, rec.inputs, 2)
	for _, in := range rec.inputs {
		require.Equal(t, sender, aws.ToString(in.KeyId))
		require.Equal(t, types.KeyAgreementAlgorithmSpecEcdh, in.KeyAgreementAlgorithm)
		require.Equal(t, recipientPub, in.PublicKey)
		require.Equal(t, []string{"grant-token-1", "grant-token-2"}, in.GrantTokens)
	}

	keyID := sender[strings.LastIndex(sender, "/")+1:]
	byID := mustECDH(t, o, func(o *kmsprovider.ECDHKeyringOptions) { o.KeyID = keyID })
	require.NoError(t, unwrap(t, byID, wrap(t, byID)))

	other, _ := agreementKey(t, c, types.KeySpecEccNistP256, ecdh.P256())
	for name, answer := range map[string]func(*kms.DeriveSharedSecretOutput){
		"another key":       func(out *kms.DeriveSharedSecretOutput) { out.KeyId = aws.String(other) },
		"another algorithm": func(out *kms.DeriveSharedSecretOutput) { out.KeyAgreementAlgorithm = "ECDH2" },
		"a short secret":    func(out *kms.DeriveSharedSecretOutput) { out.SharedSecret = out.SharedSecret[:31] },
	} {
		rec.answer = answer
		err := kr.OnEncrypt(context.Background(), encMaterials(format.AES256GCMHKDFSHA512CommitKey, nil))
		require.Error(t, err, name)
		err = kr.OnDecrypt(context.Background(), decMaterials(m), m.EncryptedDataKeys)
		var ue *keyring.UnwrapError
		require.ErrorAs(t, err, &ue, name)
		require.False(t, errors.Is(err, keyring.ErrNoMatchingKey), name)
	}
}

func TestECDHKeyringSchemaDirection(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	recipient, recipientPub := agreementKey(t, c, types.KeySpecEccNistP521, ecdh.P521())
	discovery := mustECDH(t, kmsprovider.ECDHKeyringOptions{Client: c, Schema: kmsprovider.KMSPublicKeyDiscovery, Curve: ecdh.P521(), KeyID: recipient, RecipientPublicKey: recipientPub})
	m := encMaterials(format.AES256GCMHKDFSHA512CommitKey, nil)
	require.ErrorIs(t, discovery.OnEncrypt(context.Background(), m), keyring.ErrDecryptOnly)
	require.Zero(t, srv.Count("DeriveSharedSecret"))
	require.Equal(t, kmsprovider.KMSPublicKeyDiscovery, discovery.Schema())
	require.Equal(t, recipient, discovery.KeyID())
	require.Contains(t, discovery.String(), recipient)

	d := &keyring.DecryptionMaterials{Suite: m.Suite, PlaintextDataKey: make([]byte, 32)}
	require.ErrorIs(t, discovery.OnDecrypt(context.Background(), d, nil), keyring.ErrDataKeyAlreadySet)
}

func TestFetchECDHPublicKey(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	ctx := context.Background()
	p384 := createKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP384, KeyUsage: types.KeyUsageTypeKeyAgreement})
	rsaKey := createKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	symmetric := createKey(t, c, nil)

	der, err := kmsprovider.FetchECDHPublicKey(ctx, c, p384, ecdh.P384())
	require.NoError(t, err)
	_, err = keyring.ParseECDHPublicKey(ecdh.P384(), der)
	require.NoError(t, err)

	_, err = kmsprovider.FetchECDHPublicKey(ctx, c, p384, ecdh.P256())
	require.ErrorContains(t, err, "key spec ECC_NIST_P384, not ECC_NIST_P256")
	_, err = kmsprovider.FetchECDHPublicKey(ctx, c, rsaKey, ecdh.P256())
	require.ErrorContains(t, err, "key usage ENCRYPT_DECRYPT, not KEY_AGREEMENT")
	_, err = kmsprovider.FetchECDHPublicKey(ctx, c, symmetric, ecdh.P256())
	var unsupported *types.UnsupportedOperationException
	require.ErrorAs(t, err, &unsupported)
	_, err = kmsprovider.FetchECDHPublicKey(ctx, c, p384, ecdh.X25519())
	require.ErrorContains(t, err, "not supported")
	_, err = kmsprovider.FetchECDHPublicKey(ctx, c, "arn:aws:kms:us-west-2:111122223333:key/00000000-0000-0000-0000-000000000000", ecdh.P256())
	var notFound *types.NotFoundException
	require.ErrorAs(t, err, &notFound)
}

// TestECDHKeyringWrongKeyUsage: a keyring over a KMS key that cannot do key
// agreement fails with KMS's own error.
func TestECDHKeyringWrongKeyUsage(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account)
	symmetric := createKey(t, c, nil)
	_, pub := rawKeyPair(t, ecdh.P256())
	kr := mustECDH(t, kmsprovider.ECDHKeyringOptions{Client: c, Schema: kmsprovider.KMSPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), KeyID: symmetric, SenderPublicKey: pub, RecipientPublicKey: pub})
	err := kr.OnEncrypt(context.Background(), encMaterials(format.AES256GCMHKDFSHA512CommitKey, nil))
	var usage *types.InvalidKeyUsageException
	require.ErrorAs(t, err, &usage)
}

func TestNewECDHKeyringErrors(t *testing.T) {
	c := kms.New(kms.Options{Region: region})
	_, p256 := rawKeyPair(t, ecdh.P256())
	_, p384 := rawKeyPair(t, ecdh.P384())
	keyARN := "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	static := kmsprovider.ECDHKeyringOptions{Client: c, Schema: kmsprovider.KMSPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), KeyID: keyARN, SenderPublicKey: p256, RecipientPublicKey: p256}
	discovery := kmsprovider.ECDHKeyringOptions{Client: c, Schema: kmsprovider.KMSPublicKeyDiscovery, Curve: ecdh.P256(), KeyID: keyARN, RecipientPublicKey: p256}
	with := func(o kmsprovider.ECDHKeyringOptions, f func(*kmsprovider.ECDHKeyringOptions)) kmsprovider.ECDHKeyringOptions {
		f(&o)
		return o
	}
	for name, tc := range map[string]struct {
		o    kmsprovider.ECDHKeyringOptions
		want string
	}{
		"no client":             {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.Client = nil }), "ECDHKeyringOptions.Client is required"},
		"nil client":            {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.Client = (*kms.Client)(nil) }), "ECDHKeyringOptions.Client is required"},
		"no curve":              {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.Curve = nil }), "ECDHKeyringOptions.Curve is required"},
		"X25519":                {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.Curve = ecdh.X25519() }), "ECDHKeyringOptions.Curve: curve X25519 is not supported"},
		"no schema":             {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.Schema = 0 }), "ECDHKeyringOptions.Schema is required"},
		"bad schema":            {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.Schema = 7 }), "unknown schema ECDHSchema(7)"},
		"no key":                {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.KeyID = "" }), "ECDHKeyringOptions.KeyID"},
		"alias":                 {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.KeyID = "alias/ecdh" }), "needs a key ARN or key id in ECDHKeyringOptions.KeyID, not an alias name"},
		"alias ARN":             {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.KeyID = "arn:aws:kms:us-west-2:111122223333:alias/ecdh" }), "not an alias ARN"},
		"static no sender key":  {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.SenderPublicKey = nil }), "ECDHKeyringOptions.SenderPublicKey is required by KMSPrivateKeyToStaticPublicKey"},
		"static no recipient":   {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.RecipientPublicKey = nil }), "ECDHKeyringOptions.RecipientPublicKey is required by KMSPrivateKeyToStaticPublicKey"},
		"static other curve":    {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.RecipientPublicKey = p384 }), "RecipientPublicKey: esdk/keyring: public key is on P-384, not P-256"},
		"static bad DER":        {with(static, func(o *kmsprovider.ECDHKeyringOptions) { o.SenderPublicKey = []byte{0x30, 0} }), "ECDHKeyringOptions.SenderPublicKey"},
		"discovery sender key":  {with(discovery, func(o *kmsprovider.ECDHKeyringOptions) { o.SenderPublicKey = p256 }), "ECDHKeyringOptions.SenderPublicKey is not used by KMSPublicKeyDiscovery"},
		"discovery no key":      {with(discovery, func(o *kmsprovider.ECDHKeyringOptions) { o.RecipientPublicKey = nil }), "ECDHKeyringOptions.RecipientPublicKey is required by KMSPublicKeyDiscovery"},
		"discovery other curve": {with(discovery, func(o *kmsprovider.ECDHKeyringOptions) { o.Curve = ecdh.P384() }), "public key is on P-256, not P-384"},
	} {
		_, err := kmsprovider.NewECDHKeyring(tc.o)
		require.ErrorContains(t, err, tc.want, name)
		require.True(t, strings.HasPrefix(err.Error(), "esdk/kmsprovider: "), "%s: %v", name, err)
	}
}

// TestECDHKeyringConcurrent shares one keyring between goroutines.
func TestECDHKeyringConcurrent(t *testing.T) {
	srv := kmstest.NewServer()
	t.Cleanup(srv.Close)
	c := srv.Client(region, account)
	sender, senderPub := agreementKey(t, c, types.KeySpecEccNistP256, ecdh.P256())
	_, recipientPub := agreementKey(t, c, types.KeySpecEccNistP256, ecdh.P256())
	kr := mustECDH(t, kmsprovider.ECDHKeyringOptions{Client: c, Schema: kmsprovider.KMSPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), KeyID: sender, SenderPublicKey: senderPub, RecipientPublicKey: recipientPub})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := encMaterials(format.AES256GCMHKDFSHA512CommitKey, map[string]string{"n": fmt.Sprint(i)})
			if err := kr.OnEncrypt(context.Background(), m); err != nil {
				errs <- err
				return
			}
			d := decMaterials(m)
			if err := kr.OnDecrypt(context.Background(), d, m.EncryptedDataKeys); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
