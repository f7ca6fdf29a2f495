package keystore

import (
	"bytes"
	"context"
	"crypto/sha512"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCacheIDs checks the cache ids against the specification's
// formulas, written out byte by byte.
func TestCacheIDs(t *testing.T) {
	k := &HierarchicalKeyring{partition: []byte("partition"), logicalName: "logical"}
	enc := sha512.Sum384([]byte("\x02\x00\x01\x00partition\x00logical\x00tenant"))
	dec := sha512.Sum384([]byte("\x02\x00\x02\x00partition\x00logical\x00tenant\x00" + "0e3b3b4a-5f0a-4b8e-9c1d-2a3b4c5d6e7f"))
	require.Equal(t, cacheID(enc), k.cacheID(0x01, "tenant", ""))
	require.Equal(t, cacheID(dec), k.cacheID(0x02, "tenant", "0e3b3b4a-5f0a-4b8e-9c1d-2a3b4c5d6e7f"))
}

// TestCacheZeroes: branch key material is overwritten when its entry
// leaves the cache, for room, by expiry or by Purge.
func TestCacheZeroes(t *testing.T) {
	now := time.Unix(0, 0)
	c, err := NewCache(CacheOptions{Capacity: 1, Now: func() time.Time { return now }})
	require.NoError(t, err)
	load := func(b byte) func() (branchKey, error) {
		return func() (branchKey, error) {
			var bk branchKey
			copy(bk.key[:], bytes.Repeat([]byte{b}, 32))
			return bk, nil
		}
	}
	entry := func(id cacheID) *cacheEntry {
		e, ok := c.lru.Peek(id)
		require.True(t, ok)
		return e
	}
	zero := make([]byte, 32)
	var out branchKey
	ctx := context.Background()
	require.NoError(t, c.fetch(ctx, cacheID{1}, time.Minute, &out, load(0xaa)))
	first := entry(cacheID{1})
	require.NoError(t, c.fetch(ctx, cacheID{2}, time.Minute, &out, load(0xbb)))
	require.Equal(t, zero, first.bk.key[:], "evicted for room")
	require.Equal(t, bytes.Repeat([]byte{0xbb}, 32), out.key[:], "the caller's copy")

	second := entry(cacheID{2})
	now = now.Add(time.Minute)
	c.RemoveExpired()
	require.Equal(t, zero, second.bk.key[:], "expired")
	require.Zero(t, c.lru.Len())

	require.NoError(t, c.fetch(ctx, cacheID{3}, time.Minute, &out, load(0xcc)))
	third := entry(cacheID{3})
	c.Purge()
	require.Equal(t, zero, third.bk.key[:], "purged")
	st := c.Stats()
	require.Equal(t, CacheStats{Loads: 3, Evictions: 1, Expirations: 2}, st)
}

func TestUUID(t *testing.T) {
	for range 100 {
		s, err := newUUID()
		require.NoError(t, err)
		b, err := parseUUID(s)
		require.NoError(t, err)
		require.Equal(t, s, formatUUID(b))
		require.Equal(t, byte(4), b[6]>>4)
		require.Equal(t, byte(2), b[8]>>6)
	}
	for _, bad := range []string{"", "0e3b3b4a5f0a4b8e9c1d2a3b4c5d6e7f", "0E3B3B4A-5F0A-4B8E-9C1D-2A3B4C5D6E7F", "{0e3b3b4a-5f0a-4b8e-9c1d-2a3b4c5d6e7f}", "0e3b3b4a-5f0a-4b8e-9c1d-2a3b4c5d6e7g", "0e3b3b4a-5f0a-4b8e-9c1d+2a3b4c5d6e7f"} {
		_, err := parseUUID(bad)
		require.Error(t, err, bad)
	}
}
