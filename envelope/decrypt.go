package envelope

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"

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

// Read returns authenticated plaintext; io.EOF comes only after the whole
// message, signature included, has verified and nothing follows it.
func (d *Decryptor) Read(p []byte) (int, error) {
	n, err := d.o.Read(p)
	if err != nil && err != io.EOF {
		err = withOption(err)
	}
	return n, err
}

// Header returns the message header. Its suite, encryption context and
// encrypted data keys have been authenticated.
func (d *Decryptor) Header() *format.Header { return d.header }

// Suite returns the message's algorithm suite.
func (d *Decryptor) Suite() *format.Suite { return d.header.Suite }

// EncryptionContext returns the message's whole encryption context: the
// stored entries and the required ones supplied on decryption.
func (d *Decryptor) EncryptionContext() map[string]string { return maps.Clone(d.ec) }

// EncryptedDataKeys returns the message's encrypted data keys.
func (d *Decryptor) EncryptedDataKeys() []format.EncryptedDataKey {
	return d.header.EncryptedDataKeys
}

// Decrypt reads and authenticates the header of a message from src and
// returns a reader of its plaintext. ec is the reproduced encryption
// context: entries that must equal the message's, and the required
// entries that the message authenticates without storing. It may be nil.
//
// Decrypt reads src exactly to the end of the message and then checks that
// nothing follows. A *bytes.Buffer source is read without copying; Read
// calls with room for a whole frame (and its 16-byte tag) decrypt it
// straight into the caller's buffer. The header is read field by field and
// each frame in two reads: give an unbuffered file or socket a
// bufio.Reader.
func (c *Client) Decrypt(ctx context.Context, src io.Reader, mm MaterialsManager, ec map[string]string) (*Decryptor, error) {
	if mm == nil {
		return nil, errors.New("esdk: Decrypt needs a materials manager")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, raw, err := format.ReadHeader(src, format.Limits{
		MaxHeaderSize:        c.opts.MaxHeaderSize,
		MaxEncryptedDataKeys: c.opts.MaxEncryptedDataKeys,
	})
	if err != nil {
		return nil, withOption(err)
	}
	s := h.Suite
	if !c.opts.CommitmentPolicy.AllowsDecrypt(s) {
		return nil, fmt.Errorf("%w: %s does not decrypt suite %s", ErrCommitmentPolicy, c.opts.CommitmentPolicy, s.ID())
	}
	if s.Signed() && c.opts.DecryptUnsignedOnly {
		return nil, fmt.Errorf("%w (suite %s)", ErrSignedMessage, s.ID())
	}
	if h.ContentType == format.Framed && int(h.FrameLength) > c.opts.MaxFrameLength {
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
			// for another key: both fail like any other tampering.
			return nil, fmt.Errorf("%w: %w", ErrAuthentication, err)
		}
		return nil, err
	}
	if err := checkDecryptionMaterials(s, mat); err != nil {
		return nil, err
	}
	key, commitment, err := engine.DeriveKeys(s, mat.PlaintextDataKey, h.MessageID)
	if err != nil {
		return nil, err
	}
	if s.Committing() {
		if err := engine.CheckCommitment(commitment, h.SuiteData); err != nil {
			clear(key)
			return nil, err
		}
	}
	aead, err := engine.NewAEAD(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	body := raw[:len(raw)-h.AuthLength()]
	aad, err := engine.HeaderAuthAAD(body, mat.EncryptionContext, mat.RequiredEncryptionContextKeys)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, format.IVLength)
	if s.MessageVersion() == 1 {
		iv = h.AuthIV
	}
	if err := engine.OpenHeader(aead, iv, h.AuthTag, aad); err != nil {
		return nil, err
	}
	cfg := engine.OpenConfig{
		Header:             h,
		AEAD:               aead,
		MaxNonFramedLength: c.opts.MaxNonFramedBodySize,
	}
	if s.Signed() {
		cfg.Signature = engine.NewSignatureHash(s)
		cfg.Signature.Write(raw)
		cfg.VerificationKey = mat.VerificationKey
	}
	return &Decryptor{o: engine.NewOpener(src, cfg), header: h, ec: mat.EncryptionContext}, nil
}

func checkDecryptionMaterials(s *format.Suite, mat *keyring.DecryptionMaterials) error {
	if mat.Suite != nil && mat.Suite != s {
		return fmt.Errorf("esdk: materials are for suite %s, the message uses %s", mat.Suite.ID(), s.ID())
	}
	if s.Signed() && mat.VerificationKey == nil {
		return fmt.Errorf("esdk: suite %s is signed and the materials have no verification key", s.ID())
	}
	return keyring.CheckDataKey(s, mat.PlaintextDataKey)
}
