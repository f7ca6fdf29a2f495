// Package testvectors reads the ESDK decrypt test vectors for the tests of
// this module: a manifest of messages written by other ESDK
// implementations, the keys that decrypt them and the plaintexts they
// hold. The public set is committed under testdata/vectors/esdk-public;
// its README.md describes the manifest. The raw ECDH and hierarchical
// keyring set, a version 5 manifest, is committed under
// testdata/vectors/esdk-ecdh-hierarchy.
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

// EnvECDHHierarchyDir names the environment variable that points
// [LoadECDHHierarchy] at another directory of the same layout as the raw
// ECDH and hierarchical keyring set.
const EnvECDHHierarchyDir = "ESDK_ECDH_VECTORS_DIR"

// The committed sets, from the module root.
const (
	publicDir        = "testdata/vectors/esdk-public"
	ecdhHierarchyDir = "testdata/vectors/esdk-ecdh-hierarchy"
)

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
	// Scenario is the test as a version 5 manifest states it; nil in
	// older manifests. Loading a version 5 manifest also fills
	// Ciphertext, Description, EncryptionContext, Result.Output and
	// Header from it, so that both kinds run through the same code.
	Scenario *Scenario `json:"decryption-scenario"`
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

// Scenario is one decrypt test of a version 5 manifest.
type Scenario struct {
	Type             string `json:"type"` // "positive-esdk"
	AlgorithmSuiteID string `json:"algorithmSuiteId"`
	Ciphertext       string `json:"ciphertext"` // file:// URI
	Result           string `json:"result"`     // plaintext file:// URI
	Description      string `json:"description"`
	// FrameSize is the frame length the writer was asked for. It is not
	// the messages' own: the ESDK for Dafny 4.1.0 wrote 4096-byte frames
	// where its manifest says 512, so it is not checked against them.
	FrameSize                   *int64            `json:"frame-size"`
	ReproducedEncryptionContext map[string]string `json:"reproduced-encryption-context"`
	DecryptKey                  KeyDescription    `json:"decryptKeyDescription"`
}

// KeyDescription says which keyring decrypts a version 5 test.
type KeyDescription struct {
	// Type is the keyring: "raw-ecdh" or "aws-kms-hierarchy".
	Type string `json:"type"`
	// Key names the keys manifest entry of an "aws-kms-hierarchy"
	// keyring (a static branch key).
	Key string `json:"key"`

	// The fields of a "raw-ecdh" keyring. Schema is "static" or
	// "discovery"; Sender and Recipient name keys manifest entries (the
	// sender is "discovery" in the discovery schema); SenderPublicKey
	// and RecipientPublicKey name the field of that entry holding the
	// public key.
	Schema             string `json:"schema"`
	Curve              string `json:"ecc-curve"` // "ecc-256", "ecc-384", "ecc-521"
	Sender             string `json:"sender"`
	Recipient          string `json:"recipient"`
	SenderPublicKey    string `json:"sender-public-key"`
	RecipientPublicKey string `json:"recipient-public-key"`
	ProviderID         string `json:"provider-id"`
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

	// An "ecc-private" key pair for ECDH: the private keys as PKCS #8
	// PEM, the public keys as PublicKeyEncoding says ("base64-der":
	// base64 of a DER SubjectPublicKeyInfo).
	PublicKeyEncoding          string `json:"public-key-encoding"`
	SenderMaterial             string `json:"sender-material"`
	SenderMaterialPublicKey    string `json:"sender-material-public-key"`
	RecipientMaterial          string `json:"recipient-material"`
	RecipientMaterialPublicKey string `json:"recipient-material-public-key"`

	// A "static-branch-key": the branch key and beacon key (base64) and
	// the branch key version; KeyID is the branch key id.
	BranchKey        string `json:"branchKey"`
	BeaconKey        string `json:"beaconKey"`
	BranchKeyVersion string `json:"branchKeyVersion"`
}

// Field returns the value of the key's field named as in the keys
// manifest ("recipient-material-public-key", say), as a version 5 key
// description names it, and whether the field is known.
func (k Key) Field(name string) (string, bool) {
	switch name {
	case "material":
		return k.Material, true
	case "sender-material":
		return k.SenderMaterial, true
	case "sender-material-public-key":
		return k.SenderMaterialPublicKey, true
	case "recipient-material":
		return k.RecipientMaterial, true
	case "recipient-material-public-key":
		return k.RecipientMaterialPublicKey, true
	}
	return "", false
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
	return loadCommitted(tb, publicDir)
}

// LoadECDHHierarchy loads the set in the directory that
// ESDK_ECDH_VECTORS_DIR names, or else the raw ECDH and hierarchical
// keyring set committed with the module.
func LoadECDHHierarchy(tb testing.TB) *Set {
	tb.Helper()
	if dir, ok := os.LookupEnv(EnvECDHHierarchyDir); ok {
		return LoadDir(tb, dir)
	}
	return loadCommitted(tb, ecdhHierarchyDir)
}

func loadCommitted(tb testing.TB, rel string) *Set {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatalf("test vectors: %v", err)
	}
	return LoadDir(tb, filepath.Join(root, filepath.FromSlash(rel)))
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
	if m.Manifest.Version < 1 || m.Manifest.Version > 5 {
		return nil, fmt.Errorf("manifest.json: unsupported version %d", m.Manifest.Version)
	}
	if len(m.Tests) == 0 {
		return nil, errors.New("manifest.json: no tests")
	}
	s := &Set{Dir: dir, Tests: m.Tests}
	for id, tc := range m.Tests {
		tc.ID = id
		if err := fromScenario(tc, m.Manifest.Version); err != nil {
			return nil, fmt.Errorf("manifest.json: test %s: %w", id, err)
		}
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

// fromScenario fills the fields of a version 5 test that older manifests
// state directly, and checks that only version 5 tests have a scenario.
func fromScenario(tc *Test, version int) error {
	sc := tc.Scenario
	switch {
	case version < 5 && sc != nil:
		return fmt.Errorf("decryption-scenario in a version %d manifest", version)
	case version < 5:
		return nil
	case sc == nil:
		return errors.New("no decryption-scenario")
	case sc.Type != "positive-esdk":
		return fmt.Errorf("decryption-scenario type %q is not supported (only positive-esdk)", sc.Type)
	case sc.Ciphertext == "" || sc.Result == "":
		return errors.New("decryption-scenario without ciphertext or result")
	}
	tc.Ciphertext = sc.Ciphertext
	tc.Description = sc.Description
	tc.EncryptionContext = sc.ReproducedEncryptionContext
	tc.Result.Output = &struct {
		Plaintext string `json:"plaintext"`
	}{Plaintext: sc.Result}
	tc.Header = &struct {
		MessageFormatVersion *int   `json:"message-format-version"`
		AlgorithmSuiteID     string `json:"algorithm-suite-id"`
		ContentType          string `json:"content-type"`
		FrameLength          *int64 `json:"frame-length"`
	}{AlgorithmSuiteID: sc.AlgorithmSuiteID}
	return nil
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
