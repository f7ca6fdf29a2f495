package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// errReported: the errors were printed already; exit 1.
var errReported = errors.New("failed")

// runner holds what every file of one command shares.
type runner struct {
	e        *env
	o        *options
	cmd      string
	client   *envelope.Client
	mm       envelope.MaterialsManager
	ec       map[string]string // encrypt: the context; decrypt: required k=v
	ecKeys   []string          // decrypt: required keys, any value
	metadata io.Writer         // --metadata-output, or nil
}

func runEncrypt(ctx context.Context, e *env, args []string) error {
	return runCrypt(ctx, e, cmdEncrypt, args)
}

func runDecrypt(ctx context.Context, e *env, args []string) error {
	return runCrypt(ctx, e, cmdDecrypt, args)
}

func runCrypt(ctx context.Context, e *env, cmd string, args []string) (err error) {
	o := &options{}
	fs := newFlagSet(cmd, o)
	operands, err := parseArgs(fs, args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(e.stdout, commandUsage(cmd))
		return err
	}
	if err != nil {
		return err
	}
	if err := o.cache.check(fs); err != nil {
		return err
	}
	r := &runner{e: e, o: o, cmd: cmd}
	r.ec, r.ecKeys, err = parseContext(o.context, cmd == cmdDecrypt)
	if err != nil {
		return err
	}
	optFn, err := o.clientOptions(cmd)
	if err != nil {
		return err
	}
	if r.client, err = envelope.New(optFn); err != nil {
		return usagef("%v", err)
	}
	ks, err := parseKeys(o.keys, cmd)
	if err != nil {
		return err
	}
	ks.warn = e.stderr
	// Last of the checks: it may make the output directory.
	jobs, err := planJobs(e, o, cmd, operands)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := ks.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if cmd == cmdEncrypt && len(jobs) == 1 && jobs[0].out == stdio && isTerminal(e.stdout) {
		return errors.New("refusing to write a binary message to the terminal: redirect standard output, or use -o FILE")
	}
	if o.metadataOutput != "" {
		if o.metadataOutput == stdio {
			for _, j := range jobs {
				if j.out == stdio {
					return usagef("--metadata-output - and output - would mix on standard output: write the metadata to a file")
				}
			}
			r.metadata = e.stdout
		} else {
			f, err := os.OpenFile(o.metadataOutput, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				return fmt.Errorf("--metadata-output: %w", err)
			}
			defer func() {
				if cerr := f.Close(); cerr != nil && err == nil {
					err = fmt.Errorf("--metadata-output: %w", cerr)
				}
			}()
			r.metadata = f
		}
	}
	kr, err := ks.keyring(ctx, cmd)
	if err != nil {
		return err
	}
	if r.mm, err = envelope.NewDefaultManager(kr); err != nil {
		return err
	}
	if cm, err := o.cache.wrap(r.mm); err != nil {
		return err
	} else if cm != nil {
		r.mm = cm
	}

	var t tally
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted: %w", err)
		}
		if t.skipped(e, j) {
			continue
		}
		if err := r.one(ctx, j); err != nil {
			if ctx.Err() != nil {
				// Stopped by a signal, not a failure of this input.
				return fmt.Errorf("interrupted: %w", ctx.Err())
			}
			t.failed++
			fmt.Fprintf(e.stderr, "esdk: %s %s: %s\n", strings.TrimSuffix(cmd, "t")+"ting", name(j.in), errText(err))
		}
	}
	return t.result(e, len(jobs))
}

// tally counts the inputs of a run that failed or were skipped.
type tally struct{ failed, skips int }

// skipped reports a job that is not to be processed, and counts it.
func (t *tally) skipped(e *env, j job) bool {
	if j.skip == "" {
		return false
	}
	t.skips++
	fmt.Fprintf(e.stderr, "esdk: skipping %s: %s\n", name(j.in), j.skip)
	return true
}

// result is the run's error: errReported when an input failed or was
// skipped.
func (t *tally) result(e *env, jobs int) error {
	switch {
	case t.failed+t.skips == 0:
		return nil
	case jobs > 1 && t.skips > 0:
		fmt.Fprintf(e.stderr, "esdk: %d of %d files failed, %d skipped\n", t.failed, jobs, t.skips)
	case jobs > 1:
		fmt.Fprintf(e.stderr, "esdk: %d of %d files failed\n", t.failed, jobs)
	}
	return errReported
}

// name is how messages name an input: non-printable runes of a file name
// escaped.
func name(path string) string {
	if path == stdio {
		return "standard input"
	}
	return escapeText(path)
}

// one encrypts or decrypts one input.
func (r *runner) one(ctx context.Context, j job) error {
	if err := checkTarget(j, r.o.force); err != nil {
		return err
	}
	var in io.Reader = r.e.stdin
	if j.in != stdio {
		f, err := os.Open(j.in)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	in = ctxReader{ctx, in}
	bar := newProgress(r.e, r.o.quiet, j)
	if bar != nil {
		in = io.TeeReader(in, bar)
		defer bar.done()
	}

	var dst io.Writer = r.e.stdout
	var out *outFile
	if j.out != stdio {
		var err error
		if out, err = createOut(j.out, r.o.force); err != nil {
			return err
		}
		defer func() {
			if out != nil {
				out.abort()
			}
		}()
		dst = out
	}
	bw := bufio.NewWriterSize(dst, 256<<10)
	var h *format.Header
	var err error
	if r.cmd == cmdEncrypt {
		h, err = r.encrypt(ctx, bw, in, j)
	} else {
		h, err = r.decrypt(ctx, bw, in, j)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return err
	}
	if out != nil {
		err := out.commit()
		out = nil
		if err != nil {
			return err
		}
	}
	return r.writeMetadata(j, h)
}

func (r *runner) encrypt(ctx context.Context, dst io.Writer, src io.Reader, j job) (*format.Header, error) {
	var opts []func(*envelope.EncryptOptions)
	if j.size >= 0 {
		// A file's size is known: declare it. The data-key cache counts it
		// against --cache-max-bytes (a stream of unknown length bypasses
		// the cache), and the encryptor holds the file to it.
		opts = append(opts, envelope.WithPlaintextLength(j.size))
	}
	w, err := r.client.Encrypt(ctx, dst, r.mm, r.ec, opts...)
	if errors.Is(err, envelope.ErrTooManyEncryptedDataKeys) {
		return nil, withHint(err, "the wrapping keys make more encrypted data keys than --max-encrypted-data-keys allows: raise it or give fewer keys")
	}
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(w, src)
	if err == nil {
		err = w.Close()
	}
	if errors.Is(err, envelope.ErrPlaintextLength) {
		return nil, withHint(err, "the file changed size while it was read: run again when nothing writes to it")
	}
	if err != nil {
		return nil, err
	}
	return w.Header(), nil
}

func (r *runner) decrypt(ctx context.Context, dst io.Writer, src io.Reader, j job) (*format.Header, error) {
	br := bufio.NewReaderSize(src, 64<<10)
	// Two steps: the header first, to check the required context and to
	// name the message's keys when none of ours fits, then the rest from
	// the header as read.
	m, err := r.client.ReadHeader(br)
	if err != nil {
		return nil, explain(headerLimit(err), j, nil)
	}
	h := m.Header()
	if err := r.checkContext(h); err != nil {
		return nil, err
	}
	d, err := m.Decrypt(ctx, r.mm, r.ec)
	if err != nil {
		return nil, r.explainDecrypt(err, j, h)
	}
	if _, err := io.Copy(dst, d); err != nil {
		return nil, r.explainDecrypt(err, j, h)
	}
	return d.Header(), nil
}

// headerLimit turns the error of a header over a limit into the limit's
// own error, without envelope's advice on its Options: explain gives the
// flag that raises it.
func headerLimit(err error) error {
	var le *format.LimitError
	if errors.As(err, &le) {
		return le
	}
	return err
}

// checkContext checks the --encryption-context requirements that the
// stored context decides: a key given bare must be there, and a k=v whose
// key is stored must have that value. A k=v whose key is not stored is
// passed to Decrypt, which authenticates it as a required context entry
// that the message does not store.
func (r *runner) checkContext(h *format.Header) error {
	for _, k := range r.ecKeys {
		if _, ok := h.EncryptionContext[k]; !ok {
			return fmt.Errorf("the encryption context has no key %q (it has %s); this message was not made for that purpose", k, contextKeys(h.EncryptionContext))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.ec)) {
		if v, ok := h.EncryptionContext[k]; ok && v != r.ec[k] {
			return fmt.Errorf("the encryption context's %q is %q, and --encryption-context wants %q; this message was not made for that purpose", k, v, r.ec[k])
		}
	}
	return nil
}

func contextKeys(ec map[string]string) string {
	if len(ec) == 0 {
		return "no entries"
	}
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	sort.Strings(keys)
	return "keys " + strings.Join(keys, ", ")
}

func (r *runner) explainDecrypt(err error, j job, h *format.Header) error {
	err = explain(err, j, h)
	if !errors.Is(err, envelope.ErrAuthentication) {
		return err
	}
	var unstored []string
	for _, k := range slices.Sorted(maps.Keys(r.ec)) {
		if _, ok := h.EncryptionContext[k]; !ok {
			unstored = append(unstored, strconv.Quote(k))
		}
	}
	if len(unstored) == 0 {
		return err
	}
	return withHint(err, fmt.Sprintf("the message does not store the encryption context key(s) %s given with --encryption-context: it verifies them only if they were given as required context when it was encrypted, with the same values; else drop them", strings.Join(unstored, ", ")))
}

// explain adds to an error what it means for the file and what to do.
func explain(err error, j job, h *format.Header) error {
	var hint string
	switch {
	case errors.Is(err, keyring.ErrNoMatchingKey):
		hint = "none of the --wrapping-key keys can decrypt it"
		if h != nil {
			hint += "; its data keys are for: " + describeKeys(h)
		}
	case errors.As(err, new(*keyring.UnwrapError)):
		hint = "a key provider (AWS KMS, an HSM) failed, not the message: check the key and your access to it, then try again"
	case errors.Is(err, envelope.ErrAuthentication):
		hint = "the message was altered or truncated, or is not for these keys"
		if j.out == stdio {
			hint += "; what was written to standard output is incomplete: discard it"
		}
	case errors.Is(err, envelope.ErrCommitmentPolicy) && h != nil && !h.Suite.Committing():
		hint = "it was written with a suite without key commitment (older SDKs); if you trust it, decrypt with --commitment-policy require-encrypt-allow-decrypt"
	case errors.Is(err, envelope.ErrSignedMessage):
		hint = "drop --decrypt-unsigned-only to decrypt signed messages"
	case errors.Is(err, envelope.ErrTooManyEncryptedDataKeys):
		hint = "if you trust it, raise --max-encrypted-data-keys"
	case errors.Is(err, envelope.ErrNotESDK):
		hint = "it is not an AWS Encryption SDK message"
	case errors.Is(err, io.ErrUnexpectedEOF):
		hint = "the message is truncated: it ends before it is complete"
	case errors.Is(err, envelope.ErrMalformed):
		hint = "the message is damaged"
	}
	if hint == "" {
		return err
	}
	return withHint(err, hint)
}

// writeMetadata writes one JSON line for a file, like aws-encryption-cli.
func (r *runner) writeMetadata(j job, h *format.Header) error {
	if r.metadata == nil {
		return nil
	}
	rec := struct {
		Mode   string     `json:"mode"`
		Input  string     `json:"input"`
		Output string     `json:"output"`
		Header headerJSON `json:"header"`
	}{r.cmd, r.e.scrub.scrub(j.in), r.e.scrub.scrub(j.out), newHeaderJSON(h)}
	b, err := marshalJSON(rec, false)
	if err != nil {
		return err
	}
	if err := writeAll(r.metadata, append(b, '\n')); err != nil {
		return fmt.Errorf("--metadata-output: %w", err)
	}
	return nil
}

// ctxReader stops reading when ctx ends (an interrupt).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fmt.Errorf("interrupted: %w", err)
	}
	return c.r.Read(p)
}

func runInspect(ctx context.Context, e *env, args []string) error {
	o := &options{}
	fs := newFlagSet(cmdInspect, o)
	operands, err := parseArgs(fs, args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(e.stdout, inspectUsage)
		return err
	}
	if err != nil {
		return err
	}
	if o.maxEDKs < 0 || o.maxEDKs > 0xFFFF {
		return usagef("--max-encrypted-data-keys %d: must be 1 to 65535", o.maxEDKs)
	}
	maxEDKs := o.maxEDKs
	if maxEDKs == 0 {
		maxEDKs = envelope.DefaultMaxEncryptedDataKeys
	}
	jobs, err := planJobs(e, o, cmdInspect, operands)
	if err != nil {
		return err
	}
	var t tally
	for _, j := range jobs {
		if t.skipped(e, j) {
			continue
		}
		if err := inspectOne(e, j, maxEDKs); err != nil {
			t.failed++
			fmt.Fprintf(e.stderr, "esdk: inspecting %s: %s\n", name(j.in), errText(err))
		}
	}
	return t.result(e, len(jobs))
}

func inspectOne(e *env, j job, maxEDKs int) error {
	var in io.Reader = e.stdin
	if j.in != stdio {
		f, err := os.Open(j.in)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	h, _, err := format.ReadHeader(bufio.NewReader(in), format.Limits{
		MaxHeaderSize:        envelope.DefaultMaxHeaderSize,
		MaxEncryptedDataKeys: maxEDKs,
	})
	if err != nil {
		return explain(err, j, nil)
	}
	rec := struct {
		Input string `json:"input"`
		headerJSON
	}{e.scrub.scrub(j.in), newHeaderJSON(h)}
	b, err := marshalJSON(rec, true)
	if err != nil {
		return err
	}
	return writeAll(e.stdout, append(b, '\n'))
}

// writeAll writes b to w, a writer esdk does not own (standard output, a
// --metadata-output file): a short write without an error is
// io.ErrShortWrite, as io.Copy and bufio.Writer have it.
func writeAll(w io.Writer, b []byte) error {
	n, err := w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}
