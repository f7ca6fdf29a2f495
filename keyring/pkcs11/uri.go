package pkcs11

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// ParseURI reads a configuration from an RFC 7512 PKCS #11 URI, such as
//
//	pkcs11:token=prod;object=esdk-wrapping-key;type=secret-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/hsm-pin
//
// The path attributes understood are token (the token label), slot-id,
// object (the key label), id (the key id, usually percent-encoded bytes)
// and type (public, private, cert, secret-key or data); the query
// attributes are module-path, pin-value and pin-source (a file name or
// file: URI whose first line is the PIN). Values are percent-decoded.
// Other attributes, and an attribute given twice, are errors rather than
// being ignored, so that a URI never selects more than it says.
//
// Errors never repeat a value, nor text that is not the name of an
// attribute of RFC 7512: a PIN pasted in the wrong place must not reach a
// log. They name the attribute, or give its place ("path attribute 2").
func ParseURI(uri string) (Config, error) {
	var c Config
	const scheme = "pkcs11:"
	if len(uri) < len(scheme) || !strings.EqualFold(uri[:len(scheme)], scheme) {
		return c, errors.New(`esdk/pkcs11: a PKCS #11 URI starts with "pkcs11:"`)
	}
	rest := uri[len(scheme):]
	path, query, _ := strings.Cut(rest, "?")
	if strings.Contains(query, "?") || strings.Contains(rest, "#") {
		return c, errors.New(`esdk/pkcs11: PKCS #11 URI has a second "?" or a fragment`)
	}
	seen := map[string]bool{}
	var pinSource string
	pos := 0
	for part := range strings.SplitSeq(path, ";") {
		pos++
		if part == "" {
			continue
		}
		name, value, err := uriAttr(part, "path", pos, seen)
		if err != nil {
			return Config{}, err
		}
		switch name {
		case "token":
			c.TokenLabel = string(value)
		case "object":
			c.KeyLabel = string(value)
		case "id":
			c.KeyID = value
		case "type":
			switch t := string(value); t {
			case "public", "private", "cert", "secret-key", "data":
				c.KeyType = t
			default:
				return Config{}, errors.New("esdk/pkcs11: URI type is not one of public, private, cert, secret-key, data")
			}
		case "slot-id":
			id, err := strconv.ParseUint(string(value), 10, strconv.IntSize)
			if err != nil {
				return Config{}, errors.New("esdk/pkcs11: URI slot-id is not a decimal number")
			}
			slot := uint(id)
			c.SlotID = &slot
		case "pin-value", "pin-source", "module-path", "module-name":
			return Config{}, fmt.Errorf("esdk/pkcs11: URI attribute %s belongs in the query part, after \"?\"", name)
		default:
			return Config{}, fmt.Errorf("esdk/pkcs11: URI path attribute %s is not supported (supported: token, slot-id, object, id, type)", name)
		}
	}
	pos = 0
	if query != "" {
		for part := range strings.SplitSeq(query, "&") {
			pos++
			if part == "" {
				continue
			}
			name, value, err := uriAttr(part, "query", pos, seen)
			if err != nil {
				return Config{}, err
			}
			switch name {
			case "module-path":
				c.ModulePath = string(value)
			case "pin-value":
				c.PIN = string(value)
			case "pin-source":
				pinSource = string(value)
			case "module-name":
				return Config{}, errors.New("esdk/pkcs11: URI attribute module-name is not supported: give the library's file name as module-path")
			default:
				return Config{}, fmt.Errorf("esdk/pkcs11: URI query attribute %s is not supported (supported: module-path, pin-value, pin-source)", name)
			}
		}
	}
	if pinSource != "" {
		if seen["pin-value"] {
			return Config{}, errors.New("esdk/pkcs11: URI has both pin-value and pin-source; give one")
		}
		pin, err := readPINSource(pinSource)
		if err != nil {
			return Config{}, err
		}
		c.PIN = pin
	}
	return c, nil
}

// uriNames are the attribute names of RFC 7512. Only these are named in
// errors; other text may be a value, even a PIN, that lost its name.
var uriNames = map[string]bool{
	"id": true, "library-description": true, "library-manufacturer": true,
	"library-version": true, "manufacturer": true, "model": true, "object": true,
	"serial": true, "slot-description": true, "slot-id": true,
	"slot-manufacturer": true, "token": true, "type": true,
	"module-name": true, "module-path": true, "pin-source": true, "pin-value": true,
}

// uriAttr splits and decodes one name=value attribute, the pos-th of the
// URI's part (path or query), and records its name in seen. The name it
// returns is one of uriNames.
func uriAttr(part, where string, pos int, seen map[string]bool) (string, []byte, error) {
	name, raw, ok := strings.Cut(part, "=")
	name = strings.ToLower(name)
	known := uriNames[name]
	switch {
	case !ok && known:
		return "", nil, fmt.Errorf("esdk/pkcs11: URI attribute %s has no \"=\" and no value", name)
	case !ok:
		return "", nil, fmt.Errorf("esdk/pkcs11: URI %s attribute %d has no \"=\" (its text is not repeated, in case it is a PIN)", where, pos)
	case name == "":
		return "", nil, fmt.Errorf("esdk/pkcs11: URI %s attribute %d has no name before its \"=\"", where, pos)
	case !known:
		return "", nil, fmt.Errorf("esdk/pkcs11: URI %s attribute %d is not supported: its name is not one of RFC 7512 (nor repeated here, in case it is a PIN)", where, pos)
	case seen[name]:
		return "", nil, fmt.Errorf("esdk/pkcs11: URI attribute %s appears twice", name)
	}
	seen[name] = true
	value, err := percentDecode(raw)
	if err != nil {
		return "", nil, fmt.Errorf("esdk/pkcs11: URI attribute %s: %w", name, err)
	}
	return name, value, nil
}

// percentDecode decodes %XX escapes. Its errors do not repeat the input,
// which may be a PIN.
func percentDecode(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) {
			return nil, errors.New("truncated percent escape")
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return nil, errors.New("bad percent escape (want % and two hex digits)")
		}
		out = append(out, hi<<4|lo)
		i += 2
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// readPINSource reads the PIN from a file named by a path or a file: URI:
// the file's first line, without its line ending. Its errors do not repeat
// the name: a PIN given as pin-source by mistake must not show.
func readPINSource(src string) (string, error) {
	name := src
	if strings.HasPrefix(strings.ToLower(src), "file:") {
		name = src[len("file:"):]
		if strings.HasPrefix(name, "//") {
			// file://host/path: only an empty host or localhost.
			host, p, _ := strings.Cut(name[2:], "/")
			if host != "" && host != "localhost" {
				return "", errors.New("esdk/pkcs11: URI pin-source names another host (only file:/path, file:///path and file://localhost/path are read)")
			}
			name = "/" + p
		}
	} else if strings.Contains(src, ":") && !strings.HasPrefix(src, "/") {
		return "", errors.New("esdk/pkcs11: URI pin-source: only files are supported (a path or a file: URI)")
	}
	b, err := os.ReadFile(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("esdk/pkcs11: URI pin-source: reading the file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}
