// Package envelope encrypts and decrypts AWS Encryption SDK messages.
//
// A [Client] holds the settings that rarely change: the commitment policy,
// the algorithm suite, the frame length and the limits on what decryption
// accepts. A [MaterialsManager] (usually [NewDefaultManager] over a
// keyring) supplies the data key of each message. Encryption and
// decryption stream through io.Writer and io.Reader in constant memory;
// [Client.EncryptBytes] and [Client.DecryptBytes] are thin wrappers for
// small messages. [Client.ReadHeader] and [Message.Decrypt] split
// decryption in two steps, for a caller that looks at the header before it
// decides how to decrypt.
//
// Messages interoperate byte for byte with the other AWS Encryption SDKs.
//
// Constructors and calls take their options in the shape written down in
// the Conventions section of package keyring: New takes functions that
// set [Options], NewRequiredContextManager an options struct, and
// Client.Encrypt functions that set [EncryptOptions].
package envelope

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/engine"
	"github.com/go-esdk/esdk/keyring"
)

// CommitmentPolicy decides which suites may be used to encrypt and decrypt.
type CommitmentPolicy int

const (
	// RequireEncryptRequireDecrypt encrypts and decrypts with key-committing
	// suites only. It is the default.
	RequireEncryptRequireDecrypt CommitmentPolicy = iota
	// RequireEncryptAllowDecrypt encrypts with key-committing suites and
	// decrypts messages of any suite.
	RequireEncryptAllowDecrypt
	// ForbidEncryptAllowDecrypt encrypts with non-committing suites only
	// and decrypts messages of any suite.
	ForbidEncryptAllowDecrypt
)

func (p CommitmentPolicy) String() string {
	switch p {
	case RequireEncryptRequireDecrypt:
		return "RequireEncryptRequireDecrypt"
	case RequireEncryptAllowDecrypt:
		return "RequireEncryptAllowDecrypt"
	case ForbidEncryptAllowDecrypt:
		return "ForbidEncryptAllowDecrypt"
	}
	return fmt.Sprintf("CommitmentPolicy(%d)", int(p))
}

// AllowsEncrypt reports whether the policy lets s encrypt.
func (p CommitmentPolicy) AllowsEncrypt(s *format.Suite) bool {
	if p == ForbidEncryptAllowDecrypt {
		return !s.Committing()
	}
	return s.Committing()
}

// AllowsDecrypt reports whether the policy lets s decrypt.
func (p CommitmentPolicy) AllowsDecrypt(s *format.Suite) bool {
	return p != RequireEncryptRequireDecrypt || s.Committing()
}

// DefaultSuite is the suite the policy encrypts with when none is chosen.
func (p CommitmentPolicy) DefaultSuite() *format.Suite {
	if p == ForbidEncryptAllowDecrypt {
		return format.MustSuite(format.AES256GCMIV12Tag16HKDFSHA384ECDSAP384)
	}
	return format.MustSuite(format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
}

// check returns nil when the policy lets s encrypt (encrypt true) or
// decrypt, and otherwise an error that wraps ErrCommitmentPolicy. It is
// the one place the policy is enforced.
func (p CommitmentPolicy) check(s *format.Suite, encrypt bool) error {
	switch {
	case encrypt && !p.AllowsEncrypt(s):
		return fmt.Errorf("%w: %s does not encrypt with suite %s", ErrCommitmentPolicy, p, s.ID())
	case !encrypt && !p.AllowsDecrypt(s):
		return fmt.Errorf("%w: %s does not decrypt suite %s", ErrCommitmentPolicy, p, s.ID())
	}
	return nil
}

func (p CommitmentPolicy) valid() bool {
	return p >= RequireEncryptRequireDecrypt && p <= ForbidEncryptAllowDecrypt
}

// Defaults of the Options.
const (
	DefaultFrameLength          = 4096
	DefaultMaxFrameLength       = 64 << 20
	DefaultMaxNonFramedBodySize = 64 << 20
	DefaultMaxHeaderSize        = 1 << 20
	DefaultMaxEncryptedDataKeys = 1000
)

// Options configure a Client. The zero value of each field means its
// default.
type Options struct {
	// CommitmentPolicy defaults to RequireEncryptRequireDecrypt.
	CommitmentPolicy CommitmentPolicy
	// Suite to encrypt with. 0 means 0x0578 under the require policies and
	// 0x0378 under ForbidEncryptAllowDecrypt.
	Suite format.SuiteID
	// FrameLength is the plaintext length of each frame, 1 to
	// MaxFrameLength; 0 means DefaultFrameLength. Messages are always
	// framed: the specification lets an SDK decrypt non-framed bodies but
	// not write them.
	FrameLength int
	// MaxEncryptedDataKeys bounds the encrypted data keys of a message, on
	// encryption and, as soon as the count is read, on decryption; 0 means
	// DefaultMaxEncryptedDataKeys (1,000). The format allows 65,535.
	//
	// The specification's default is no limit; this SDK's is a deliberate
	// difference. Every encrypted data key of a message may cost a call to
	// a key provider (a KMS request, an RSA decryption) before the message
	// is authenticated, so an attacker's message with 65,535 keys turns
	// one decryption into 65,535 such calls. 1,000 is far above what real
	// messages carry (one per wrapping key).
	MaxEncryptedDataKeys int
	// DecryptUnsignedOnly refuses messages of signed suites before reading
	// their body.
	DecryptUnsignedOnly bool
	// MaxFrameLength bounds the frame length decryption accepts (default
	// DefaultMaxFrameLength); a frame is buffered whole before its tag is
	// checked.
	MaxFrameLength int
	// MaxNonFramedBodySize bounds the non-framed body decryption will
	// buffer before authenticating it (default DefaultMaxNonFramedBodySize).
	MaxNonFramedBodySize int64
	// MaxHeaderSize bounds the header decryption reads (default
	// DefaultMaxHeaderSize).
	MaxHeaderSize int
	// Concurrency is the most goroutines that seal or open the frames of
	// one message: 0 means runtime.GOMAXPROCS(0) at each Encrypt and
	// Decrypt, 1 keeps every frame on the caller's goroutine. A Write or
	// Read call of at least 512 KiB (three whole frames at least) seals or
	// opens its frames on that many goroutines, started by the call and
	// joined before it returns; output stays in order, and a frame's
	// plaintext is still released only once it and every frame before it
	// have verified. A message that goes parallel holds a ring of 4
	// frames per goroutine, 1 MiB at least and 64 MiB (or two frames) at
	// most, reused by the messages after it.
	Concurrency int

	// nonFramed writes non-framed bodies, for the tests of decryption.
	nonFramed bool
}

// Client encrypts and decrypts messages. It is safe for concurrent use.
type Client struct {
	opts  Options
	suite *format.Suite // nil: the policy's default (or the manager's choice)
}

// New returns a Client with the options set by optFns. It starts from the
// zero Options, applies optFns in order, fills the default of every zero
// field and validates the result. Every field has a default, so New with
// no functions gives a working client.
func New(optFns ...func(*Options)) (*Client, error) {
	var o Options
	for _, f := range optFns {
		f(&o)
	}
	if !o.CommitmentPolicy.valid() {
		return nil, fmt.Errorf("esdk: unknown commitment policy %d", int(o.CommitmentPolicy))
	}
	c := &Client{}
	if o.Suite != 0 {
		s, err := format.LookupSuite(o.Suite)
		if err != nil {
			return nil, err
		}
		if err := o.CommitmentPolicy.check(s, true); err != nil {
			return nil, err
		}
		c.suite = s
	}
	if o.FrameLength == 0 {
		o.FrameLength = DefaultFrameLength
	}
	if o.FrameLength < 0 || int64(o.FrameLength) > engine.MaxFrameLength {
		return nil, fmt.Errorf("esdk: frame length %d is not in 1..%d", o.FrameLength, int64(engine.MaxFrameLength))
	}
	if o.MaxEncryptedDataKeys < 0 || o.MaxEncryptedDataKeys > 0xFFFF {
		return nil, fmt.Errorf("esdk: MaxEncryptedDataKeys %d is not in 1..65535 (0 for the default)", o.MaxEncryptedDataKeys)
	}
	if o.MaxEncryptedDataKeys == 0 {
		o.MaxEncryptedDataKeys = DefaultMaxEncryptedDataKeys
	}
	if o.MaxFrameLength == 0 {
		o.MaxFrameLength = DefaultMaxFrameLength
	}
	if o.MaxNonFramedBodySize == 0 {
		o.MaxNonFramedBodySize = DefaultMaxNonFramedBodySize
	}
	if o.MaxHeaderSize == 0 {
		o.MaxHeaderSize = DefaultMaxHeaderSize
	}
	if o.MaxFrameLength < 0 || o.MaxNonFramedBodySize < 0 || o.MaxHeaderSize < 0 {
		return nil, errors.New("esdk: limits must not be negative")
	}
	if o.Concurrency < 0 {
		return nil, fmt.Errorf("esdk: Concurrency %d is negative (0 for GOMAXPROCS)", o.Concurrency)
	}
	if o.FrameLength > o.MaxFrameLength {
		// Such a client would write messages that it refuses to read.
		return nil, fmt.Errorf("esdk: frame length %d exceeds MaxFrameLength %d; raise Options.MaxFrameLength too", o.FrameLength, o.MaxFrameLength)
	}
	c.opts = o
	return c, nil
}

// Options returns a copy of the client's options, defaults filled in.
func (c *Client) Options() Options { return c.opts }

// concurrency is the goroutines the frames of one message may use.
func (c *Client) concurrency() int {
	if c.opts.Concurrency == 0 {
		return runtime.GOMAXPROCS(0)
	}
	return c.opts.Concurrency
}

// Errors callers can match with errors.Is.
var (
	// ErrAuthentication: a header tag, frame tag, key commitment or
	// signature did not verify. The message was altered or is not for
	// these keys; no unauthenticated plaintext was released.
	ErrAuthentication = engine.ErrAuthentication
	// ErrCommitmentPolicy: the commitment policy forbids the suite.
	ErrCommitmentPolicy = errors.New("esdk: commitment policy forbids this algorithm suite")
	// ErrSignedMessage: a signed message met DecryptUnsignedOnly.
	ErrSignedMessage = errors.New("esdk: message is signed and the client decrypts unsigned messages only")
	// ErrNoMatchingKey: no keyring could unwrap any of the message's
	// encrypted data keys, and none failed for another reason. Decrypt
	// returns it together with ErrAuthentication. A keyring that failed
	// (a *keyring.UnwrapError: a key service or HSM down) is returned as
	// that failure, matching neither.
	ErrNoMatchingKey = keyring.ErrNoMatchingKey
	// ErrTooManyEncryptedDataKeys: a message has more encrypted data keys
	// than Options.MaxEncryptedDataKeys allows.
	ErrTooManyEncryptedDataKeys = format.ErrTooManyEncryptedDataKeys
	// ErrClosed: a write after Close.
	ErrClosed = engine.ErrClosed
	// Format errors, from package format.
	ErrMalformed        = format.ErrMalformed
	ErrNotESDK          = format.ErrNotESDK
	ErrUnsupportedSuite = format.ErrUnsupportedSuite
	ErrLimitExceeded    = format.ErrLimitExceeded
)

// EncryptBytes encrypts plaintext into one message.
func (c *Client) EncryptBytes(ctx context.Context, plaintext []byte, mm MaterialsManager, ec map[string]string) ([]byte, error) {
	n := int64(len(plaintext))
	buf := messageBuffer{body: engine.FramedBodyLength(n, c.opts.FrameLength, c.suite == nil || c.suite.Signed())}
	if c.opts.nonFramed {
		buf.body = n + 1024
	}
	w, err := c.encrypt(ctx, &buf, mm, ec, n)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.b, nil
}

// messageBuffer collects a message whose body length is known, at most
// body bytes: the first write, the header, sizes it for the whole
// message, so that it is allocated once. It is an engine.Appender, so
// that frames are sealed straight into it.
type messageBuffer struct {
	b    []byte
	body int64
}

func (m *messageBuffer) Room(n int) []byte {
	if cap(m.b)-len(m.b) < n {
		return nil
	}
	return m.b[len(m.b) : len(m.b)+n]
}

func (m *messageBuffer) Commit(n int) { m.b = m.b[:len(m.b)+n] }

func (m *messageBuffer) Write(p []byte) (int, error) {
	if m.b == nil {
		if m.body > math.MaxInt-int64(len(p)) {
			return 0, fmt.Errorf("esdk: a message of %d bytes and more does not fit in memory on this platform; stream it with Encrypt", m.body)
		}
		m.b = make([]byte, 0, int64(len(p))+m.body)
	}
	m.b = append(m.b, p...)
	return len(p), nil
}

// DecryptBytes decrypts one message and returns its plaintext and header.
// ec is the reproduced encryption context (see Client.Decrypt). Bytes
// after the message are an error.
//
// The plaintext is allocated for each message, which for a message of a
// few MiB costs a good part of the decryption (the fresh memory must be
// zeroed and mapped); a program that decrypts many can Read each from
// Decrypt into a buffer it reuses.
func (c *Client) DecryptBytes(ctx context.Context, ciphertext []byte, mm MaterialsManager, ec map[string]string) ([]byte, *format.Header, error) {
	return c.decryptBytes(ctx, ciphertext, mm, ec, make([]byte, 0, len(ciphertext)))
}

// decryptBytes is DecryptBytes with the plaintext appended to pt, which
// has room for it. When the message fails after some of its frames have
// verified (a later frame, the signature, bytes after the end), pt's
// array holds their plaintext: it is cleared before the error returns.
func (c *Client) decryptBytes(ctx context.Context, ciphertext []byte, mm MaterialsManager, ec map[string]string, pt []byte) ([]byte, *format.Header, error) {
	// A bytes.Buffer lends its bytes to the decryptor, which then opens
	// frames straight into pt. The buffer only reads ciphertext.
	d, err := c.Decrypt(ctx, bytes.NewBuffer(ciphertext), mm, ec)
	if err != nil {
		return nil, nil, err
	}
	for {
		n, err := d.Read(pt[len(pt):cap(pt)])
		pt = pt[:len(pt)+n]
		if err == io.EOF {
			return pt, d.Header(), nil
		}
		if err != nil {
			clear(pt[:cap(pt)])
			return nil, nil, err
		}
		if len(pt) == cap(pt) {
			// Never for a message the decryptor accepts, whose plaintext
			// is shorter than its ciphertext; the old array is wiped all
			// the same.
			grown := append(make([]byte, 0, 2*cap(pt)+1), pt...)
			clear(pt)
			pt = grown
		}
	}
}

// optionNames are the Options fields that raise each limit.
var optionNames = map[format.Limit]string{
	format.LimitHeaderSize:        "MaxHeaderSize",
	format.LimitEncryptedDataKeys: "MaxEncryptedDataKeys",
	format.LimitFrameLength:       "MaxFrameLength",
	format.LimitNonFramedBodySize: "MaxNonFramedBodySize",
}

// withOption adds to a limit error the option that raises the limit.
func withOption(err error) error {
	var le *format.LimitError
	if !errors.As(err, &le) {
		return err
	}
	if name, ok := optionNames[le.Limit]; ok {
		return fmt.Errorf("%w; raise Options.%s if the message is trusted", err, name)
	}
	return err
}
