package envelope

import (
	"context"
	"crypto/rand"
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
	s      *engine.Sealer
	header *format.Header
}

// Write encrypts p. Errors are sticky.
func (e *Encryptor) Write(p []byte) (int, error) { return e.s.Write(p) }

// Close writes the final frame and, for signed suites, the signature. It
// does not close the destination writer. The message is incomplete, and
// will not decrypt, until Close returns nil.
func (e *Encryptor) Close() error { return e.s.Close() }

// Header returns the header written for this message.
func (e *Encryptor) Header() *format.Header { return e.header }

// Encrypt writes the header of a new message to dst and returns a writer
// for its plaintext. ec is the encryption context: authenticated with the
// message and stored in it (keys that a RequiredContextManager makes
// required are authenticated only). The caller must Close the writer.
func (c *Client) Encrypt(ctx context.Context, dst io.Writer, mm MaterialsManager, ec map[string]string) (*Encryptor, error) {
	return c.encrypt(ctx, dst, mm, ec, -1)
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
	if err := c.checkEncryptionMaterials(mat); err != nil {
		return nil, err
	}
	s := mat.Suite
	h := &format.Header{
		Suite:             s,
		MessageID:         make([]byte, s.MessageIDLength()),
		EncryptionContext: make(map[string]string, len(mat.EncryptionContext)),
		EncryptedDataKeys: mat.EncryptedDataKeys,
		ContentType:       format.Framed,
		FrameLength:       uint32(c.opts.FrameLength),
	}
	if c.opts.NonFramed {
		h.ContentType, h.FrameLength = format.NonFramed, 0
	}
	for k, v := range mat.EncryptionContext {
		if !slices.Contains(mat.RequiredEncryptionContextKeys, k) {
			h.EncryptionContext[k] = v
		}
	}
	if _, err := rand.Read(h.MessageID); err != nil {
		return nil, fmt.Errorf("esdk: generating a message id: %w", err)
	}
	key, commitment, err := engine.DeriveKeys(s, mat.PlaintextDataKey, h.MessageID)
	if err != nil {
		return nil, err
	}
	h.SuiteData = commitment
	aead, err := engine.NewAEAD(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	body, err := h.MarshalBody()
	if err != nil {
		return nil, err
	}
	aad, err := engine.HeaderAuthAAD(body, mat.EncryptionContext, mat.RequiredEncryptionContextKeys)
	if err != nil {
		return nil, err
	}
	var iv [format.IVLength]byte
	if s.MessageVersion() == 1 {
		h.AuthIV = iv[:]
	}
	h.AuthTag = engine.SealHeader(aead, iv[:], aad)
	raw := append(body, h.AuthIV...)
	raw = append(raw, h.AuthTag...)
	cfg := engine.SealConfig{AEAD: aead, MessageID: h.MessageID, FrameLength: int(h.FrameLength)}
	if s.Signed() {
		cfg.Signature = engine.NewSignatureHash(s)
		cfg.SigningKey = mat.SigningKey
	}
	sealer, err := engine.NewSealer(dst, cfg, raw)
	if err != nil {
		return nil, err
	}
	return &Encryptor{s: sealer, header: h}, nil
}

func (c *Client) checkEncryptionMaterials(mat *keyring.EncryptionMaterials) error {
	s := mat.Suite
	switch {
	case s == nil:
		return errors.New("esdk: encryption materials have no suite")
	case c.suite != nil && s != c.suite:
		return fmt.Errorf("esdk: materials manager chose suite %s, the client asked for %s", s.ID(), c.suite.ID())
	case !c.opts.CommitmentPolicy.AllowsEncrypt(s):
		return fmt.Errorf("%w: %s does not encrypt with suite %s", ErrCommitmentPolicy, c.opts.CommitmentPolicy, s.ID())
	case len(mat.EncryptedDataKeys) == 0:
		return errors.New("esdk: encryption materials have no encrypted data key")
	case c.opts.MaxEncryptedDataKeys > 0 && len(mat.EncryptedDataKeys) > c.opts.MaxEncryptedDataKeys:
		return withOption(&format.LimitError{Limit: format.LimitEncryptedDataKeys, Max: int64(c.opts.MaxEncryptedDataKeys), Got: int64(len(mat.EncryptedDataKeys))})
	case s.Signed() && mat.SigningKey == nil:
		return fmt.Errorf("esdk: suite %s is signed and the materials have no signing key", s.ID())
	}
	for _, k := range mat.RequiredEncryptionContextKeys {
		if _, ok := mat.EncryptionContext[k]; !ok {
			return fmt.Errorf("%w: %q is required but not in the encryption context", ErrMissingRequiredContext, k)
		}
	}
	return keyring.CheckDataKey(s, mat.PlaintextDataKey)
}
