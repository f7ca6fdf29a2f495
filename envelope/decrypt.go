package envelope

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/engine"
	"github.com/go-esdk/esdk/keyring"
)

// Decryptor is the plaintext side of a message being decrypted. It is not
// safe for concurrent use.
type Decryptor struct {
	o      *engine.Opener
	header *format.Header
	ec     map[string]string
}

// Read returns authenticated plaintext: whole frames, each once its tag
// has verified, and for signed suites the final frame once the signature
// has verified too. io.EOF comes only after the whole message has
// verified and nothing follows it. A caller that stops before io.EOF has
// not seen the signature checked: see Verify.
func (d *Decryptor) Read(p []byte) (int, error) {
	n, err := d.o.Read(p)
	if err != nil && err != io.EOF {
		err = withOption(err)
	}
	return n, err
}

// Verify reads and authenticates the rest of the message, discarding the
// plaintext not yet read, and returns the message's verdict: nil when the
// whole message, signature included, verified and nothing follows it. It
// is for callers that do not read to io.EOF; after io.EOF it returns nil,
// after an error that error.
func (d *Decryptor) Verify() error { return withOption(d.o.Verify()) }

// Header returns the message header. Its suite, encryption context and
// encrypted data keys have been authenticated. It is shared with the
// Decryptor: read it, do not modify it.
func (d *Decryptor) Header() *format.Header { return d.header }

// Suite returns the message's algorithm suite.
func (d *Decryptor) Suite() *format.Suite { return d.header.Suite }

// EncryptionContext returns the message's whole encryption context: the
// stored entries and the required ones supplied on decryption.
func (d *Decryptor) EncryptionContext() map[string]string { return maps.Clone(d.ec) }

// EncryptedDataKeys returns a copy of the message's encrypted data keys.
func (d *Decryptor) EncryptedDataKeys() []format.EncryptedDataKey {
	return format.CloneEncryptedDataKeys(d.header.EncryptedDataKeys)
}

// Decrypt reads and authenticates the header of a message from src and
// returns a reader of its plaintext. ec is the reproduced encryption
// context: entries that must equal the message's, and the required
// entries that the message authenticates without storing. It may be nil.
//
// The header is read field by field, so that a limit stops reading
// early; the body of a file, a socket or any other source is read in
// large chunks, so it needs no bufio.Reader (a *bytes.Buffer is read
// without copying; a *bytes.Reader, *strings.Reader or *bufio.Reader,
// which a chunk would only copy again, is read directly). Read calls
// with room for a whole frame decrypt it straight into the caller's
// buffer. Bytes after the message are an
// error.
//
// Decrypt wipes the plaintext data key of the materials mm returns once
// it has derived the message's keys, whether or not it succeeds.
func (c *Client) Decrypt(ctx context.Context, src io.Reader, mm MaterialsManager, ec map[string]string) (*Decryptor, error) {
	if mm == nil {
		return nil, errors.New("esdk: Decrypt needs a materials manager")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, raw, err := c.readHeader(src)
	if err != nil {
		return nil, err
	}
	return c.decrypt(ctx, src, h, raw, mm, ec)
}

// decrypt is Decrypt after the header h, whose bytes are raw, was read
// from src: the checks of the client's policy, the materials, and the
// opener of the body that follows in src.
func (c *Client) decrypt(ctx context.Context, src io.Reader, h *format.Header, raw []byte, mm MaterialsManager, ec map[string]string) (*Decryptor, error) {
	s := h.Suite
	if err := c.opts.CommitmentPolicy.check(s, false); err != nil {
		return nil, err
	}
	if s.Signed() && c.opts.DecryptUnsignedOnly {
		return nil, fmt.Errorf("%w (suite %s)", ErrSignedMessage, s.ID())
	}
	if h.ContentType == format.Framed && int64(h.FrameLength) > int64(c.opts.MaxFrameLength) {
		return nil, withOption(&format.LimitError{Limit: format.LimitFrameLength, Max: int64(c.opts.MaxFrameLength), Got: int64(h.FrameLength)})
	}
	mat, err := mm.DecryptMaterials(ctx, DecryptionMaterialsRequest{
		Suite:                       s,
		CommitmentPolicy:            c.opts.CommitmentPolicy,
		EncryptedDataKeys:           h.EncryptedDataKeys,
		EncryptionContext:           h.EncryptionContext,
		ReproducedEncryptionContext: ec,
	})
	if err != nil {
		if errors.Is(err, ErrNoMatchingKey) {
			// A damaged encrypted data key cannot be told apart from one
			// for another key: both fail like any other tampering. A
			// keyring that really failed (a key service down) does not
			// match ErrNoMatchingKey and is reported as that failure.
			return nil, fmt.Errorf("%w: %w%s", ErrAuthentication, err, extraKeysHint(ec, h.EncryptionContext))
		}
		return nil, err
	}
	if mat == nil {
		return nil, errors.New("esdk: the materials manager returned no materials")
	}
	defer clear(mat.PlaintextDataKey)
	required, err := checkDecryptionMaterials(s, mat)
	if err != nil {
		return nil, err
	}
	o, err := engine.NewOpener(src, engine.OpenParams{
		Header:               h,
		RawHeader:            raw,
		DataKey:              mat.PlaintextDataKey,
		RequiredContext:      required,
		VerificationKey:      mat.VerificationKey,
		MaxNonFramedBodySize: c.opts.MaxNonFramedBodySize,
		Concurrency:          c.concurrency(),
	})
	if err != nil {
		return nil, withOption(err)
	}
	return &Decryptor{o: o, header: h, ec: mat.EncryptionContext}, nil
}

// extraKeysHint names the keys of the context given on decryption that
// the message does not store. Keyrings authenticate the whole context, so
// such a key makes every data key fail to unwrap unless the message was
// encrypted with it as a required key.
func extraKeysHint(given, stored map[string]string) string {
	var extra []string
	for _, k := range sortedKeys(given) {
		if _, ok := stored[k]; !ok {
			extra = append(extra, strconv.Quote(k))
		}
	}
	if len(extra) == 0 {
		return ""
	}
	return fmt.Sprintf(" (the encryption context given on decryption adds %s, which the message does not store: leave out any key it was not encrypted with as a required key)", strings.Join(extra, ", "))
}

// checkDecryptionMaterials checks what a materials manager returned and
// picks out the required entries. The engine checks the data key's
// length and the verification key's curve.
func checkDecryptionMaterials(s *format.Suite, mat *keyring.DecryptionMaterials) (map[string]string, error) {
	if mat.Suite != nil && mat.Suite != s {
		return nil, fmt.Errorf("esdk: materials are for suite %s, the message uses %s", mat.Suite.ID(), s.ID())
	}
	var required map[string]string
	if len(mat.RequiredEncryptionContextKeys) > 0 {
		required = make(map[string]string, len(mat.RequiredEncryptionContextKeys))
	}
	for _, k := range mat.RequiredEncryptionContextKeys {
		v, ok := mat.EncryptionContext[k]
		if !ok {
			return nil, fmt.Errorf("%w: %q is required but not in the encryption context", ErrMissingRequiredContext, k)
		}
		required[k] = v
	}
	return required, nil
}
