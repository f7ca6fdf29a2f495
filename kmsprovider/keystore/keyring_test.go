package keystore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
)

var suite = format.MustSuite(0x0578)

// encrypted is one data key and the encrypted data keys that wrap it.
type encrypted struct {
	ec   map[string]string
	pdk  []byte
	edks []format.EncryptedDataKey
}

func encryptWith(t *testing.T, kr keyring.Keyring, ec map[string]string) encrypted {
	t.Helper()
	m := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
	require.NoError(t, kr.OnEncrypt(ctx, m))
	require.Len(t, m.PlaintextDataKey, suite.KeyLength())
	return encrypted{ec: ec, pdk: m.PlaintextDataKey, edks: m.EncryptedDataKeys}
}

func decryptWith(t *testing.T, kr keyring.Keyring, e encrypted) {
	t.Helper()
	m := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: e.ec}
	require.NoError(t, kr.OnDecrypt(ctx, m, e.edks))
	require.Equal(t, e.pdk, m.PlaintextDataKey)
}

func decryptErr(kr keyring.Keyring, e encrypted) error {
	m := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: e.ec}
	err := kr.OnDecrypt(ctx, m, e.edks)
	if err == nil && !bytes.Equal(m.PlaintextDataKey, e.pdk) {
		return errors.New("decrypted to another data key")
	}
	return err
}

// wrapUnder encrypts under one given branch key version.
func wrapUnder(t *testing.T, m *keystore.BranchKeyMaterials, ec map[string]string) encrypted {
	t.Helper()
	kr := newKeyring(t, staticStore(t, m), func(o *keystore.HierarchicalKeyringOptions) { o.BranchKeyID = m.BranchKeyID })
	return encryptWith(t, kr, ec)
}

func staticStore(t *testing.T, m *keystore.BranchKeyMaterials) *keystore.StaticStore {
	t.Helper()
	s, err := keystore.NewStaticStore(keystore.StaticStoreOptions{BranchKeyID: m.BranchKeyID, BranchKeyVersion: m.BranchKeyVersion, BranchKey: m.BranchKey})
	require.NoError(t, err)
	return s
}

func randomBranchKey(t *testing.T, id, version string) *keystore.BranchKeyMaterials {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return &keystore.BranchKeyMaterials{BranchKeyID: id, BranchKeyVersion: version, BranchKey: k}
}

func newKeyring(t *testing.T, s keystore.BranchKeyStore, fn func(*keystore.HierarchicalKeyringOptions)) *keystore.HierarchicalKeyring {
	t.Helper()
	o := keystore.HierarchicalKeyringOptions{KeyStore: s, TTL: time.Minute}
	if fn != nil {
		fn(&o)
	}
	if o.BranchKeyID == "" && o.BranchKeyIDSupplier == nil {
		o.BranchKeyID = "bk"
	}
	kr, err := keystore.NewHierarchicalKeyring(o)
	require.NoError(t, err)
	return kr
}

const version1 = "0e3b3b4a-5f0a-4b8e-9c1d-2a3b4c5d6e7f"

func TestKeyringOptions(t *testing.T) {
	s := staticStore(t, randomBranchKey(t, "bk", version1))
	c, err := keystore.NewCache(keystore.CacheOptions{})
	require.NoError(t, err)
	supplier := keystore.BranchKeyIDSupplierFunc(func(context.Context, map[string]string) (string, error) { return "bk", nil })
	for name, tc := range map[string]struct {
		o    keystore.HierarchicalKeyringOptions
		want string
	}{
		"no store":       {keystore.HierarchicalKeyringOptions{BranchKeyID: "bk", TTL: time.Minute}, "KeyStore"},
		"nil store":      {keystore.HierarchicalKeyringOptions{KeyStore: (*keystore.Store)(nil), BranchKeyID: "bk", TTL: time.Minute}, "KeyStore"},
		"no id":          {keystore.HierarchicalKeyringOptions{KeyStore: s, TTL: time.Minute}, "BranchKeyID or BranchKeyIDSupplier"},
		"both ids":       {keystore.HierarchicalKeyringOptions{KeyStore: s, BranchKeyID: "bk", BranchKeyIDSupplier: supplier, TTL: time.Minute}, "both"},
		"no TTL":         {keystore.HierarchicalKeyringOptions{KeyStore: s, BranchKeyID: "bk"}, "TTL"},
		"negative TTL":   {keystore.HierarchicalKeyringOptions{KeyStore: s, BranchKeyID: "bk", TTL: -time.Second}, "TTL"},
		"cache and size": {keystore.HierarchicalKeyringOptions{KeyStore: s, BranchKeyID: "bk", TTL: time.Minute, Cache: c, MaxCacheSize: 5}, "MaxCacheSize"},
		"negative size":  {keystore.HierarchicalKeyringOptions{KeyStore: s, BranchKeyID: "bk", TTL: time.Minute, MaxCacheSize: -1}, "MaxCacheSize"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := keystore.NewHierarchicalKeyring(tc.o)
			require.ErrorContains(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "esdk/keystore: "))
		})
	}
}

// TestWireFormat checks the encrypted data key's fields and sizes.
func TestWireFormat(t *testing.T) {
	bk := randomBranchKey(t, "tenant-7", version1)
	kr := newKeyring(t, staticStore(t, bk), func(o *keystore.HierarchicalKeyringOptions) { o.BranchKeyID = "tenant-7" })
	for _, id := range []format.SuiteID{0x0014, 0x0046, 0x0078, 0x0178, 0x0346, 0x0478, 0x0578} {
		s := format.MustSuite(id)
		m := &keyring.EncryptionMaterials{Suite: s, EncryptionContext: map[string]string{"a": "b"}}
		require.NoError(t, kr.OnEncrypt(ctx, m))
		require.Len(t, m.EncryptedDataKeys, 1)
		e := m.EncryptedDataKeys[0]
		require.Equal(t, "aws-kms-hierarchy", e.ProviderID)
		require.Equal(t, "tenant-7", string(e.ProviderInfo))
		require.Len(t, e.Ciphertext, 16+12+16+s.KeyLength()+16)
		require.Equal(t, []byte{0x0e, 0x3b, 0x3b, 0x4a, 0x5f, 0x0a, 0x4b, 0x8e, 0x9c, 0x1d, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x7f}, e.Ciphertext[28:44])
		d := &keyring.DecryptionMaterials{Suite: s, EncryptionContext: map[string]string{"a": "b"}}
		require.NoError(t, kr.OnDecrypt(ctx, d, m.EncryptedDataKeys))
		require.Equal(t, m.PlaintextDataKey, d.PlaintextDataKey)
	}
	// A given data key is wrapped, not replaced; salts and IVs differ.
	pdk := bytes.Repeat([]byte{7}, 32)
	m := &keyring.EncryptionMaterials{Suite: suite, PlaintextDataKey: pdk}
	require.NoError(t, kr.OnEncrypt(ctx, m))
	require.NoError(t, kr.OnEncrypt(ctx, m))
	require.Equal(t, pdk, m.PlaintextDataKey)
	require.NotEqual(t, m.EncryptedDataKeys[0].Ciphertext[:28], m.EncryptedDataKeys[1].Ciphertext[:28])
}

// TestTampered: every bit of the wrapped key, the provider info and the
// encryption context is authenticated; a change is a no-match, never a
// data key, and never a store failure.
func TestTampered(t *testing.T) {
	bk := randomBranchKey(t, "bk", version1)
	kr := newKeyring(t, staticStore(t, bk), nil)
	e := encryptWith(t, kr, map[string]string{"k": "v"})
	ct := e.edks[0].Ciphertext
	for i := range ct {
		if i >= 28 && i < 44 {
			continue // the version bytes: a version the store does not have (below)
		}
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		err := decryptErr(kr, encrypted{ec: e.ec, pdk: e.pdk, edks: []format.EncryptedDataKey{{ProviderID: "aws-kms-hierarchy", ProviderInfo: []byte("bk"), Ciphertext: bad}}})
		require.Error(t, err, "byte %d", i)
		require.ErrorIs(t, err, keyring.ErrNoMatchingKey, "byte %d", i)
		require.ErrorContains(t, err, "message authentication failed")
	}
	err := decryptErr(kr, encrypted{ec: map[string]string{"k": "w"}, pdk: e.pdk, edks: e.edks})
	require.ErrorIs(t, err, keyring.ErrNoMatchingKey)
	err = decryptErr(kr, encrypted{ec: e.ec, pdk: e.pdk, edks: []format.EncryptedDataKey{{ProviderID: "aws-kms-hierarchy", ProviderInfo: []byte("bk"), Ciphertext: ct[:len(ct)-1]}}})
	require.ErrorIs(t, err, keyring.ErrNoMatchingKey)
	require.ErrorContains(t, err, "bytes, want")

	// Another branch key's keys are not this keyring's.
	other := newKeyring(t, staticStore(t, randomBranchKey(t, "other", version1)), func(o *keystore.HierarchicalKeyringOptions) { o.BranchKeyID = "other" })
	err = decryptErr(other, e)
	require.ErrorIs(t, err, keyring.ErrNoMatchingKey)
	require.ErrorContains(t, err, `for branch keys "bk"`)

	// A version the store does not have: the store failed, not the message.
	bad := bytes.Clone(ct)
	bad[30] ^= 0x01
	err = decryptErr(kr, encrypted{ec: e.ec, pdk: e.pdk, edks: []format.EncryptedDataKey{{ProviderID: "aws-kms-hierarchy", ProviderInfo: []byte("bk"), Ciphertext: bad}}})
	require.NotErrorIs(t, err, keyring.ErrNoMatchingKey)
	require.ErrorIs(t, err, keystore.ErrBranchKeyNotFound)
	var ue *keyring.UnwrapError
	require.ErrorAs(t, err, &ue)

	// Materials that already have a data key.
	m := &keyring.DecryptionMaterials{Suite: suite, PlaintextDataKey: make([]byte, 32)}
	require.ErrorIs(t, kr.OnDecrypt(ctx, m, e.edks), keyring.ErrDataKeyAlreadySet)
}

// TestFailingStore: a store that fails is reported as that failure, on
// encrypt and decrypt, and the materials are unchanged.
func TestFailingStore(t *testing.T) {
	bk := randomBranchKey(t, "bk", version1)
	good := newKeyring(t, staticStore(t, bk), nil)
	e := encryptWith(t, good, nil)
	boom := errors.New("DynamoDB is down")
	s := &countingStore{BranchKeyStore: staticStore(t, bk), err: boom}
	kr := newKeyring(t, s, nil)

	m := &keyring.EncryptionMaterials{Suite: suite}
	err := kr.OnEncrypt(ctx, m)
	require.ErrorIs(t, err, boom)
	require.Nil(t, m.PlaintextDataKey)
	require.Empty(t, m.EncryptedDataKeys)

	err = decryptErr(kr, e)
	require.ErrorIs(t, err, boom)
	require.NotErrorIs(t, err, keyring.ErrNoMatchingKey)
	require.ErrorAs(t, err, new(*keyring.UnwrapError))

	// Through a multi-keyring, too, it is not a no-match.
	multi, err := keyring.NewMulti(keyring.MultiOptions{Children: []keyring.Keyring{kr}})
	require.NoError(t, err)
	err = decryptErr(multi, e)
	require.NotErrorIs(t, err, keyring.ErrNoMatchingKey)
}

// TestErrorPrefixOnce: an error of the keyring or the store that holds
// another of this package says "esdk/keystore:" once, and still matches
// it.
func TestErrorPrefixOnce(t *testing.T) {
	once := func(t *testing.T, err error) {
		t.Helper()
		require.Error(t, err)
		require.True(t, strings.HasPrefix(err.Error(), "esdk/keystore: "), err.Error())
		require.Equal(t, 1, strings.Count(err.Error(), "esdk/keystore: "), err.Error())
	}
	bk := randomBranchKey(t, "bk", version1)
	kr := newKeyring(t, staticStore(t, bk), func(o *keystore.HierarchicalKeyringOptions) { o.BranchKeyID = "nobody" })
	err := kr.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite})
	once(t, err)
	require.ErrorIs(t, err, keystore.ErrBranchKeyNotFound)
	require.ErrorContains(t, err, "getting the active branch key nobody: GetActiveBranchKey branch key nobody version "+version1+": no such branch key")

	// The context ends while the store fails.
	down := &keystore.Error{Op: "GetBranchKeyVersion", Kind: keystore.ErrDynamoDB, Err: errors.New("DynamoDB is down")}
	e := encryptWith(t, newKeyring(t, staticStore(t, bk), nil), nil)
	c, cancel := context.WithCancel(ctx)
	s := &countingStore{BranchKeyStore: staticStore(t, bk), err: down}
	s.hook = cancel
	m := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: e.ec}
	err = newKeyring(t, s, nil).OnDecrypt(c, m, e.edks)
	once(t, err)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, keystore.ErrDynamoDB)

	nested := &keystore.Error{Op: "CreateKey", Kind: keystore.ErrKMS, Err: down}
	once(t, nested)
	require.ErrorIs(t, nested, keystore.ErrDynamoDB)
}

// TestCacheCalls: with a warm cache, one store call per branch key
// version per TTL.
func TestCacheCalls(t *testing.T) {
	clk := newClock()
	bk := randomBranchKey(t, "bk", version1)
	s := &countingStore{BranchKeyStore: staticStore(t, bk)}
	kr := newKeyring(t, s, func(o *keystore.HierarchicalKeyringOptions) { o.TTL = time.Minute; o.Now = clk.Now })
	var msgs []encrypted
	for range 100 {
		msgs = append(msgs, encryptWith(t, kr, nil))
	}
	for _, e := range msgs {
		decryptWith(t, kr, e)
	}
	active, version := s.counts()
	require.Equal(t, 1, active)
	require.Equal(t, 1, version)
	st := kr.Cache().Stats()
	require.Equal(t, uint64(2), st.Loads)
	require.Equal(t, uint64(198), st.Hits)
	require.Equal(t, 2, st.Entries)

	clk.Advance(time.Minute) // still within: now - created <= TTL
	encryptWith(t, kr, nil)
	clk.Advance(time.Nanosecond)
	encryptWith(t, kr, nil)
	decryptWith(t, kr, msgs[0])
	active, version = s.counts()
	require.Equal(t, 2, active)
	require.Equal(t, 2, version)
	require.Equal(t, uint64(2), kr.Cache().Stats().Expirations)
}

// TestSingleFlight: many goroutines that miss together make one store
// call; a failing store is called once and its error reaches them all.
func TestSingleFlight(t *testing.T) {
	bk := randomBranchKey(t, "bk", version1)
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprint("fail=", fail), func(t *testing.T) {
			s := &countingStore{BranchKeyStore: staticStore(t, bk), gate: make(chan struct{})}
			if fail {
				s.err = errors.New("throttled")
			}
			kr := newKeyring(t, s, nil)
			const n = 64
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = kr.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite})
				}()
			}
			for kr.Cache().Stats().Waits < n-1 {
				time.Sleep(time.Millisecond)
			}
			close(s.gate)
			wg.Wait()
			active, _ := s.counts()
			require.Equal(t, 1, active)
			for _, err := range errs {
				if fail {
					require.ErrorContains(t, err, "throttled")
				} else {
					require.NoError(t, err)
				}
			}
		})
	}
}

// TestWaiterContext: a waiter whose context ends returns at once; a
// leader whose context ends does not hand its error to the waiters.
func TestWaiterContext(t *testing.T) {
	bk := randomBranchKey(t, "bk", version1)
	s := &countingStore{BranchKeyStore: staticStore(t, bk), gate: make(chan struct{})}
	kr := newKeyring(t, s, nil)
	done := make(chan error)
	go func() { done <- kr.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite}) }()
	for a, _ := s.counts(); a == 0; a, _ = s.counts() {
		time.Sleep(time.Millisecond)
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	err := kr.OnEncrypt(c, &keyring.EncryptionMaterials{Suite: suite})
	require.ErrorIs(t, err, context.Canceled)
	close(s.gate)
	require.NoError(t, <-done)
}

// TestSharedCache: keyrings share a cache's entries only with the same
// partition id; each honours its own TTL.
func TestSharedCache(t *testing.T) {
	clk := newClock()
	c, err := keystore.NewCache(keystore.CacheOptions{Now: clk.Now})
	require.NoError(t, err)
	bk := randomBranchKey(t, "bk", version1)
	s := &countingStore{BranchKeyStore: staticStore(t, bk)}
	mk := func(partition string, ttl time.Duration) *keystore.HierarchicalKeyring {
		return newKeyring(t, s, func(o *keystore.HierarchicalKeyringOptions) { o.Cache = c; o.PartitionID = partition; o.TTL = ttl })
	}
	a, b, other, short := mk("p", time.Hour), mk("p", time.Hour), mk("q", time.Hour), mk("p", time.Second)
	encryptWith(t, a, nil)
	encryptWith(t, b, nil)
	active, _ := s.counts()
	require.Equal(t, 1, active, "same partition: shared")
	encryptWith(t, other, nil)
	active, _ = s.counts()
	require.Equal(t, 2, active, "another partition: not shared")
	// Default partitions are random: never shared.
	encryptWith(t, mk("", time.Hour), nil)
	encryptWith(t, mk("", time.Hour), nil)
	active, _ = s.counts()
	require.Equal(t, 4, active)

	clk.Advance(2 * time.Second)
	encryptWith(t, a, nil)
	active, _ = s.counts()
	require.Equal(t, 4, active, "within a's TTL")
	encryptWith(t, short, nil)
	active, _ = s.counts()
	require.Equal(t, 5, active, "past short's TTL: it fetches again")
	encryptWith(t, a, nil)
	active, _ = s.counts()
	require.Equal(t, 5, active, "short's entry serves a")
}

// TestSupplier: a multi-tenant keyring picks the branch key from the
// encryption context.
func TestSupplier(t *testing.T) {
	e := newEnv(t)
	ids := map[string]string{}
	for _, tenant := range []string{"acme", "globex"} {
		id, err := e.store.CreateKey(ctx, keystore.WithBranchKeyID("bk-"+tenant, map[string]string{"tenant": tenant}))
		require.NoError(t, err)
		ids[tenant] = id
	}
	supplier := keystore.BranchKeyIDSupplierFunc(func(_ context.Context, ec map[string]string) (string, error) {
		id, ok := ids[ec["tenant"]]
		if !ok {
			return "", fmt.Errorf("unknown tenant %q", ec["tenant"])
		}
		return id, nil
	})
	kr := newKeyring(t, e.store, func(o *keystore.HierarchicalKeyringOptions) { o.BranchKeyIDSupplier = supplier })
	for tenant, id := range ids {
		enc := encryptWith(t, kr, map[string]string{"tenant": tenant})
		require.Equal(t, id, string(enc.edks[0].ProviderInfo))
		decryptWith(t, kr, enc)
	}
	m := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: map[string]string{"tenant": "initech"}}
	require.ErrorContains(t, kr.OnEncrypt(ctx, m), "unknown tenant")

	// One tenant's message is not another's: swapping the context names
	// another branch key, whose keys the message does not hold.
	enc := encryptWith(t, kr, map[string]string{"tenant": "acme"})
	enc.ec = map[string]string{"tenant": "globex"}
	require.ErrorIs(t, decryptErr(kr, enc), keyring.ErrNoMatchingKey)
}

// TestRotation: after VersionKey (and the TTL), new messages use the new
// version and old ones still decrypt.
func TestRotation(t *testing.T) {
	e := newEnv(t)
	id, err := e.store.CreateKey(ctx)
	require.NoError(t, err)
	clk := newClock()
	kr := newKeyring(t, e.store, func(o *keystore.HierarchicalKeyringOptions) { o.BranchKeyID = id; o.Now = clk.Now })
	old := encryptWith(t, kr, nil)
	require.NoError(t, e.store.VersionKey(ctx, id))
	same := encryptWith(t, kr, nil)
	require.Equal(t, old.edks[0].Ciphertext[28:44], same.edks[0].Ciphertext[28:44], "cached until the TTL")
	clk.Advance(2 * time.Minute)
	rotated := encryptWith(t, kr, nil)
	require.NotEqual(t, old.edks[0].Ciphertext[28:44], rotated.edks[0].Ciphertext[28:44])
	fresh := newKeyring(t, e.store, func(o *keystore.HierarchicalKeyringOptions) { o.BranchKeyID = id })
	for _, m := range []encrypted{old, same, rotated} {
		decryptWith(t, kr, m)
		decryptWith(t, fresh, m)
	}
	// A message with both versions' keys decrypts with the first that
	// works, and KMS is asked once per version.
	both := encrypted{pdk: old.pdk, edks: append(append([]format.EncryptedDataKey{}, old.edks...), old.edks...)}
	decryptWith(t, fresh, both)
}

// TestEnvelope runs whole messages through the envelope client, with the
// store's KMS and DynamoDB calls counted.
func TestEnvelope(t *testing.T) {
	e := newEnv(t)
	id, err := e.store.CreateKey(ctx)
	require.NoError(t, err)
	kr := newKeyring(t, e.store, func(o *keystore.HierarchicalKeyringOptions) { o.BranchKeyID = id })
	client, err := envelope.New()
	require.NoError(t, err)
	mm, err := envelope.NewDefaultManager(kr)
	require.NoError(t, err)
	e.kms.ResetCalls()
	e.ddb.ResetCalls()
	pt := []byte("hello, branch keys")
	for range 20 {
		ct, err := client.EncryptBytes(ctx, pt, mm, map[string]string{"purpose": "test"})
		require.NoError(t, err)
		got, _, err := client.DecryptBytes(ctx, ct, mm, nil)
		require.NoError(t, err)
		require.Equal(t, pt, got)
	}
	require.Equal(t, 2, e.kms.Count("Decrypt"), "one for the active item, one for the version item")
	require.Equal(t, 2, e.ddb.Count("GetItem"))
}
