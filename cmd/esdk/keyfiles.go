package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// maxKeyFile bounds what esdk reads of a key file: an RSA key of 16,384
// bits takes 13 KiB of PEM.
const maxKeyFile = 64 << 10

// readKeyFile reads a file that holds a secret key into one buffer, which
// the caller wipes once the key is parsed (a read that grows its buffer
// would leave copies of the key behind it), and returns what Stat says of
// the file as it was opened.
func readKeyFile(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := maxKeyFile + 1
	if fi.Mode().IsRegular() && fi.Size() < maxKeyFile {
		size = int(fi.Size()) + 1 // one more, to see the end
	}
	buf := make([]byte, size)
	n, err := io.ReadFull(f, buf)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return buf[:n], fi, nil
	case err != nil:
		clear(buf)
		return nil, nil, err
	case n > maxKeyFile:
		clear(buf)
		return nil, nil, fmt.Errorf("%s holds more than %d KiB: not a key file", path, maxKeyFile>>10)
	}
	// A regular file that grew while it was read.
	clear(buf)
	return nil, nil, fmt.Errorf("%s changed while it was read", path)
}

// warnExposed writes a warning on w when fi, a file that holds a secret
// (an AES key, an RSA private key, a PIN), can be read or changed by
// anyone but its owner, as ssh does of an unprotected private key. esdk
// warns and goes on, unlike ssh, which refuses: the key has been open to
// others already, refusing would not close it, and a key shared with a
// group on purpose (a service's group reading /run/secrets) is a choice
// esdk cannot judge. Windows has no such mode bits.
func warnExposed(w io.Writer, what, path string, fi fs.FileInfo) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || !fi.Mode().IsRegular() {
		return
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		fmt.Fprintf(w, "esdk: warning: the %s %s can be read or changed by others than its owner (permissions %04o): whoever can read it can decrypt what it protects; make it private: chmod 600 %s\n", what, name(path), perm, name(path))
	}
}

// pinSourceFile returns the file that the pin-source= of a pkcs11 URI
// names, read as pkcs11.ParseURI reads it (a path, or a file: URI with no
// host or localhost), or "".
func pinSourceFile(uri string) string {
	_, query, ok := strings.Cut(uri, "?")
	if !ok {
		return ""
	}
	for _, a := range strings.Split(query, "&") {
		n, v, ok := strings.Cut(a, "=")
		if !ok || !strings.EqualFold(n, "pin-source") {
			continue
		}
		src, ok := percentDecode(v)
		if !ok {
			return ""
		}
		if len(src) >= 5 && strings.EqualFold(src[:5], "file:") {
			src = src[5:]
			if rest, ok := strings.CutPrefix(src, "//"); ok {
				host, p, _ := strings.Cut(rest, "/")
				if host != "" && host != "localhost" {
					return ""
				}
				src = "/" + p
			}
		} else if strings.Contains(src, ":") && !strings.HasPrefix(src, "/") {
			return ""
		}
		return src
	}
	return ""
}
