package envelope

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/engine"
	"github.com/go-esdk/esdk/keyring"
)

// Encryptor is the plaintext side of a message being encrypted. It is not
// safe for concurrent use.
type Encryptor struct {
	s *engine.Sealer
	// length is the declared plaintext length, or -1; written counts the
	// bytes accepted so far.
	length, written int64
	err             error         // sticky length error
	header          format.Header // the message's header, which s writes
}

// Write encrypts p. Errors are sticky. With a declared plaintext length
// (WithPlaintextLength), a write that would go past it is refused whole
// with ErrPlaintextLength.
func (e *Encryptor) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.length >= 0 && int64(len(p)) > e.length-e.written {
		e.err = fmt.Errorf("%w: writing %d more bytes after %d, %d declared", ErrPlaintextLength, len(p), e.written, e.length)
		return 0, e.err
	}
	if len(p) == 0 {
		return 0, e.s.Err()
	}
	if e.length-e.written == int64(len(p)) {
		// The declared plaintext ends here: every frame, the final one
		// included, is sealed straight from p.
		if err := e.s.WriteFinal(p); err != nil {
			return 0, err
		}
		e.written += int64(len(p))
		return len(p), nil
	}
	n, err := e.s.Write(p)
	e.written += int64(n)
	return n, err
}

// Close writes the final frame and, for signed suites, the signature. It
// does not close the destination writer. The message is incomplete, and
// will not decrypt, until Close returns nil. With a declared plaintext
// length, Close after fewer bytes returns ErrPlaintextLength and leaves
// the message incomplete.
func (e *Encryptor) Close() error {
	if e.err != nil {
		return e.err
	}
	if err := e.s.Err(); err != nil {
		// The write that failed wrote less than declared; its error is
		// the one to report.
		return err
	}
	if e.length >= 0 && e.written != e.length {
		e.err = fmt.Errorf("%w: %d bytes written, %d declared", ErrPlaintextLength, e.written, e.length)
		return e.err
	}
	return e.s.Close()
}

// ErrPlaintextLength means that the plaintext written to an Encryptor
// differs in length from what WithPlaintextLength declared.
var ErrPlaintextLength = errors.New("esdk: plaintext length differs from the declared length")

// EncryptOptions are the options of one Encrypt call. Encrypt starts
// from the values documented for each field and applies its functions to
// them in order.
type EncryptOptions struct {
	// PlaintextLength is the exact number of plaintext bytes that will be
	// written (the specification's plaintext length), 0 or more; Encrypt
	// starts from -1, which declares nothing. A declared length is told to
	// the materials manager: a caching manager serves a message of known
	// length from its cache and counts its bytes against the data key's
	// limit, where a stream of unknown length bypasses the cache. The
	// Encryptor then refuses to write more than PlaintextLength bytes or
	// to Close after fewer, so the message cannot exceed what was
	// accounted for. Less than -1 is an error.
	PlaintextLength int64
}

// WithPlaintextLength declares that exactly n bytes of plaintext will be
// written: it sets EncryptOptions.PlaintextLength to n, which must not be
// negative.
func WithPlaintextLength(n int64) func(*EncryptOptions) {
	return func(o *EncryptOptions) { o.PlaintextLength = n }
}

// Header returns the header written for this message. It is shared with
// the Encryptor: read it, do not modify it.
func (e *Encryptor) Header() *format.Header { return e.s.Header() }

// Encrypt writes the header of a new message to dst and returns a writer
// for its plaintext. ec is the encryption context: authenticated with the
// message and stored in it (keys that a RequiredContextManager makes
// required are authenticated only). The caller must Close the writer.
//
// optFns set the call's [EncryptOptions]. The plaintext's length is
// unknown to the materials manager unless declared with
// WithPlaintextLength.
//
// Encrypt wipes the plaintext data key of the materials mm returns once
// it has derived the message's keys, whether or not it succeeds.
func (c *Client) Encrypt(ctx context.Context, dst io.Writer, mm MaterialsManager, ec map[string]string, optFns ...func(*EncryptOptions)) (*Encryptor, error) {
	o := EncryptOptions{PlaintextLength: -1}
	for _, f := range optFns {
		f(&o)
	}
	if o.PlaintextLength < -1 {
		return nil, fmt.Errorf("esdk: EncryptOptions.PlaintextLength %d: the length must not be negative (-1 declares none)", o.PlaintextLength)
	}
	return c.encrypt(ctx, dst, mm, ec, o.PlaintextLength)
}

func (c *Client) encrypt(ctx context.Context, dst io.Writer, mm MaterialsManager, ec map[string]string, length int64) (*Encryptor, error) {
	if mm == nil {
		return nil, errors.New("esdk: Encrypt needs a materials manager")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mat, err := mm.GetEncryptionMaterials(ctx, EncryptionMaterialsRequest{
		EncryptionContext: ec,
		Suite:             c.suite,
		CommitmentPolicy:  c.opts.CommitmentPolicy,
		PlaintextLength:   length,
	})
	if err != nil {
		return nil, err
	}
	if mat == nil {
		return nil, errors.New("esdk: the materials manager returned no materials")
	}
	defer clear(mat.PlaintextDataKey)
	if err := c.checkEncryptionMaterials(mat); err != nil {
		return nil, err
	}
	e := &Encryptor{length: length}
	h := &e.header
	*h = format.Header{
		Suite:             mat.Suite,
		EncryptedDataKeys: format.CloneEncryptedDataKeys(mat.EncryptedDataKeys), // the header owns its copy
		ContentType:       format.Framed,
		FrameLength:       uint32(c.opts.FrameLength),
	}
	if c.opts.nonFramed {
		h.ContentType, h.FrameLength = format.NonFramed, 0
	}
	// The header stores the context but for the required entries, which
	// it authenticates only. The materials are this call's own (see
	// MaterialsManager), so without required entries the header takes
	// their context as it is; nothing writes to it after. (The encrypted
	// data keys are copied all the same, so that a manager that keeps
	// the byte slices it returned cannot change a header written.)
	var required map[string]string
	if len(mat.RequiredEncryptionContextKeys) == 0 {
		h.EncryptionContext = mat.EncryptionContext
		if h.EncryptionContext == nil {
			h.EncryptionContext = map[string]string{}
		}
	} else {
		h.EncryptionContext = make(map[string]string, len(mat.EncryptionContext))
		for k, v := range mat.EncryptionContext {
			if slices.Contains(mat.RequiredEncryptionContextKeys, k) {
				if required == nil {
					required = make(map[string]string, len(mat.RequiredEncryptionContextKeys))
				}
				required[k] = v
			} else {
				h.EncryptionContext[k] = v
			}
		}
	}
	s, err := engine.NewSealer(dst, engine.SealParams{
		Header:          h,
		DataKey:         mat.PlaintextDataKey,
		RequiredContext: required,
		SigningKey:      mat.SigningKey,
		Concurrency:     c.concurrency(),
	})
	if err != nil {
		return nil, err
	}
	e.s = s
	return e, nil
}

// checkEncryptionMaterials checks what a materials manager returned,
// whichever manager it is. The engine checks the data key's length and
// the signing key's curve.
func (c *Client) checkEncryptionMaterials(mat *keyring.EncryptionMaterials) error {
	s := mat.Suite
	switch {
	case s == nil:
		return errors.New("esdk: encryption materials have no suite")
	case c.suite != nil && s != c.suite:
		return fmt.Errorf("esdk: materials manager chose suite %s, the client asked for %s", s.ID(), c.suite.ID())
	case len(mat.EncryptedDataKeys) == 0:
		return errors.New("esdk: encryption materials have no encrypted data key")
	case c.opts.MaxEncryptedDataKeys > 0 && len(mat.EncryptedDataKeys) > c.opts.MaxEncryptedDataKeys:
		return withOption(&format.LimitError{Limit: format.LimitEncryptedDataKeys, Max: int64(c.opts.MaxEncryptedDataKeys), Got: int64(len(mat.EncryptedDataKeys))})
	}
	if err := c.opts.CommitmentPolicy.check(s, true); err != nil {
		return err
	}
	for _, k := range mat.RequiredEncryptionContextKeys {
		if _, ok := mat.EncryptionContext[k]; !ok {
			return fmt.Errorf("%w: %q is required but not in the encryption context", ErrMissingRequiredContext, k)
		}
	}
	for k, v := range mat.EncryptionContext {
		if k == format.PublicKeyContextKey && s.Signed() {
			// (A key on another curve is refused by the engine.)
			if mat.SigningKey != nil && mat.SigningKey.Curve == s.Curve() && v != engine.MarshalPublicKey(&mat.SigningKey.PublicKey) {
				return fmt.Errorf("esdk: the materials' %s is not the signing key's public key", format.PublicKeyContextKey)
			}
			continue
		}
		if err := checkReservedKey(k); err != nil {
			return fmt.Errorf("%w (returned by the materials manager for suite %s)", err, s.ID())
		}
	}
	if _, ok := mat.EncryptionContext[format.PublicKeyContextKey]; s.Signed() && !ok {
		return fmt.Errorf("esdk: suite %s is signed and the materials' encryption context has no %s", s.ID(), format.PublicKeyContextKey)
	}
	return nil
}
