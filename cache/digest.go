package cache

import (
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"maps"
	"slices"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
)

// A request digest is SHA-512 of every field of a request to the inner
// manager, in order and as given: unlike a cache id, it tells apart what
// the id leaves out or puts in canonical order (the commitment policy, the
// order of the encrypted data keys and of the required keys, a nil map or
// slice from an empty one). Two requests with equal digests ask the inner
// manager the same question. Digests are computed only when a call to the
// inner manager fails; they are not stored and may change.
type requestDigest = [sha512.Size]byte

// encryptionDigest is the digest of an encryption request.
func encryptionDigest(req *envelope.EncryptionMaterialsRequest) requestDigest {
	d := digester{h: sha512.New()}
	d.byte('E')
	d.uint(uint64(req.CommitmentPolicy))
	d.uint(uint64(req.PlaintextLength))
	d.suite(req.Suite)
	d.context(req.EncryptionContext)
	d.strings(req.RequiredEncryptionContextKeys)
	return d.sum()
}

// decryptionDigest is the digest of a decryption request.
func decryptionDigest(req *envelope.DecryptionMaterialsRequest) requestDigest {
	d := digester{h: sha512.New()}
	d.byte('D')
	d.uint(uint64(req.CommitmentPolicy))
	d.suite(req.Suite)
	d.present(req.EncryptedDataKeys != nil, len(req.EncryptedDataKeys))
	for _, k := range req.EncryptedDataKeys {
		d.string(k.ProviderID)
		d.bytes(k.ProviderInfo)
		d.bytes(k.Ciphertext)
	}
	d.context(req.EncryptionContext)
	d.context(req.ReproducedEncryptionContext)
	d.strings(req.RequiredEncryptionContextKeys)
	return d.sum()
}

// digester writes length-prefixed fields into a hash, so that no two
// different sequences of fields write the same bytes.
type digester struct {
	h   hash.Hash
	buf [binary.MaxVarintLen64]byte
}

func (d *digester) byte(b byte) { d.h.Write([]byte{b}) }

func (d *digester) uint(n uint64) { d.h.Write(binary.AppendUvarint(d.buf[:0], n)) }

func (d *digester) bytes(b []byte) {
	d.present(b != nil, len(b))
	d.h.Write(b)
}

func (d *digester) string(s string) {
	d.uint(uint64(len(s)))
	d.h.Write([]byte(s))
}

// present writes whether a map or slice is nil and, if not, its length.
func (d *digester) present(notNil bool, n int) {
	if !notNil {
		d.byte(0)
		return
	}
	d.byte(1)
	d.uint(uint64(n))
}

func (d *digester) suite(s *format.Suite) {
	if s == nil {
		d.byte(0)
		return
	}
	d.byte(1)
	d.uint(uint64(s.ID()))
}

func (d *digester) context(ec map[string]string) {
	d.present(ec != nil, len(ec))
	for _, k := range slices.Sorted(maps.Keys(ec)) {
		d.string(k)
		d.string(ec[k])
	}
}

func (d *digester) strings(ss []string) {
	d.present(ss != nil, len(ss))
	for _, s := range ss {
		d.string(s)
	}
}

func (d *digester) sum() requestDigest {
	var out requestDigest
	d.h.Sum(out[:0])
	return out
}
