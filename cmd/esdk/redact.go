package main

import (
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PINs. A pkcs11: URI may carry the token's PIN (pin-value=), and esdk
// repeats what it was given in its errors: a --wrapping-key, an operand, a
// flag's value. Two layers keep the PIN off the terminal:
//
//   - Where esdk shows a key spec, it shows it rebuilt from the parsed URI
//     with the PIN replaced (redactSpec), so the error still names the
//     token and the key.
//   - Every PIN found in the command line, parsed as below, is a secret
//     that the writer of standard error (and the file names esdk prints
//     on standard output) replace wherever it appears (scrubber): what no
//     rebuilt spec covers (an operand, a flag's value, a library's error)
//     cannot show it either.
//
// The URI is parsed as pkcs11.ParseURI parses it (the path before the
// first "?" split at ";", the query after it at "&", each attribute at its
// first "="), and an attribute is a PIN when its name, percent-decoded and
// without regard to case, is pin-value: PIN-VALUE=, Pin-Value=, pin%2Dvalue=
// are all hidden. An attribute without "=" is hidden too: it is no
// attribute, and most likely a PIN pasted in the wrong place. A PIN read
// from a file (pin-source=) is read by the keyring, and nothing of esdk
// ever prints the file's contents.

const hidden = "(hidden)"

// redactURI returns u, a pkcs11: URI or what was given as one, with every
// PIN hidden, and the PINs it hid: as written and percent-decoded.
func redactURI(u string) (string, []string) {
	var secrets []string
	scheme := ""
	if len(u) >= len("pkcs11:") && strings.EqualFold(u[:len("pkcs11:")], "pkcs11:") {
		scheme, u = u[:len("pkcs11:")], u[len("pkcs11:"):]
	}
	redact := func(part, sep string) string {
		attrs := strings.Split(part, sep)
		for i, a := range attrs {
			if a == "" {
				continue
			}
			name, value, ok := strings.Cut(a, "=")
			switch {
			case !ok:
				secrets = append(secrets, a)
				attrs[i] = hidden
			case isPINAttr(name):
				if value != "" {
					secrets = append(secrets, value)
					if d, ok := percentDecode(value); ok && d != value {
						secrets = append(secrets, d)
					}
				}
				attrs[i] = name + "=" + hidden
			}
		}
		return strings.Join(attrs, sep)
	}
	path, query, hasQuery := strings.Cut(u, "?")
	shown := scheme + redact(path, ";")
	if hasQuery {
		shown += "?" + redact(query, "&")
	}
	return shown, secrets
}

func isPINAttr(name string) bool {
	if d, ok := percentDecode(name); ok {
		name = d
	}
	return strings.EqualFold(strings.TrimSpace(name), "pin-value")
}

// percentDecode decodes %XX escapes; ok is false when one is malformed.
func percentDecode(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), true
}

// uriStart returns where a pkcs11 URI starts in part, one piece of a key
// spec: after "pkcs11=" (the URI of a pkcs11 key, with or without its
// scheme) or at "pkcs11:", in any case; -1 if there is none.
func uriStart(part string) int {
	l := strings.ToLower(part)
	i, j := strings.Index(l, "pkcs11="), strings.Index(l, "pkcs11:")
	switch {
	case i >= 0 && (j < 0 || i < j):
		return i + len("pkcs11=")
	case j >= 0:
		return j
	}
	return -1
}

// redactSpec returns a --wrapping-key value with the PINs of its pkcs11
// URI hidden, and the PINs. After a URI, a piece that is not an option of
// pkcs11 keys is hidden too: it may be the rest of a PIN that holds a
// comma and a word and "=", where the spec was split.
func redactSpec(s string) (string, []string) {
	var secrets []string
	parts := splitKeySpec(s)
	uri := false
	for i, p := range parts {
		if at := uriStart(p); at >= 0 {
			shown, sec := redactURI(p[at:])
			parts[i] = p[:at] + shown
			secrets = append(secrets, sec...)
			uri = true
			continue
		}
		if name, _, _ := strings.Cut(p, "="); uri && !slices.Contains(keyOptions["pkcs11"], name) {
			parts[i] = hidden
			secrets = append(secrets, p)
		}
	}
	return strings.Join(parts, ","), secrets
}

// argSecrets returns the PINs in a command line: those of every pkcs11
// URI in any argument, read as a key spec is.
func argSecrets(args []string) []string {
	var secrets []string
	for _, a := range args {
		_, sec := redactSpec(a)
		secrets = append(secrets, sec...)
	}
	return secrets
}

// scrubber replaces secrets in text.
type scrubber struct{ r *strings.Replacer }

func newScrubber(secrets []string) *scrubber {
	secrets = slices.DeleteFunc(slices.Clone(secrets), func(s string) bool { return s == "" })
	if len(secrets) == 0 {
		return &scrubber{}
	}
	// Longest first, so that a PIN that holds another is replaced whole.
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	var pairs []string
	for _, s := range slices.Compact(secrets) {
		pairs = append(pairs, s, hidden)
	}
	return &scrubber{r: strings.NewReplacer(pairs...)}
}

func (s *scrubber) scrub(text string) string {
	if s == nil || s.r == nil {
		return text
	}
	return s.r.Replace(text)
}

// scrubWriter is standard error with the secrets replaced. Every message
// esdk writes is one Write.
type scrubWriter struct {
	w io.Writer
	s *scrubber
}

func (w *scrubWriter) Write(p []byte) (int, error) {
	if w.s.r == nil {
		return w.w.Write(p)
	}
	if _, err := io.WriteString(w.w, w.s.r.Replace(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// underlying returns the writer below, for the terminal check.
func (w *scrubWriter) underlying() io.Writer { return w.w }

// Terminal safety. What a message's header holds (encryption context,
// provider ids and info) is anybody's choice, and so are file names:
// written raw, an escape sequence in them would drive the terminal, a
// newline forge a line of output. esdk writes such strings quoted
// (strconv.Quote: %q) where it formats them itself, and escapes, as
// strconv.Quote does but without adding quotes, every non-printable rune
// and invalid UTF-8 byte in the text of errors that come from the
// libraries (which may repeat header values); its own hints, lines of
// their own under an error, are built from quoted values only. JSON
// output (inspect, --metadata-output) has them as \u escapes.

// escapeText escapes in s what strconv.Quote escapes, except that it
// leaves '"' and '\' alone: the non-printable runes, newlines and tabs
// included, and invalid UTF-8.
func escapeText(s string) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !strconv.IsPrint(r) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	b := []byte(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\x`...)
			b = append(b, "0123456789abcdef"[s[i]>>4], "0123456789abcdef"[s[i]&15])
		case strconv.IsPrint(r):
			b = append(b, s[i:i+size]...)
		default:
			q := strconv.QuoteRune(r)
			b = append(b, q[1:len(q)-1]...)
		}
		i += size
	}
	return string(b)
}

// hinted is an error with advice of esdk's own, printed on a line of its
// own under the error's text.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() + "\n  (" + h.hint + ")" }
func (h *hinted) Unwrap() error { return h.err }

func withHint(err error, hint string) error { return &hinted{err: err, hint: hint} }

// errText is what esdk prints of err: its text without the library's
// leading "esdk: ", non-printable runes escaped, then the hints, each on
// its own line.
func errText(err error) string {
	var hints []string
	for {
		h, ok := err.(*hinted)
		if !ok {
			break
		}
		hints = append(hints, h.hint)
		err = h.err
	}
	var b strings.Builder
	b.WriteString(escapeText(strings.TrimPrefix(err.Error(), "esdk: ")))
	for i := len(hints) - 1; i >= 0; i-- {
		b.WriteString("\n  (")
		b.WriteString(hints[i])
		b.WriteString(")")
	}
	return b.String()
}
