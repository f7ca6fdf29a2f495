package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/kmsprovider"
)

// headerJSON is a message header as inspect and --metadata-output print it.
type headerJSON struct {
	Version           int               `json:"version"`
	Suite             suiteJSON         `json:"suite"`
	MessageID         string            `json:"message_id"`
	EncryptionContext map[string]string `json:"encryption_context"`
	EncryptedDataKeys []edkJSON         `json:"encrypted_data_keys"`
	ContentType       string            `json:"content_type"`
	FrameLength       uint32            `json:"frame_length"`
}

type suiteJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Committing bool   `json:"committing"`
	Signed     bool   `json:"signed"`
}

type edkJSON struct {
	ProviderID string `json:"provider_id"`
	// ProviderInfo is the provider info when it is UTF-8 text (a KMS key
	// ARN, an RSA key name), else ProviderInfoBase64 holds it.
	ProviderInfo       string `json:"provider_info,omitempty"`
	ProviderInfoBase64 string `json:"provider_info_base64,omitempty"`
	// KeyName is the key name of a raw AES encrypted data key, read from
	// its provider info.
	KeyName          string `json:"key_name,omitempty"`
	CiphertextLength int    `json:"ciphertext_length"`
}

func newHeaderJSON(h *format.Header) headerJSON {
	s := h.Suite
	j := headerJSON{
		Version: int(h.Version()),
		Suite: suiteJSON{
			ID:         fmt.Sprintf("0x%04X", uint16(s.ID())),
			Name:       s.String(),
			Committing: s.Committing(),
			Signed:     s.Signed(),
		},
		MessageID:         hex.EncodeToString(h.MessageID),
		EncryptionContext: h.EncryptionContext,
		ContentType:       h.ContentType.String(),
		FrameLength:       h.FrameLength,
	}
	if j.EncryptionContext == nil {
		j.EncryptionContext = map[string]string{}
	}
	for _, e := range h.EncryptedDataKeys {
		k := edkJSON{ProviderID: e.ProviderID, CiphertextLength: len(e.Ciphertext)}
		if utf8.Valid(e.ProviderInfo) && !bytes.ContainsRune(e.ProviderInfo, 0) {
			k.ProviderInfo = string(e.ProviderInfo)
		} else {
			k.ProviderInfoBase64 = base64.StdEncoding.EncodeToString(e.ProviderInfo)
			k.KeyName, _ = rawAESKeyName(e.ProviderInfo)
		}
		j.EncryptedDataKeys = append(j.EncryptedDataKeys, k)
	}
	return j
}

// rawAESKeyName reads the key name out of a raw AES keyring's provider
// info: the name, the tag length in bits (128), the IV length (12) and the
// IV.
func rawAESKeyName(info []byte) (string, bool) {
	const tail = 4 + 4 + format.IVLength
	if len(info) <= tail {
		return "", false
	}
	t := info[len(info)-tail:]
	if binary.BigEndian.Uint32(t) != 8*format.TagLength || binary.BigEndian.Uint32(t[4:]) != format.IVLength {
		return "", false
	}
	name := info[:len(info)-tail]
	if !utf8.Valid(name) {
		return "", false
	}
	return string(name), true
}

// describeKeys says which keys a message's data keys are for, for errors.
// What it repeats of the header is quoted (%q), so that nothing in a
// header reaches the terminal raw.
func describeKeys(h *format.Header) string {
	var parts []string
	for _, e := range h.EncryptedDataKeys {
		switch {
		case isECDHKey(e):
			parts = append(parts, describeECDHKey(e))
		case strings.HasPrefix(e.ProviderID, kmsprovider.ProviderID):
			parts = append(parts, fmt.Sprintf("AWS KMS key %q", e.ProviderInfo))
		default:
			if name, ok := rawAESKeyName(e.ProviderInfo); ok {
				parts = append(parts, fmt.Sprintf("AES key namespace=%q,name=%q", e.ProviderID, name))
			} else if utf8.Valid(e.ProviderInfo) {
				parts = append(parts, fmt.Sprintf("RSA key namespace=%q,name=%q", e.ProviderID, e.ProviderInfo))
			} else {
				parts = append(parts, fmt.Sprintf("a key of provider %q", e.ProviderID))
			}
		}
	}
	return strings.Join(parts, "; ")
}

// marshalJSON is json.Marshal (json.MarshalIndent with indent), with every
// rune that strconv.Quote would escape written as a \u escape: encoding/json
// escapes the C0 controls but leaves DEL, the C1 controls (some terminals
// take U+009B for an escape sequence), and format characters such as the
// bidirectional overrides as they are. The output means the same to a
// JSON reader.
func marshalJSON(v any, indent bool) ([]byte, error) {
	var b []byte
	var err error
	if indent {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return nil, err
	}
	printable := func(r rune) bool {
		// Outside strings json writes ASCII only, and inside them no
		// newline: the newlines are the indentation's.
		return r == '\n' || strconv.IsPrint(r)
	}
	if !bytes.ContainsFunc(b, func(r rune) bool { return !printable(r) }) {
		return b, nil
	}
	out := make([]byte, 0, len(b)+64)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if printable(r) {
			out = append(out, b[i:i+size]...)
		} else {
			for _, u := range utf16.Encode([]rune{r}) {
				out = fmt.Appendf(out, `\u%04x`, u)
			}
		}
		i += size
	}
	return out, nil
}
