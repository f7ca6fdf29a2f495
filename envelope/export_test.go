package envelope

// SetNonFramed makes a client write non-framed bodies, which the
// specification lets an SDK decrypt but not write: the tests need them to
// test decryption.
func SetNonFramed(o *Options, v bool) { o.nonFramed = v }
