package envelope

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"

	"github.com/go-esdk/esdk/format"
)

// Message is a message whose header has been read and not yet
// authenticated: the first of the two steps of [Client.ReadHeader] and
// [Message.Decrypt], which together do what [Client.Decrypt] does. Between
// the steps a caller can look at the header (to choose a materials
// manager, to check the encryption context it requires, to name the
// message's keys in an error) without parsing it a second time.
//
// A Message is not safe for concurrent use.
type Message struct {
	c      *Client
	src    io.Reader
	header *format.Header
	raw    []byte
	used   bool
}

// ReadHeader reads the header of a message from src and parses it, bounded
// by the client's MaxHeaderSize and MaxEncryptedDataKeys (checked as the
// header is read, so that a hostile length stops it early), and returns it
// with src positioned just after it: ReadHeader reads nothing past the
// header. Nothing has been authenticated yet, and no key provider has been
// called; [Message.Decrypt] does both.
//
// Its errors are those of Client.Decrypt for the same header.
func (c *Client) ReadHeader(src io.Reader) (*Message, error) {
	h, raw, err := c.readHeader(src)
	if err != nil {
		return nil, err
	}
	return &Message{c: c, src: src, header: h, raw: raw}, nil
}

// readHeader reads a header within the client's limits.
func (c *Client) readHeader(src io.Reader) (*format.Header, []byte, error) {
	h, raw, err := format.ReadHeader(src, format.Limits{
		MaxHeaderSize:        c.opts.MaxHeaderSize,
		MaxEncryptedDataKeys: c.opts.MaxEncryptedDataKeys,
	})
	if err != nil {
		return nil, nil, withOption(err)
	}
	return h, raw, nil
}

// Header returns a copy of the message header as read. None of it has
// been authenticated: anyone can write a header that says anything, so
// use it to decide how to decrypt and to describe the message, and trust
// it only once Decrypt has succeeded (then [Decryptor.Header] holds the
// same values, authenticated). Changing the copy changes nothing that
// Decrypt reads.
func (m *Message) Header() *format.Header {
	h := *m.header
	h.MessageID = bytes.Clone(h.MessageID)
	h.EncryptionContext = maps.Clone(h.EncryptionContext)
	h.EncryptedDataKeys = format.CloneEncryptedDataKeys(h.EncryptedDataKeys)
	h.SuiteData = bytes.Clone(h.SuiteData)
	h.AuthIV = bytes.Clone(h.AuthIV)
	h.AuthTag = bytes.Clone(h.AuthTag)
	return &h
}

// Decrypt is the second step: from the header ReadHeader read, it checks
// the client's commitment policy and DecryptUnsignedOnly, gets the
// materials from mm, authenticates the header and returns a reader of the
// plaintext of the body that follows in src, as [Client.Decrypt] does
// (see it for ec and for how the body is read). It never reads the header
// again, and authenticates the bytes ReadHeader read: a header altered in
// any way fails here, with ErrAuthentication.
//
// Decrypt may be called once: it consumes the rest of src. A second call
// is an error.
func (m *Message) Decrypt(ctx context.Context, mm MaterialsManager, ec map[string]string) (*Decryptor, error) {
	if mm == nil {
		return nil, errors.New("esdk: Decrypt needs a materials manager")
	}
	if m.used {
		return nil, errors.New("esdk: Message.Decrypt called twice: a message is decrypted once")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.used = true
	return m.c.decrypt(ctx, m.src, m.header, m.raw, mm, ec)
}
