package envelope

// SetNonFramed makes a client write non-framed bodies, which the
// specification lets an SDK decrypt but not write: the tests need them to
// test decryption.
func SetNonFramed(o *Options, v bool) { o.nonFramed = v }

// NewMessageBuffer returns EncryptBytes' output buffer for a body of at
// most body bytes.
func NewMessageBuffer(body int64) interface{ Write([]byte) (int, error) } {
	return &messageBuffer{body: body}
}
