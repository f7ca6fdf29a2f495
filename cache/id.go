package cache

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"slices"

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
	ec, err := format.AppendEncryptionContext(scratch[:0], req.EncryptionContext)
	if err != nil {
		return cacheID{}, err
	}
	ech := sha512.Sum512(ec)
	var buf [2*sha512.Size + 3]byte
	b := append(buf[:0], p[:]...)
	if req.Suite == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.BigEndian.AppendUint16(b, uint16(req.Suite.ID()))
	}
	b = append(b, ech[:]...)
	return sha512.Sum512(b), nil
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
	var out cacheID
	h.Sum(out[:0])
	return out, nil
}
