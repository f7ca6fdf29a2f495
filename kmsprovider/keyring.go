package kmsprovider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/kmsarn"
	"github.com/go-esdk/esdk/keyring"
)

// ProviderID is the provider id of the encrypted data keys that the
// symmetric AWS KMS keyrings write and read.
const ProviderID = "aws-kms"

// Keyring is the AWS KMS keyring for one symmetric KMS key. It encrypts
// with that key (GenerateDataKey as a generator, Encrypt otherwise) and
// decrypts only the encrypted data keys of that key, calling Decrypt with
// the key named explicitly.
//
// The multi-Region-key-aware variant ([NewMRKKeyring]) also decrypts the
// encrypted data keys of the key's replicas in other regions.
type Keyring struct {
	client      Client
	id          identifier
	mrk         bool
	grantTokens []string
	desc        string
}

var _ keyring.Keyring = (*Keyring)(nil)

// KeyringOptions configure an AWS KMS keyring (see [NewKeyring] and
// [NewMRKKeyring]).
type KeyringOptions struct {
	// Client calls KMS in the key's region. Required.
	Client Client
	// KeyID names the KMS key: a key ARN, a key id, an alias ARN or an
	// alias name ("alias/..."). Required. Any of them encrypts; only a
	// key ARN can decrypt, since messages name their keys by key ARN
	// (see [ErrCannotMatchKeyARN]).
	KeyID string
	// GrantTokens are sent with every KMS call the keyring makes; nil
	// sends none. The keyring keeps its own copy.
	GrantTokens []string
}

// NewKeyring returns the strict AWS KMS keyring for o.KeyID. It copies o
// and applies optFns to the copy in order. Client and KeyID are required;
// the client's region must be the key's.
//
// Whether a keyring is aware of multi-Region keys is chosen by its
// constructor, NewKeyring or [NewMRKKeyring], not by a field: the two are
// different keyrings of the specification, which decrypt different
// messages, and the name at the call site says which one a program uses.
func NewKeyring(o KeyringOptions, optFns ...func(*KeyringOptions)) (*Keyring, error) {
	return newKeyring(o, false, optFns)
}

// NewMRKKeyring returns the multi-Region-key-aware AWS KMS keyring for
// o.KeyID. It takes the same options as [NewKeyring] and behaves as it
// does, except that when KeyID is the ARN of a multi-Region key
// ("key/mrk-...") it decrypts the encrypted data keys of every replica of
// that key, whatever their region, by calling its own client with KeyID.
func NewMRKKeyring(o KeyringOptions, optFns ...func(*KeyringOptions)) (*Keyring, error) {
	return newKeyring(o, true, optFns)
}

// copyTokens returns the keyring's own copy of grant tokens: nil when
// there are none, so that requests carry no GrantTokens field.
func copyTokens(tokens []string) []string { return append([]string(nil), tokens...) }

func newKeyring(o KeyringOptions, mrk bool, optFns []func(*KeyringOptions)) (*Keyring, error) {
	for _, f := range optFns {
		f(&o)
	}
	if isNil(o.Client) {
		return nil, errors.New("esdk/kmsprovider: KeyringOptions.Client is required (a KMS client of the key's region)")
	}
	id, err := parseIdentifier(o.KeyID)
	if err != nil {
		return nil, fmt.Errorf("esdk/kmsprovider: KeyringOptions.KeyID: %w", err)
	}
	desc := "AWS KMS keyring " + o.KeyID
	if mrk {
		desc = "AWS KMS MRK keyring " + o.KeyID
	}
	return &Keyring{client: o.Client, id: id, mrk: mrk, grantTokens: copyTokens(o.GrantTokens), desc: desc}, nil
}

// KeyID returns the key identifier the keyring was configured with.
func (k *Keyring) KeyID() string { return k.id.raw }

// String describes the keyring.
func (k *Keyring) String() string { return k.desc }

// OnEncrypt generates the data key with KMS GenerateDataKey when m has
// none, or wraps m's data key with KMS Encrypt, and appends the encrypted
// data key. The KMS answer is checked (the data key's length, a key ARN
// in KeyId) before m is changed; on error m is unchanged.
func (k *Keyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	return onEncrypt(ctx, k.client, k.id.raw, k.grantTokens, k.desc, m)
}

func onEncrypt(ctx context.Context, client Client, keyID string, grantTokens []string, desc string, m *keyring.EncryptionMaterials) error {
	if m.Suite == nil {
		return fmt.Errorf("esdk/kmsprovider: %s: the encryption materials have no algorithm suite", desc)
	}
	n := m.Suite.KeyLength()
	if m.PlaintextDataKey == nil {
		out, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
			KeyId:             aws.String(keyID),
			NumberOfBytes:     aws.Int32(int32(n)),
			EncryptionContext: kmsContext(m.EncryptionContext),
			GrantTokens:       grantTokens,
		})
		if err != nil {
			return callError(ctx, desc, "GenerateDataKey", err)
		}
		if len(out.Plaintext) != n {
			clear(out.Plaintext)
			return fmt.Errorf("esdk/kmsprovider: %s: GenerateDataKey returned a %d-byte data key, suite %s needs %d", desc, len(out.Plaintext), m.Suite.ID(), n)
		}
		a, err := kmsarn.ParseKey(aws.ToString(out.KeyId))
		if err != nil {
			clear(out.Plaintext)
			return fmt.Errorf("esdk/kmsprovider: %s: GenerateDataKey answered with KeyId %w", desc, err)
		}
		m.PlaintextDataKey = out.Plaintext
		m.EncryptedDataKeys = append(m.EncryptedDataKeys, edk(a, out.CiphertextBlob))
		return nil
	}
	if err := keyring.CheckDataKey(m.Suite, m.PlaintextDataKey); err != nil {
		return err
	}
	out, err := client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(keyID),
		Plaintext:         m.PlaintextDataKey,
		EncryptionContext: kmsContext(m.EncryptionContext),
		GrantTokens:       grantTokens,
	})
	if err != nil {
		return callError(ctx, desc, "Encrypt", err)
	}
	a, err := kmsarn.ParseKey(aws.ToString(out.KeyId))
	if err != nil {
		return fmt.Errorf("esdk/kmsprovider: %s: Encrypt answered with KeyId %w", desc, err)
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, edk(a, out.CiphertextBlob))
	return nil
}

// OnDecrypt tries, one at a time, the message's AWS KMS encrypted data keys
// that belong to the keyring's key (for the MRK-aware keyring, to the key
// or one of its replicas), and sets m's data key from the first that KMS
// decrypts. When none does, the error holds every KMS error, reachable with
// errors.As; it matches keyring.ErrNoMatchingKey unless KMS itself failed
// (a *keyring.UnwrapError then).
func (k *Keyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if err := checkDecryptionMaterials(m, k.desc); err != nil {
		return err
	}
	if !k.id.isKeyARN() {
		return cannotMatch(k.desc, k.id, storedARNs(edks, ProviderID))
	}
	cands, stored, err := filterKMS(edks, ProviderID, k.desc)
	if err != nil {
		return err
	}
	pick := func(a kmsarn.ARN) (string, string) {
		if k.id.raw != a.String() && !(k.mrk && mrkMatch(k.id, a)) {
			return "", ""
		}
		return k.id.raw, ""
	}
	return tryKeys(ctx, k.desc, cands, stored, pick, func(i int, keyID string) error {
		return decryptOne(ctx, k.client, k.desc, &kms.DecryptInput{
			KeyId:             aws.String(keyID),
			CiphertextBlob:    edks[i].Ciphertext,
			EncryptionContext: kmsContext(m.EncryptionContext),
			GrantTokens:       k.grantTokens,
		}, m)
	})
}

// tryKeys tries the message's candidate keys (cands[i] is the key ARN of
// encrypted data key i, nil for other providers' keys) one at a time, in
// order, until try unwraps one. pick says which key id to call for a
// candidate, or why the keyring skips it, or neither when the key is not
// the keyring's at all. Every failure and skip is collected for the
// error; when the context ends, tryKeys returns at once.
func tryKeys(ctx context.Context, desc string, cands []*kmsarn.ARN, stored []string, pick func(kmsarn.ARN) (keyID, skip string), try func(i int, keyID string) error) error {
	var causes []error
	for i, a := range cands {
		if a == nil {
			continue
		}
		keyID, skip := pick(*a)
		if skip != "" {
			causes = append(causes, fmt.Errorf("encrypted data key %d (%s): skipped, %s", i, a, skip))
			continue
		}
		if keyID == "" {
			continue
		}
		err := try(i, keyID)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if keyID != a.String() {
			err = fmt.Errorf("called as %s: %w", keyID, err)
		}
		causes = append(causes, fmt.Errorf("encrypted data key %d (%s): %w", i, a, err))
	}
	if len(causes) == 0 {
		causes = append(causes, noCandidates(stored))
	}
	return noMatchingKey(desc, causes)
}

// decryptOne calls KMS Decrypt with in, checks the answer and, when it is
// good, sets m's data key.
func decryptOne(ctx context.Context, client DecryptAPI, desc string, in *kms.DecryptInput, m *keyring.DecryptionMaterials) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("esdk/kmsprovider: %s: %w", desc, err)
	}
	out, err := client.Decrypt(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			return contextDone(ctx, desc+": Decrypt", err)
		}
		return err
	}
	if got, want := aws.ToString(out.KeyId), aws.ToString(in.KeyId); got != want {
		clear(out.Plaintext)
		return fmt.Errorf("KMS Decrypt answered for key %q, not the %q asked for", got, want)
	}
	if n := m.Suite.KeyLength(); len(out.Plaintext) != n {
		clear(out.Plaintext)
		return fmt.Errorf("KMS Decrypt returned a %d-byte data key, suite %s needs %d", len(out.Plaintext), m.Suite.ID(), n)
	}
	m.PlaintextDataKey = out.Plaintext
	return nil
}

// filterKMS parses the provider info of every encrypted data key with the
// given provider id: cands[i] is its key ARN, nil for the other keys.
// A provider info that is not a key ARN fails the whole decryption, as the
// specification requires. stored lists the ARNs, for messages.
func filterKMS(edks []format.EncryptedDataKey, providerID, desc string) (cands []*kmsarn.ARN, stored []string, err error) {
	cands = make([]*kmsarn.ARN, len(edks))
	for i, e := range edks {
		if e.ProviderID != providerID {
			continue
		}
		a, err := kmsarn.ParseKey(string(e.ProviderInfo))
		if err != nil {
			return nil, nil, noMatchingKey(desc, []error{fmt.Errorf("encrypted data key %d has provider id %q and a provider info that is not a key ARN: %w", i, providerID, err)})
		}
		cands[i] = &a
		stored = append(stored, a.String())
	}
	return cands, stored, nil
}

// storedARNs lists the provider infos of the keys with the provider id.
func storedARNs(edks []format.EncryptedDataKey, providerID string) []string {
	var out []string
	for _, e := range edks {
		if e.ProviderID == providerID {
			out = append(out, fmt.Sprintf("%q", e.ProviderInfo))
		}
	}
	return out
}

func noCandidates(stored []string) error {
	if len(stored) == 0 {
		return errors.New("the message has no AWS KMS encrypted data key")
	}
	return fmt.Errorf("no encrypted data key is for this keyring's key; the message's AWS KMS keys are %s", strings.Join(stored, ", "))
}

func edk(a kmsarn.ARN, ciphertext []byte) format.EncryptedDataKey {
	return format.EncryptedDataKey{ProviderID: ProviderID, ProviderInfo: []byte(a.String()), Ciphertext: ciphertext}
}

// kmsContext returns the encryption context to send to KMS: nil when
// empty, so that the request carries none.
func kmsContext(ec map[string]string) map[string]string {
	if len(ec) == 0 {
		return nil
	}
	return ec
}

// callError wraps the error of a KMS call. When the call failed because
// ctx ended, errors.Is finds ctx.Err() as well.
func callError(ctx context.Context, desc, op string, err error) error {
	if ctx.Err() != nil {
		return contextDone(ctx, desc+": "+op, err)
	}
	return fmt.Errorf("esdk/kmsprovider: %s: %s: %w", desc, op, err)
}
