package cache

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"slices"
	"sync"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
)

// The cache ids are documented in the package documentation (doc.go).

// partitionHash is P of the formulas.
func partitionHash(name string) [sha512.Size]byte {
	return sha512.Sum512([]byte(name))
}

// cacheID is a cache id: a SHA-512 hash.
type cacheID = [sha512.Size]byte

// encryptionID computes the cache id of an encryption request.
func encryptionID(p *[sha512.Size]byte, req *envelope.EncryptionMaterialsRequest) (cacheID, error) {
	var scratch [256]byte
	sc, err := appendSuiteAndContext(scratch[:0], req)
	if err != nil {
		return cacheID{}, err
	}
	return hashEncryptionID(p, sc, req.RequiredEncryptionContextKeys)
}

// appendSuiteAndContext appends what an encryption id hashes apart from
// the partition and the required keys: the suite's marker (0, or 1 and
// the suite id) and the serialized encryption context.
func appendSuiteAndContext(dst []byte, req *envelope.EncryptionMaterialsRequest) ([]byte, error) {
	if req.Suite == nil {
		dst = append(dst, 0)
	} else {
		dst = append(dst, 1)
		dst = binary.BigEndian.AppendUint16(dst, uint16(req.Suite.ID()))
	}
	return format.AppendEncryptionContext(dst, req.EncryptionContext)
}

// hashEncryptionID computes an encryption id from the partition hash,
// appendSuiteAndContext's bytes and the required keys.
func hashEncryptionID(p *[sha512.Size]byte, sc []byte, required []string) (cacheID, error) {
	marker := 1
	if sc[0] == 1 {
		marker = 3
	}
	ech := sha512.Sum512(sc[marker:])
	var buf [3*sha512.Size + 4]byte
	b := append(buf[:0], p[:]...)
	b = append(b, sc[:marker]...)
	b = append(b, ech[:]...)
	if len(required) > 0 {
		rk, err := requiredKeysHash(required)
		if err != nil {
			return cacheID{}, err
		}
		b = append(b, 2)
		b = append(b, rk[:]...)
	}
	return sha512.Sum512(b), nil
}

// The id memo's bounds: it holds at most memoEntries ids, each under a
// key of at most memoKeySize bytes.
const (
	memoEntries = 1024
	memoKeySize = 512
)

// idMemo remembers the cache ids a manager computed, keyed by what they
// hash apart from the partition: for encryption the suite and the
// serialized context, for decryption the suite, the encrypted data keys
// and the context. A program that encrypts or decrypts many messages
// under a few contexts and data keys then hashes each once, rather than
// three SHA-512 blocks an encryption and seven or more a decryption. It
// keeps small keys only and starts over when full, so it stays under
// memoEntries x memoKeySize bytes. Requests with required keys or a
// reproduced context are always hashed.
type idMemo struct {
	mu  sync.RWMutex
	ids map[string]cacheID
}

// decryptionMemoKey starts the memo keys of decryption ids; encryption
// keys start with the suite marker, 0 or 1.
const decryptionMemoKey = 2

// encryptionID returns encryptionID(p, req), remembered or computed.
func (m *idMemo) encryptionID(p *[sha512.Size]byte, req *envelope.EncryptionMaterialsRequest) (cacheID, error) {
	var scratch [memoKeySize]byte
	sc, err := appendSuiteAndContext(scratch[:0], req)
	if err != nil {
		return cacheID{}, err
	}
	if len(req.RequiredEncryptionContextKeys) > 0 || len(sc) > memoKeySize {
		return hashEncryptionID(p, sc, req.RequiredEncryptionContextKeys)
	}
	return m.lookup(sc, func() (cacheID, error) { return hashEncryptionID(p, sc, nil) })
}

// decryptionID returns decryptionID(p, req), remembered or computed.
func (m *idMemo) decryptionID(p *[sha512.Size]byte, req *envelope.DecryptionMaterialsRequest) (cacheID, error) {
	compute := func() (cacheID, error) { return decryptionID(p, req) }
	if len(req.RequiredEncryptionContextKeys) > 0 || len(req.ReproducedEncryptionContext) > 0 {
		return compute()
	}
	size := 1 + 2 + 2
	for _, k := range req.EncryptedDataKeys {
		size += 6 + len(k.ProviderID) + len(k.ProviderInfo) + len(k.Ciphertext)
		if size > memoKeySize {
			return compute() // which refuses a field too long to serialize
		}
	}
	var scratch [memoKeySize]byte
	key := append(scratch[:0], decryptionMemoKey)
	key = binary.BigEndian.AppendUint16(key, uint16(req.Suite.ID()))
	key = format.AppendEncryptedDataKeys(key, req.EncryptedDataKeys)
	key, err := format.AppendEncryptionContext(key, req.EncryptionContext)
	if err != nil || len(key) > memoKeySize {
		return compute()
	}
	return m.lookup(key, compute)
}

// lookup returns the id remembered under key, or computes and remembers
// it.
func (m *idMemo) lookup(key []byte, compute func() (cacheID, error)) (cacheID, error) {
	m.mu.RLock()
	id, ok := m.ids[string(key)]
	m.mu.RUnlock()
	if ok {
		return id, nil
	}
	id, err := compute()
	if err != nil {
		return cacheID{}, err
	}
	m.mu.Lock()
	if m.ids == nil {
		m.ids = make(map[string]cacheID)
	}
	if len(m.ids) >= memoEntries {
		clear(m.ids)
	}
	m.ids[string(key)] = id
	m.mu.Unlock()
	return id, nil
}

// decryptionID computes the cache id of a decryption request.
func decryptionID(p *[sha512.Size]byte, req *envelope.DecryptionMaterialsRequest) (cacheID, error) {
	ec, err := format.MarshalEncryptionContext(req.EncryptionContext)
	if err != nil {
		return cacheID{}, err
	}
	ech := sha512.Sum512(ec)
	hashes := make([][sha512.Size]byte, len(req.EncryptedDataKeys))
	var buf []byte
	for i, k := range req.EncryptedDataKeys {
		if len(k.ProviderID) > 0xFFFF || len(k.ProviderInfo) > 0xFFFF || len(k.Ciphertext) > 0xFFFF {
			return cacheID{}, errors.New("esdk/cache: an encrypted data key has a field longer than 65535 bytes")
		}
		buf = format.AppendEncryptedDataKey(buf[:0], k)
		hashes[i] = sha512.Sum512(buf)
	}
	slices.SortFunc(hashes, func(a, b [sha512.Size]byte) int { return bytes.Compare(a[:], b[:]) })

	h := sha512.New()
	h.Write(p[:])
	h.Write(binary.BigEndian.AppendUint16(nil, uint16(req.Suite.ID())))
	for i := range hashes {
		h.Write(hashes[i][:])
	}
	h.Write(make([]byte, sha512.Size))
	h.Write(ech[:])
	if len(req.ReproducedEncryptionContext) > 0 {
		rec, err := format.MarshalEncryptionContext(req.ReproducedEncryptionContext)
		if err != nil {
			return cacheID{}, err
		}
		rech := sha512.Sum512(rec)
		h.Write([]byte{1})
		h.Write(rech[:])
	}
	if len(req.RequiredEncryptionContextKeys) > 0 {
		rk, err := requiredKeysHash(req.RequiredEncryptionContextKeys)
		if err != nil {
			return cacheID{}, err
		}
		h.Write([]byte{2})
		h.Write(rk[:])
	}
	var out cacheID
	h.Sum(out[:0])
	return out, nil
}

// requiredKeysHash is SHA-512 of the distinct required keys in bytewise
// order, each as a 2-byte length and its bytes.
func requiredKeysHash(keys []string) ([sha512.Size]byte, error) {
	ks := slices.Clone(keys)
	slices.Sort(ks)
	ks = slices.Compact(ks)
	var b []byte
	for _, k := range ks {
		if len(k) > 0xFFFF {
			return [sha512.Size]byte{}, errors.New("esdk/cache: a required encryption context key is longer than 65535 bytes")
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(k)))
		b = append(b, k...)
	}
	return sha512.Sum512(b), nil
}
