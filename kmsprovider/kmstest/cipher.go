package kmstest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// A symmetric ciphertext blob is
//
//	version (1) | len(ARN) (1) | key ARN | nonce (12) | AES-256-GCM ciphertext and tag
//
// sealed with the additional data version | len | ARN | canonical encryption
// context, so it is bound to its key and its encryption context.
const (
	blobVersion   = 0x01
	nonceSize     = 12
	tagSize       = 16
	maxCiphertext = 6144
	maxPlaintext  = 4096
)

// canonicalContext serializes an encryption context with its keys sorted and
// every string length-prefixed, so no two contexts share an encoding.
func canonicalContext(dst []byte, ec map[string]string) []byte {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(keys)))
	for _, k := range keys {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(k)))
		dst = append(dst, k...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(ec[k])))
		dst = append(dst, ec[k]...)
	}
	return dst
}

func gcm(m *material) cipher.AEAD {
	b, err := aes.NewCipher(m.aes)
	if err != nil {
		panic("esdk/kmstest: " + err.Error()) // material is always 32 bytes
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic("esdk/kmstest: " + err.Error())
	}
	return a
}

// sealSymmetric encrypts plaintext under a symmetric key.
func sealSymmetric(k *key, plaintext []byte, ec map[string]string) []byte {
	blob := []byte{blobVersion, byte(len(k.arn))}
	blob = append(blob, k.arn...)
	aad := canonicalContext(append([]byte(nil), blob...), ec)
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	blob = append(blob, nonce...)
	return gcm(k.mat).Seal(blob, nonce, plaintext, aad)
}

// blobKey returns the key that a symmetric ciphertext blob names, and
// whether the blob is well formed enough to name one.
func blobKey(blob []byte) (keyRef, bool) {
	if len(blob) < 2 || blob[0] != blobVersion {
		return keyRef{}, false
	}
	n := int(blob[1])
	if len(blob) < 2+n+nonceSize+tagSize {
		return keyRef{}, false
	}
	return parseKeyARN(string(blob[2 : 2+n]))
}

// parseKeyARN splits a well-formed key ARN.
func parseKeyARN(arn string) (keyRef, bool) {
	f := strings.Split(arn, ":")
	if len(f) != 6 || f[0] != "arn" || f[2] != "kms" || f[3] == "" || f[1] != partition(f[3]) || !isAccount(f[4]) {
		return keyRef{}, false
	}
	id, ok := strings.CutPrefix(f[5], "key/")
	if !ok || id == "" {
		return keyRef{}, false
	}
	return keyRef{region: f[3], account: f[4], id: id}, true
}

// openSymmetric decrypts a blob (already checked by blobKey) with a key's
// material.
func openSymmetric(m *material, blob []byte, ec map[string]string) ([]byte, bool) {
	h := 2 + int(blob[1])
	aad := canonicalContext(append([]byte(nil), blob[:h]...), ec)
	nonce := blob[h : h+nonceSize]
	pt, err := gcm(m).Open(nil, nonce, blob[h+nonceSize:], aad)
	return pt, err == nil
}

func oaepHash(alg types.EncryptionAlgorithmSpec) hash.Hash {
	switch alg {
	case types.EncryptionAlgorithmSpecRsaesOaepSha1:
		return sha1.New()
	case types.EncryptionAlgorithmSpecRsaesOaepSha256:
		return sha256.New()
	}
	return nil
}

// maxRSAPlaintext is the longest plaintext RSAES-OAEP takes for a key and
// hash.
func maxRSAPlaintext(k *rsa.PrivateKey, h hash.Hash) int {
	return k.Size() - 2*h.Size() - 2
}
