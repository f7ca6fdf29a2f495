package engine

import (
	"crypto/hmac"
	"crypto/sha512"
)

// hkdfSHA512 is RFC 5869 written out by hand, to check the library call.
func hkdfSHA512(ikm, salt, info []byte, n int) []byte {
	ext := hmac.New(sha512.New, salt)
	ext.Write(ikm)
	prk := ext.Sum(nil)
	var out, prev []byte
	for i := byte(1); len(out) < n; i++ {
		m := hmac.New(sha512.New, prk)
		m.Write(prev)
		m.Write(info)
		m.Write([]byte{i})
		prev = m.Sum(nil)
		out = append(out, prev...)
	}
	return out[:n]
}
