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

// encryptionID computes the cache id of an encryption request.
func encryptionID(p *[sha512.Size]byte, req *envelope.EncryptionMaterialsRequest) (string, error) {
	ec, err := format.MarshalEncryptionContext(req.EncryptionContext)
	if err != nil {
		return "", err
	}
	ech := sha512.Sum512(ec)
	h := sha512.New()
	h.Write(p[:])
	if req.Suite == nil {
		h.Write([]byte{0})
	} else {
		h.Write([]byte{1})
		h.Write(binary.BigEndian.AppendUint16(nil, uint16(req.Suite.ID())))
	}
	h.Write(ech[:])
	return string(h.Sum(nil)), nil
}

// decryptionID computes the cache id of a decryption request.
func decryptionID(p *[sha512.Size]byte, req *envelope.DecryptionMaterialsRequest) (string, error) {
	ec, err := format.MarshalEncryptionContext(req.EncryptionContext)
	if err != nil {
		return "", err
	}
	ech := sha512.Sum512(ec)
	hashes := make([][sha512.Size]byte, len(req.EncryptedDataKeys))
	var buf []byte
	for i, k := range req.EncryptedDataKeys {
		if len(k.ProviderID) > 0xFFFF || len(k.ProviderInfo) > 0xFFFF || len(k.Ciphertext) > 0xFFFF {
			return "", errors.New("esdk/cache: an encrypted data key has a field longer than 65535 bytes")
		}
		buf = appendEncryptedDataKey(buf[:0], k)
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
			return "", err
		}
		rech := sha512.Sum512(rec)
		h.Write([]byte{1})
		h.Write(rech[:])
	}
	return string(h.Sum(nil)), nil
}

// appendEncryptedDataKey appends k serialized as in the message header.
func appendEncryptedDataKey(dst []byte, k format.EncryptedDataKey) []byte {
	for _, f := range [][]byte{[]byte(k.ProviderID), k.ProviderInfo, k.Ciphertext} {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(f)))
		dst = append(dst, f...)
	}
	return dst
}
