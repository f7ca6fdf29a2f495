// Package testvectors reads the ESDK decrypt test vectors for the tests of
// this module: a manifest of messages written by other ESDK
// implementations, the keys that decrypt them and the plaintexts they
// hold. The public set is committed under testdata/vectors/esdk-public;
// its README.md describes the manifest.
package testvectors

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// EnvDir names the environment variable that points [Load] at another
// directory of vectors in the same format.
const EnvDir = "ESDK_VECTORS_DIR"

// publicDir is where the public set lives, from the module root.
const publicDir = "testdata/vectors/esdk-public"

// Set is a loaded manifest with its keys. Sets are cached and shared by
// the tests of a package: treat them as read-only.
type Set struct {
	Dir   string
	Tests map[string]*Test // by test id
	Keys  map[string]Key   // by key name
}

// Test is one decrypt test of the manifest.
type Test struct {
	ID                            string            `json:"-"`
	Ciphertext                    string            `json:"ciphertext"` // file:// URI
	Description                   string            `json:"description"`
	MasterKeys                    []MasterKey       `json:"master-keys"`
	CMM                           string            `json:"cmm"`
	EncryptionContext             map[string]string `json:"encryption-context"`
	RequiredEncryptionContextKeys *[]string         `json:"required-encryption-context-keys"`
	Result                        struct {
		Output *struct {
			Plaintext string `json:"plaintext"` // file:// URI
		} `json:"output"`
		Error *struct {
			Description string `json:"error-description"`
		} `json:"error"`
	} `json:"result"`
	Source struct {
		Implementation string `json:"implementation"`
		Version        string `json:"version"`
		OriginalTestID string `json:"original-test-id"`
	} `json:"source"`
	// Header is informational, parsed from the ciphertext by the set's
	// authors.
	Header *struct {
		MessageFormatVersion *int   `json:"message-format-version"`
		AlgorithmSuiteID     string `json:"algorithm-suite-id"` // hex
		ContentType          string `json:"content-type"`       // "framed" or "non-framed"
		FrameLength          *int64 `json:"frame-length"`
	} `json:"header"`
}

// MasterKey is one key a test may decrypt with.
type MasterKey struct {
	Type                string `json:"type"`
	Key                 string `json:"key"` // name in the keys manifest
	ProviderID          string `json:"provider-id"`
	EncryptionAlgorithm string `json:"encryption-algorithm"`
	PaddingAlgorithm    string `json:"padding-algorithm"`
	PaddingHash         string `json:"padding-hash"`
}

// Key is one entry of the keys manifest.
type Key struct {
	Encrypt   bool   `json:"encrypt"`
	Decrypt   bool   `json:"decrypt"`
	Algorithm string `json:"algorithm"`
	Type      string `json:"type"`
	Bits      int    `json:"bits"`
	Encoding  string `json:"encoding"`
	Material  string `json:"material"`
	KeyID     string `json:"key-id"`
}

// Load loads the set in the directory that ESDK_VECTORS_DIR names, or the
// public set when it is not set.
func Load(tb testing.TB) *Set {
	tb.Helper()
	if dir, ok := os.LookupEnv(EnvDir); ok {
		return LoadDir(tb, dir)
	}
	return LoadPublic(tb)
}

// LoadPublic loads the public set committed with the module. It fails tb,
// rather than skipping, when the set is missing.
func LoadPublic(tb testing.TB) *Set {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatalf("test vectors: %v", err)
	}
	return LoadDir(tb, filepath.Join(root, filepath.FromSlash(publicDir)))
}

var (
	mu    sync.Mutex
	cache = map[string]*Set{}
)

// LoadDir loads the set in dir, checking its SHA256SUMS when there is one.
func LoadDir(tb testing.TB, dir string) *Set {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if s, ok := cache[dir]; ok {
		return s
	}
	s, err := load(dir)
	if err != nil {
		tb.Fatalf("test vectors in %s (they are part of the repository; %s names another directory): %v", dir, EnvDir, err)
	}
	cache[dir] = s
	return s
}

func load(dir string) (*Set, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, errors.New("not a directory")
	}
	if err := checkSums(dir); err != nil {
		return nil, err
	}
	var m struct {
		Manifest struct {
			Type    string `json:"type"`
			Version int    `json:"version"`
		} `json:"manifest"`
		Keys  string           `json:"keys"`
		Tests map[string]*Test `json:"tests"`
	}
	if err := readJSON(filepath.Join(dir, "manifest.json"), &m); err != nil {
		return nil, err
	}
	if m.Manifest.Type != "awses-decrypt" {
		return nil, fmt.Errorf("manifest.json: type %q, want awses-decrypt", m.Manifest.Type)
	}
	if m.Manifest.Version < 1 || m.Manifest.Version > 4 {
		return nil, fmt.Errorf("manifest.json: unsupported version %d", m.Manifest.Version)
	}
	if len(m.Tests) == 0 {
		return nil, errors.New("manifest.json: no tests")
	}
	s := &Set{Dir: dir, Tests: m.Tests}
	for id, tc := range m.Tests {
		tc.ID = id
	}
	keysPath, err := s.Path(m.Keys)
	if err != nil {
		return nil, fmt.Errorf("manifest.json: keys: %w", err)
	}
	var k struct {
		Manifest struct {
			Type    string `json:"type"`
			Version int    `json:"version"`
		} `json:"manifest"`
		Keys map[string]Key `json:"keys"`
	}
	if err := readJSON(keysPath, &k); err != nil {
		return nil, err
	}
	if k.Manifest.Type != "keys" {
		return nil, fmt.Errorf("%s: type %q, want keys", m.Keys, k.Manifest.Type)
	}
	if k.Manifest.Version < 1 || k.Manifest.Version > 3 {
		return nil, fmt.Errorf("%s: unsupported version %d", m.Keys, k.Manifest.Version)
	}
	s.Keys = k.Keys
	return s, nil
}

// IDs returns the test ids in sorted order.
func (s *Set) IDs() []string { return slices.Sorted(maps.Keys(s.Tests)) }

// Path turns a manifest file:// URI into a path under the set's directory.
func (s *Set) Path(uri string) (string, error) {
	rel, ok := strings.CutPrefix(uri, "file://")
	if !ok {
		return "", fmt.Errorf("unsupported URI %q (only file:// is supported)", uri)
	}
	if rel == "" || path.IsAbs(rel) || !filepath.IsLocal(filepath.FromSlash(rel)) {
		return "", fmt.Errorf("URI %q does not name a file inside the vectors directory", uri)
	}
	return filepath.Join(s.Dir, filepath.FromSlash(rel)), nil
}

// ReadFile reads the file a manifest URI names.
func (s *Set) ReadFile(uri string) ([]byte, error) {
	p, err := s.Path(uri)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Ciphertext reads the message of test id, failing tb when it cannot.
func (s *Set) Ciphertext(tb testing.TB, id string) []byte {
	tb.Helper()
	tc, ok := s.Tests[id]
	if !ok {
		tb.Fatalf("test vectors: no test %q", id)
	}
	b, err := s.ReadFile(tc.Ciphertext)
	if err != nil {
		tb.Fatalf("test vectors: %s: ciphertext: %v", id, err)
	}
	return b
}

func readJSON(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parsing %s: %w", filepath.Base(file), err)
	}
	return nil
}

// checkSums verifies the files listed in SHA256SUMS, when there is one, so
// that a damaged checkout is reported as such rather than as decrypt
// failures.
func checkSums(dir string) error {
	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	var errs []error
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		name = strings.TrimPrefix(strings.TrimPrefix(name, " "), "*")
		want, err := hex.DecodeString(sum)
		if !ok || err != nil || len(want) != sha256.Size || name == "" {
			errs = append(errs, fmt.Errorf("SHA256SUMS: malformed line %q", line))
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			errs = append(errs, fmt.Errorf("SHA256SUMS: %w", err))
			continue
		}
		if got := sha256.Sum256(b); !bytes.Equal(got[:], want) {
			errs = append(errs, fmt.Errorf("SHA256SUMS: %s: checksum mismatch (damaged or converted file)", name))
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading SHA256SUMS: %w", err)
	}
	if n == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("SHA256SUMS lists no files"))
	}
	return errors.Join(errs...)
}

// moduleRoot finds the directory of go.mod above the working directory,
// which is a package's directory when its tests run.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
