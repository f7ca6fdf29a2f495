package keystore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// ProviderID is the provider id of the hierarchical keyring's encrypted
// data keys.
const ProviderID = "aws-kms-hierarchy"

// The wrapped key's layout: salt ‖ IV ‖ branch key version (16 bytes of
// the UUID) ‖ AES-256-GCM ciphertext of the data key ‖ 16-byte tag.
const (
	saltLength    = 16
	ivLength      = 12
	versionLength = 16
	tagLength     = 16
	edkOverhead   = saltLength + ivLength + versionLength + tagLength
)

// BranchKeyIDSupplier chooses the branch key of a message from its
// encryption context, for a keyring that serves many tenants: each
// tenant's messages under its own branch key.
type BranchKeyIDSupplier interface {
	// BranchKeyID returns the branch key id for a message with the
	// encryption context ec (on decryption, the message's context). It
	// must not change ec.
	BranchKeyID(ctx context.Context, ec map[string]string) (string, error)
}

// BranchKeyIDSupplierFunc adapts a function to a [BranchKeyIDSupplier].
type BranchKeyIDSupplierFunc func(ctx context.Context, ec map[string]string) (string, error)

// BranchKeyID calls f.
func (f BranchKeyIDSupplierFunc) BranchKeyID(ctx context.Context, ec map[string]string) (string, error) {
	return f(ctx, ec)
}

// HierarchicalKeyringOptions configure a [HierarchicalKeyring] (see
// [NewHierarchicalKeyring]).
type HierarchicalKeyringOptions struct {
	// KeyStore holds the branch keys: a [*Store], or any
	// [BranchKeyStore]. Required.
	KeyStore BranchKeyStore
	// BranchKeyID is the one branch key the keyring uses. Exactly one of
	// BranchKeyID and BranchKeyIDSupplier is set.
	BranchKeyID string
	// BranchKeyIDSupplier chooses the branch key per message.
	BranchKeyIDSupplier BranchKeyIDSupplier
	// TTL is how long a branch key version fetched from the store is
	// used before it is fetched again. Required, greater than zero. See
	// the package doc for what it trades.
	TTL time.Duration
	// Cache is a cache shared with other keyrings; nil gives the keyring
	// a cache of its own with MaxCacheSize entries.
	Cache *Cache
	// MaxCacheSize is the capacity of the keyring's own cache; 0 means
	// DefaultCacheCapacity. It must be 0 when Cache is set.
	MaxCacheSize int
	// PartitionID separates this keyring's entries in a shared Cache
	// from other keyrings'; empty means a random one, so that no two
	// keyrings share entries. Keyrings with the same PartitionID, the
	// same LogicalKeyStoreName and the same branch key id share them:
	// set it only for keyrings that may use each other's branch keys.
	PartitionID string
	// Now is the clock of the keyring's own cache; nil means time.Now.
	// With a shared Cache the cache's clock is used.
	Now func() time.Time
}

// HierarchicalKeyring is the AWS KMS hierarchical keyring of the AWS
// Encryption SDK specification (framework/aws-kms/
// aws-kms-hierarchical-keyring.md): it wraps each data key with a key
// derived from a branch key and a random salt, and fetches branch keys
// from its [BranchKeyStore] once per time to live. It is safe for
// concurrent use.
type HierarchicalKeyring struct {
	store       BranchKeyStore
	branchKeyID string
	supplier    BranchKeyIDSupplier
	ttl         time.Duration
	cache       *Cache
	partition   []byte
	logicalName string
	desc        string
	// activeID is the encrypt cache id of the configured branch key.
	activeID *cacheID
	// lastVersion remembers the decrypt cache id of the version last
	// decrypted, which most messages share.
	lastVersion atomic.Pointer[versionID]
}

// versionID is a branch key version and its decrypt cache id.
type versionID struct {
	branchKeyID string
	bytes       [16]byte
	version     string
	cacheID     cacheID
}

var _ keyring.Keyring = (*HierarchicalKeyring)(nil)

// NewHierarchicalKeyring returns a hierarchical keyring. It copies o and
// applies optFns to the copy in order. KeyStore, TTL and one of
// BranchKeyID and BranchKeyIDSupplier are required.
func NewHierarchicalKeyring(o HierarchicalKeyringOptions, optFns ...func(*HierarchicalKeyringOptions)) (*HierarchicalKeyring, error) {
	for _, f := range optFns {
		f(&o)
	}
	hasSupplier := !isNil(o.BranchKeyIDSupplier)
	switch {
	case isNil(o.KeyStore):
		return nil, errors.New("esdk/keystore: HierarchicalKeyringOptions.KeyStore is required (a *Store or another BranchKeyStore)")
	case o.BranchKeyID == "" && !hasSupplier:
		return nil, errors.New("esdk/keystore: HierarchicalKeyringOptions needs BranchKeyID or BranchKeyIDSupplier")
	case o.BranchKeyID != "" && hasSupplier:
		return nil, errors.New("esdk/keystore: HierarchicalKeyringOptions has both BranchKeyID and BranchKeyIDSupplier; set one")
	case !utf8.ValidString(o.BranchKeyID):
		return nil, errors.New("esdk/keystore: HierarchicalKeyringOptions.BranchKeyID must be valid UTF-8")
	case o.TTL <= 0:
		return nil, fmt.Errorf("esdk/keystore: HierarchicalKeyringOptions.TTL is %v; it is required and must be greater than zero", o.TTL)
	case o.Cache != nil && o.MaxCacheSize != 0:
		return nil, errors.New("esdk/keystore: HierarchicalKeyringOptions has both Cache and MaxCacheSize; MaxCacheSize sizes the keyring's own cache")
	case o.MaxCacheSize < 0:
		return nil, fmt.Errorf("esdk/keystore: HierarchicalKeyringOptions.MaxCacheSize %d is negative", o.MaxCacheSize)
	case !utf8.ValidString(o.PartitionID):
		return nil, errors.New("esdk/keystore: HierarchicalKeyringOptions.PartitionID must be valid UTF-8")
	}
	name := o.KeyStore.LogicalKeyStoreName()
	if !utf8.ValidString(name) {
		return nil, errors.New("esdk/keystore: the key store's logical name is not valid UTF-8")
	}
	k := &HierarchicalKeyring{
		store: o.KeyStore, branchKeyID: o.BranchKeyID, supplier: o.BranchKeyIDSupplier,
		ttl: o.TTL, cache: o.Cache, partition: []byte(o.PartitionID), logicalName: name,
	}
	if k.cache == nil {
		c, err := NewCache(CacheOptions{Capacity: o.MaxCacheSize, Now: o.Now})
		if err != nil {
			return nil, err
		}
		k.cache = c
	}
	if o.PartitionID == "" {
		// The specification's default: the 16 bytes of a random UUID.
		id, err := newUUID()
		if err != nil {
			return nil, err
		}
		b, _ := parseUUID(id)
		k.partition = b[:]
	}
	if k.branchKeyID != "" {
		id := k.cacheID(0x01, k.branchKeyID, "")
		k.activeID = &id
	}
	k.desc = "hierarchical keyring"
	if k.branchKeyID != "" {
		k.desc += " for branch key " + k.branchKeyID
	}
	k.desc += fmt.Sprintf(" (key store %q)", name)
	return k, nil
}

// String describes the keyring.
func (k *HierarchicalKeyring) String() string { return k.desc }

// Cache returns the keyring's cache, its own or the shared one.
func (k *HierarchicalKeyring) Cache() *Cache { return k.cache }

// branchKeyIDFor returns the branch key id of a message.
func (k *HierarchicalKeyring) branchKeyIDFor(ctx context.Context, ec map[string]string) (string, error) {
	if k.supplier == nil {
		return k.branchKeyID, nil
	}
	id, err := k.supplier.BranchKeyID(ctx, ec)
	if err != nil {
		return "", errorf("%s: the branch key id supplier failed: %w", k.desc, err)
	}
	if id == "" || !utf8.ValidString(id) {
		return "", fmt.Errorf("esdk/keystore: %s: the branch key id supplier returned %q, not a branch key id", k.desc, id)
	}
	return id, nil
}

// cacheID is the specification's cache entry identifier (Appendix A):
// SHA-384 of resource id 0x02, scope (0x01 encrypt, 0x02 decrypt),
// partition id, logical key store name, branch key id and, for
// decryption, the branch key version, separated by 0x00 bytes.
func (k *HierarchicalKeyring) cacheID(scope byte, branchKeyID, version string) cacheID {
	if scope == 0x01 && branchKeyID == k.branchKeyID && k.activeID != nil {
		return *k.activeID
	}
	var buf [256]byte
	b := append(buf[:0], 0x02, 0x00, scope, 0x00)
	b = append(b, k.partition...)
	b = append(b, 0x00)
	b = append(b, k.logicalName...)
	b = append(b, 0x00)
	b = append(b, branchKeyID...)
	if scope == 0x02 {
		b = append(b, 0x00)
		b = append(b, version...)
	}
	return sha512.Sum384(b)
}

// toBranchKey checks the store's answer for the branch key asked for and
// moves it into a branchKey, zeroing the materials' copy of the key.
func toBranchKey(m *BranchKeyMaterials, id, version string) (branchKey, error) {
	if m == nil {
		return branchKey{}, errors.New("the store returned no branch key materials")
	}
	defer clear(m.BranchKey)
	switch {
	case m.BranchKeyID != id:
		return branchKey{}, fmt.Errorf("the store returned branch key %q for %q", m.BranchKeyID, id)
	case version != "" && m.BranchKeyVersion != version:
		return branchKey{}, fmt.Errorf("the store returned version %q of branch key %q for version %q", m.BranchKeyVersion, id, version)
	case len(m.BranchKey) != branchKeyLength:
		return branchKey{}, fmt.Errorf("the store returned a %d-byte branch key, want %d", len(m.BranchKey), branchKeyLength)
	}
	vb, err := parseUUID(m.BranchKeyVersion)
	if err != nil {
		return branchKey{}, fmt.Errorf("the store returned branch key version %q, which is %v", m.BranchKeyVersion, err)
	}
	bk := branchKey{id: id, version: m.BranchKeyVersion, versionBytes: vb}
	copy(bk.key[:], m.BranchKey)
	return bk, nil
}

// storeError is a failure of the branch key store, kept apart from a
// wrapped key that does not authenticate.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// activeKey returns the active branch key, from the cache or the store.
func (k *HierarchicalKeyring) activeKey(ctx context.Context, id string, out *branchKey) error {
	return k.cache.fetch(ctx, k.cacheID(0x01, id, ""), k.ttl, out, func() (branchKey, error) {
		m, err := k.store.GetActiveBranchKey(ctx, id)
		if err != nil {
			return branchKey{}, err
		}
		return toBranchKey(m, id, "")
	})
}

// versionKey returns one version of a branch key, from the cache or the store.
func (k *HierarchicalKeyring) versionKey(ctx context.Context, id, version string, cid cacheID, out *branchKey) error {
	return k.cache.fetch(ctx, cid, k.ttl, out, func() (branchKey, error) {
		m, err := k.store.GetBranchKeyVersion(ctx, id, version)
		if err != nil {
			return branchKey{}, err
		}
		return toBranchKey(m, id, version)
	})
}

// wrappingAAD is the AAD of the data key's wrapping: the provider id,
// the branch key id, the 16 version bytes and the serialized encryption
// context.
func wrappingAAD(id string, version *[16]byte, ec []byte) []byte {
	aad := make([]byte, 0, len(ProviderID)+len(id)+versionLength+len(ec))
	aad = append(aad, ProviderID...)
	aad = append(aad, id...)
	aad = append(aad, version[:]...)
	return append(aad, ec...)
}

// gcm returns AES-256-GCM under the key derived from bk and salt.
func gcm(bk *branchKey, salt []byte) (cipher.AEAD, error) {
	var derived [32]byte
	deriveWrappingKey(&derived, bk.key[:], salt)
	defer clear(derived[:])
	block, err := aes.NewCipher(derived[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// OnEncrypt generates the data key when m has none, fetches the active
// version of the message's branch key (from the cache, or the store once
// per time to live) and appends an encrypted data key that wraps the data
// key under a key derived from the branch key and a random salt. On error
// m is unchanged.
func (k *HierarchicalKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	if m.Suite == nil {
		return fmt.Errorf("esdk/keystore: %s: the encryption materials have no algorithm suite", k.desc)
	}
	id, err := k.branchKeyIDFor(ctx, m.EncryptionContext)
	if err != nil {
		return err
	}
	pdk := m.PlaintextDataKey
	if pdk != nil {
		if err := keyring.CheckDataKey(m.Suite, pdk); err != nil {
			return err
		}
	}
	ec, err := format.MarshalEncryptionContext(m.EncryptionContext)
	if err != nil {
		return errorf("%s: %w", k.desc, err)
	}
	var bk branchKey
	defer clear(bk.key[:])
	if err := k.activeKey(ctx, id, &bk); err != nil {
		return errorf("%s: getting the active branch key %s: %w", k.desc, id, err)
	}
	generated := pdk == nil
	if generated {
		pdk = make([]byte, m.Suite.KeyLength())
		if _, err := rand.Read(pdk); err != nil {
			return errorf("%s: generating a data key: %w", k.desc, err)
		}
	}
	ct := make([]byte, saltLength+ivLength+versionLength, edkOverhead+len(pdk))
	if _, err := rand.Read(ct[:saltLength+ivLength]); err != nil {
		return errorf("%s: generating a salt and an IV: %w", k.desc, err)
	}
	copy(ct[saltLength+ivLength:], bk.versionBytes[:])
	aead, err := gcm(&bk, ct[:saltLength])
	if err != nil {
		return errorf("%s: %w", k.desc, err)
	}
	ct = aead.Seal(ct, ct[saltLength:saltLength+ivLength], pdk, wrappingAAD(id, &bk.versionBytes, ec))
	if generated {
		m.PlaintextDataKey = pdk
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, format.EncryptedDataKey{
		ProviderID:   ProviderID,
		ProviderInfo: []byte(id),
		Ciphertext:   ct,
	})
	return nil
}

// OnDecrypt tries, one at a time, the message's encrypted data keys of
// the message's branch key, fetching the branch key version each names
// (from the cache, or the store), and sets m's data key from the first
// that unwraps. When none does, the error holds every cause; it matches
// keyring.ErrNoMatchingKey when no key was this keyring's or none
// authenticated (a *keyring.NoMatchingKeyError), and when the store failed
// it is a *keyring.UnwrapError, which does not (the store's [*Error] and
// the AWS error behind it are reachable with errors.As), so that a store
// that is down never reads as a message that is not for this keyring.
func (k *HierarchicalKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if m.PlaintextDataKey != nil {
		return fmt.Errorf("%w (%s)", keyring.ErrDataKeyAlreadySet, k.desc)
	}
	if m.Suite == nil {
		return fmt.Errorf("esdk/keystore: %s: the decryption materials have no algorithm suite", k.desc)
	}
	id, err := k.branchKeyIDFor(ctx, m.EncryptionContext)
	if err != nil {
		return err
	}
	ec, err := format.MarshalEncryptionContext(m.EncryptionContext)
	if err != nil {
		return errorf("%s: %w", k.desc, err)
	}
	var causes []error
	var others []string
	storeFailed := false
	for i, e := range edks {
		if e.ProviderID != ProviderID {
			continue
		}
		if string(e.ProviderInfo) != id {
			if utf8.Valid(e.ProviderInfo) {
				others = append(others, fmt.Sprintf("%q", e.ProviderInfo))
			}
			continue
		}
		pdk, err := k.unwrap(ctx, id, m.Suite, e.Ciphertext, ec)
		if err == nil {
			m.PlaintextDataKey = pdk
			return nil
		}
		if ctx.Err() != nil {
			return errorf("%s: %w (%w)", k.desc, ctx.Err(), err)
		}
		if errors.As(err, new(*storeError)) {
			storeFailed = true
		}
		causes = append(causes, fmt.Errorf("encrypted data key %d: %w", i, err))
	}
	if storeFailed {
		return &keyring.UnwrapError{Keyring: k.desc, Causes: causes}
	}
	if len(causes) == 0 {
		if len(others) > 0 {
			causes = append(causes, fmt.Errorf("no encrypted data key is for branch key %q; the message's hierarchical keyring keys are for branch keys %s", id, strings.Join(others, ", ")))
		} else {
			causes = append(causes, errors.New("the message has no hierarchical keyring encrypted data key"))
		}
	}
	return &keyring.NoMatchingKeyError{Keyring: k.desc, Causes: causes}
}

// unwrap unwraps one encrypted data key of branch key id.
func (k *HierarchicalKeyring) unwrap(ctx context.Context, id string, suite *format.Suite, ct, ec []byte) ([]byte, error) {
	n := suite.KeyLength()
	if len(ct) != edkOverhead+n {
		return nil, fmt.Errorf("its ciphertext is %d bytes, want %d for suite %s", len(ct), edkOverhead+n, suite.ID())
	}
	var vb [16]byte
	copy(vb[:], ct[saltLength+ivLength:])
	v := k.lastVersion.Load()
	if v == nil || v.bytes != vb || v.branchKeyID != id {
		version := formatUUID(vb)
		v = &versionID{branchKeyID: id, bytes: vb, version: version, cacheID: k.cacheID(0x02, id, version)}
		k.lastVersion.Store(v)
	}
	version := v.version
	var bk branchKey
	defer clear(bk.key[:])
	if err := k.versionKey(ctx, id, version, v.cacheID, &bk); err != nil {
		return nil, &storeError{fmt.Errorf("getting version %s of branch key %s: %w", version, id, err)}
	}
	aead, err := gcm(&bk, ct[:saltLength])
	if err != nil {
		return nil, err
	}
	body := ct[saltLength+ivLength+versionLength:]
	pdk, err := aead.Open(make([]byte, 0, n), ct[saltLength:saltLength+ivLength], body, wrappingAAD(id, &bk.versionBytes, ec))
	if err != nil {
		return nil, fmt.Errorf("branch key %s version %s: %w (a wrong branch key, encryption context or a tampered key)", id, version, err)
	}
	return pdk, nil
}
