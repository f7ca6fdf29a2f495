package kmsprovider_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
)

// TestServiceFailureBesideNoMatch: a multi-keyring of a keyring that holds
// none of the message's keys and a KMS keyring whose calls fail. That is
// a KMS failure, not "no keyring could unwrap": errors.Is(err,
// ErrNoMatchingKey) is false, errors.As finds the KMS error, the text
// still names both keyrings, and envelope reports it as the provider's
// failure rather than as a tampered message.
func TestServiceFailureBesideNoMatch(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(region, account, func(o *kms.Options) { o.RetryMaxAttempts = 2 })
	ctx := context.Background()
	keyARN := createKey(t, c, nil)
	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: keyARN})
	require.NoError(t, err)
	notMine, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "not-mine", WrappingKey: make([]byte, 32)})
	require.NoError(t, err)
	client, err := envelope.New()
	require.NoError(t, err)
	msg, err := client.EncryptBytes(ctx, []byte("under KMS"), mustManager(t, kr), testContext)
	require.NoError(t, err)
	m := wrap(t, kr)

	faults := []struct {
		name, code string
		set        func() (undo func())
	}{
		{"key fails", "KMSInternalException", func() func() {
			srv.FailKey(keyARN, "KMSInternalException")
			return func() { srv.FailKey(keyARN, "") }
		}},
		{"access denied", "AccessDeniedException", func() func() {
			srv.FailKey(keyARN, "AccessDeniedException")
			return func() { srv.FailKey(keyARN, "") }
		}},
		{"throttled past the retries", "ThrottlingException", func() func() {
			srv.ThrottleNext(1000)
			return func() { srv.ThrottleNext(0) }
		}},
	}
	orders := map[string][]keyring.Keyring{"no match first": {notMine, kr}, "failure first": {kr, notMine}}
	for _, f := range faults {
		for name, order := range orders {
			t.Run(f.name+", "+name, func(t *testing.T) {
				multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: order[0], Children: order[1:]})
				require.NoError(t, err)
				undo := f.set()
				defer undo()

				err = unwrap(t, multi, m)
				t.Log(err)
				require.NotErrorIs(t, err, keyring.ErrNoMatchingKey)
				require.Equal(t, f.code, apiErrorCode(err), "errors.As finds the KMS error")
				var ue *keyring.UnwrapError
				require.ErrorAs(t, err, &ue)
				require.Equal(t, kr.String(), ue.Keyring)
				var nm *keyring.NoMatchingKeyError
				require.False(t, errors.As(err, &nm), "the no-match is not reachable beside a failure")
				require.ErrorContains(t, err, keyARN)
				require.ErrorContains(t, err, f.code)
				require.ErrorContains(t, err, `raw AES "ns"/"not-mine"`, "the text names the keyring that found no key")

				_, _, err = client.DecryptBytes(ctx, msg, mustManager(t, multi), nil)
				require.Error(t, err)
				require.NotErrorIs(t, err, envelope.ErrAuthentication, "a KMS failure is no tampered message")
				require.NotErrorIs(t, err, envelope.ErrNoMatchingKey)
				require.Equal(t, f.code, apiErrorCode(err))
				require.ErrorAs(t, err, &ue)
			})
		}
	}

	// Without the fault, both keyrings say "not mine" for a message of
	// neither: a no-match, reported by envelope as ErrAuthentication.
	other := createKey(t, c, nil)
	otherKR, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: other})
	require.NoError(t, err)
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: notMine, Children: []keyring.Keyring{otherKR}})
	require.NoError(t, err)
	err = unwrap(t, multi, m)
	require.ErrorIs(t, err, keyring.ErrNoMatchingKey)
	_, _, err = client.DecryptBytes(ctx, msg, mustManager(t, multi), nil)
	require.ErrorIs(t, err, envelope.ErrNoMatchingKey)
	require.ErrorIs(t, err, envelope.ErrAuthentication)
}
