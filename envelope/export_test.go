package envelope

import "context"

// SetNonFramed makes a client write non-framed bodies, which the
// specification lets an SDK decrypt but not write: the tests need them to
// test decryption.
func SetNonFramed(o *Options, v bool) { o.nonFramed = v }

// NewMessageBuffer returns EncryptBytes' output buffer for a body of at
// most body bytes.
func NewMessageBuffer(body int64) interface{ Write([]byte) (int, error) } {
	return &messageBuffer{body: body}
}

// DecryptBytesInto is DecryptBytes with the plaintext appended to pt, so
// that tests can look at what it leaves there.
func DecryptBytesInto(c *Client, ctx context.Context, ciphertext []byte, mm MaterialsManager, ec map[string]string, pt []byte) ([]byte, error) {
	pt, _, err := c.decryptBytes(ctx, ciphertext, mm, ec, pt)
	return pt, err
}
