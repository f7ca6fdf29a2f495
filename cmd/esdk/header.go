package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
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
func describeKeys(h *format.Header) string {
	var parts []string
	for _, e := range h.EncryptedDataKeys {
		switch {
		case strings.HasPrefix(e.ProviderID, kmsprovider.ProviderID):
			parts = append(parts, "AWS KMS key "+string(e.ProviderInfo))
		default:
			if name, ok := rawAESKeyName(e.ProviderInfo); ok {
				parts = append(parts, fmt.Sprintf("AES key namespace=%s,name=%s", e.ProviderID, name))
			} else if utf8.Valid(e.ProviderInfo) {
				parts = append(parts, fmt.Sprintf("RSA key namespace=%s,name=%s", e.ProviderID, e.ProviderInfo))
			} else {
				parts = append(parts, "a key of provider "+e.ProviderID)
			}
		}
	}
	return strings.Join(parts, "; ")
}
