package envelope_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/testvectors"
	"github.com/go-esdk/esdk/keyring"
)

// The decrypt test vectors are described in the README.md next to their
// manifest; ESDK_VECTORS_DIR points the test at another directory of the
// same format.
type (
	vectorTest      = testvectors.Test
	vectorMasterKey = testvectors.MasterKey
	vectorKey       = testvectors.Key
)

// vectorSet is a loaded manifest with the plaintexts its tests share.
type vectorSet struct {
	*testvectors.Set
	plaintexts map[string][]byte // by URI
	ptErrs     map[string]error  // by URI
}

// skipError marks a vector that needs something this harness or the SDK
// does not support.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

func skipf(f string, args ...any) error { return &skipError{fmt.Sprintf(f, args...)} }

func TestVectors(t *testing.T) {
	runVectors(t, loadVectors(t, testvectors.Load(t)))
}

// TestVectorsECDHHierarchy decrypts the raw ECDH and hierarchical keyring
// vectors (a version 5 manifest), or the set that ESDK_ECDH_VECTORS_DIR
// names; the subtest's name says which directory ran.
func TestVectorsECDHHierarchy(t *testing.T) {
	name := "committed"
	if dir, ok := os.LookupEnv(testvectors.EnvECDHHierarchyDir); ok {
		name = testvectors.EnvECDHHierarchyDir + "=" + dir
	}
	set := loadVectors(t, testvectors.LoadECDHHierarchy(t))
	t.Run(name, func(t *testing.T) { runVectors(t, set) })
}

func runVectors(t *testing.T, set *vectorSet) {
	ids := set.IDs()
	var passed, failed, skipped atomic.Int64
	t.Run("all", func(t *testing.T) {
		for _, id := range ids {
			t.Run(id, func(t *testing.T) {
				t.Parallel()
				t.Cleanup(func() {
					switch {
					case t.Failed():
						failed.Add(1)
						t.Logf("failed vector: %s", set.describe(id))
					case t.Skipped():
						skipped.Add(1)
					default:
						passed.Add(1)
					}
				})
				set.run(t, id)
			})
		}
	})
	t.Logf("vectors: %d passed, %d failed, %d skipped", passed.Load(), failed.Load(), skipped.Load())
}

func loadVectors(t *testing.T, loaded *testvectors.Set) *vectorSet {
	t.Helper()
	set := &vectorSet{
		Set:        loaded,
		plaintexts: map[string][]byte{},
		ptErrs:     map[string]error{},
	}
	// The plaintexts are shared by many tests: read each once.
	for _, tc := range set.Tests {
		if tc.Result.Output == nil {
			continue
		}
		uri := tc.Result.Output.Plaintext
		if _, ok := set.plaintexts[uri]; ok {
			continue
		}
		if _, ok := set.ptErrs[uri]; ok {
			continue
		}
		if b, err := set.ReadFile(uri); err != nil {
			set.ptErrs[uri] = err
		} else {
			set.plaintexts[uri] = b
		}
	}
	return set
}

// describe summarises a vector for failure reports.
func (s *vectorSet) describe(id string) string {
	tc := s.Tests[id]
	if sc := tc.Scenario; sc != nil {
		d := sc.DecryptKey
		return fmt.Sprintf("suite=%s keyring=%s schema=%s curve=%s key=%s%s", sc.AlgorithmSuiteID, d.Type, d.Schema, d.Curve, d.Key, d.Recipient)
	}
	var b strings.Builder
	if h := tc.Header; h != nil {
		v := "?"
		if h.MessageFormatVersion != nil {
			v = strconv.Itoa(*h.MessageFormatVersion)
		}
		fmt.Fprintf(&b, "suite=%s v%s %s", h.AlgorithmSuiteID, v, h.ContentType)
		if h.FrameLength != nil && h.ContentType != "non-framed" {
			fmt.Fprintf(&b, "/%d", *h.FrameLength)
		}
	}
	cmm := tc.CMM
	if cmm == "" {
		cmm = "Default"
	}
	algs := make([]string, 0, len(tc.MasterKeys))
	for _, mk := range tc.MasterKeys {
		a := mk.EncryptionAlgorithm
		if mk.PaddingAlgorithm != "" {
			a += "-" + mk.PaddingAlgorithm
			if mk.PaddingAlgorithm != "pkcs1" && mk.PaddingHash != "" {
				a += "-" + mk.PaddingHash
			}
		}
		algs = append(algs, a)
	}
	want := "output"
	if tc.Result.Error != nil {
		want = "error"
	}
	fmt.Fprintf(&b, " cmm=%s keys=%s ec=%d want=%s source=%s/%s",
		cmm, strings.Join(algs, "+"), len(tc.EncryptionContext), want, tc.Source.Implementation, tc.Source.Version)
	return b.String()
}

func (s *vectorSet) run(t *testing.T, id string) {
	tc := s.Tests[id]
	ctx := t.Context()

	wantOK := tc.Result.Output != nil
	switch {
	case wantOK && tc.Result.Error != nil:
		t.Fatalf("manifest: result has both output and error")
	case !wantOK && tc.Result.Error == nil:
		t.Fatalf("manifest: result has neither output nor error")
	}

	var want []byte
	if wantOK {
		uri := tc.Result.Output.Plaintext
		if err := s.ptErrs[uri]; err != nil {
			t.Fatalf("expected plaintext: %v", err)
		}
		want = s.plaintexts[uri]
	}
	ct := s.Ciphertext(t, id)

	kr, err := s.keyring(tc)
	var skip *skipError
	if errors.As(err, &skip) {
		t.Skip(skip.reason)
	}
	if err != nil {
		t.Fatalf("building keyring: %v", err)
	}
	if kr == nil {
		if wantOK {
			t.Fatalf("no master key of this vector can decrypt (all are encrypt-only or missing)")
		}
		// Decryption has to fail without any key; check that it does.
		kr = noKeys{}
	}

	mm, err := s.manager(tc, kr)
	if errors.As(err, &skip) {
		t.Skip(skip.reason)
	}
	if err != nil {
		t.Fatalf("building materials manager: %v", err)
	}

	client, err := envelope.New(func(o *envelope.Options) {
		o.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt
	})
	if err != nil {
		t.Fatalf("envelope.New: %v", err)
	}

	pt, hdr, err := client.DecryptBytes(ctx, ct, mm, tc.EncryptionContext)
	spt, shdr, serr := decryptStream(ctx, client, ct, mm, tc.EncryptionContext)

	if !wantOK {
		if err == nil {
			t.Errorf("DecryptBytes succeeded (%d bytes of plaintext), want an error: %s", len(pt), tc.Result.Error.Description)
		} else if len(pt) != 0 {
			t.Errorf("DecryptBytes failed (%v) but returned %d bytes of plaintext", err, len(pt))
		} else {
			t.Logf("DecryptBytes: %v", err)
		}
		if serr == nil {
			t.Errorf("streaming Decrypt succeeded (%d bytes of plaintext), want an error", len(spt))
		} else if len(spt) != 0 {
			t.Errorf("streaming Decrypt failed (%v) but released %d bytes of plaintext", serr, len(spt))
		}
		return
	}

	if err != nil {
		t.Errorf("DecryptBytes: %v", err)
	} else {
		if !bytes.Equal(pt, want) {
			t.Errorf("DecryptBytes: plaintext differs: %s", diffSummary(pt, want))
		}
		if hdr == nil {
			t.Errorf("DecryptBytes: nil header")
		} else {
			checkHeader(t, "DecryptBytes", tc, hdr)
		}
	}
	if serr != nil {
		t.Errorf("streaming Decrypt: %v", serr)
	} else {
		if !bytes.Equal(spt, want) {
			t.Errorf("streaming Decrypt: plaintext differs: %s", diffSummary(spt, want))
		}
		if shdr == nil {
			t.Errorf("streaming Decrypt: Header() is nil")
		} else {
			checkHeader(t, "streaming Decrypt", tc, shdr)
		}
	}
	if err == nil && serr == nil && !bytes.Equal(pt, spt) {
		t.Errorf("DecryptBytes and streaming Decrypt disagree: %s", diffSummary(spt, pt))
	}
}

// decryptStream decrypts ct through the streaming API.
func decryptStream(ctx context.Context, c *envelope.Client, ct []byte, mm envelope.MaterialsManager, ec map[string]string) ([]byte, *format.Header, error) {
	d, err := c.Decrypt(ctx, bytes.NewReader(ct), mm, ec)
	if err != nil {
		return nil, nil, err
	}
	pt, err := io.ReadAll(d)
	return pt, d.Header(), err
}

// checkHeader compares a decrypted message's header with the informational
// header fields of the manifest.
func checkHeader(t *testing.T, api string, tc *vectorTest, hdr *format.Header) {
	t.Helper()
	h := tc.Header
	if h == nil {
		return
	}
	if hdr.Suite == nil {
		t.Errorf("%s: header has no suite", api)
		return
	}
	if h.AlgorithmSuiteID != "" {
		id, err := strconv.ParseUint(h.AlgorithmSuiteID, 16, 16)
		if err != nil {
			t.Errorf("manifest: header.algorithm-suite-id %q: %v", h.AlgorithmSuiteID, err)
		} else if hdr.Suite.ID() != format.SuiteID(id) {
			t.Errorf("%s: suite %s, manifest says %04X", api, hdr.Suite.ID(), id)
		}
	}
	if h.MessageFormatVersion != nil && int(hdr.Version()) != *h.MessageFormatVersion {
		t.Errorf("%s: message format version %d, manifest says %d", api, hdr.Version(), *h.MessageFormatVersion)
	}
	switch h.ContentType {
	case "framed":
		if hdr.ContentType != format.Framed {
			t.Errorf("%s: content type %s, manifest says framed", api, hdr.ContentType)
		}
	case "non-framed":
		if hdr.ContentType != format.NonFramed {
			t.Errorf("%s: content type %s, manifest says non-framed", api, hdr.ContentType)
		}
	}
	if h.FrameLength != nil && int64(hdr.FrameLength) != *h.FrameLength {
		t.Errorf("%s: frame length %d, manifest says %d", api, hdr.FrameLength, *h.FrameLength)
	}
}

func diffSummary(got, want []byte) string {
	n := min(len(got), len(want))
	i := 0
	for i < n && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("got %d bytes, want %d; first difference at offset %d", len(got), len(want), i)
}

// keyring builds the keyring of a vector's master keys. It returns a nil
// keyring when none of them can decrypt.
func (s *vectorSet) keyring(tc *vectorTest) (keyring.Keyring, error) {
	if sc := tc.Scenario; sc != nil {
		switch d := sc.DecryptKey; d.Type {
		case "raw-ecdh":
			return vectorRawECDHKeyring(s.Set, d)
		case "aws-kms-hierarchy":
			return vectorHierarchyKeyring(s.Set, d)
		default:
			return nil, fmt.Errorf("manifest: keyring type %q is not known", d.Type)
		}
	}
	if len(tc.MasterKeys) == 0 {
		return nil, errors.New("manifest: no master keys")
	}
	var krs []keyring.Keyring
	for i, mk := range tc.MasterKeys {
		if mk.Type != "raw" {
			return nil, skipf("master key %d: type %q is not supported (only raw keys)", i, mk.Type)
		}
		k, ok := s.Keys[mk.Key]
		if !ok {
			return nil, fmt.Errorf("master key %d: key %q is not in the keys manifest", i, mk.Key)
		}
		if !k.Decrypt {
			continue
		}
		if k.KeyID == "" {
			return nil, fmt.Errorf("master key %d: key %q has no key-id", i, mk.Key)
		}
		if k.Algorithm != mk.EncryptionAlgorithm {
			return nil, fmt.Errorf("master key %d: key %q is %s, master key wants %s", i, mk.Key, k.Algorithm, mk.EncryptionAlgorithm)
		}
		kr, err := rawKeyring(mk, k)
		if err != nil {
			return nil, fmt.Errorf("master key %d (%s): %w", i, mk.Key, err)
		}
		krs = append(krs, kr)
	}
	switch len(krs) {
	case 0:
		return nil, nil
	case 1:
		return krs[0], nil
	}
	return newMulti(krs[0], krs[1:]...)
}

func rawKeyring(mk vectorMasterKey, k vectorKey) (keyring.Keyring, error) {
	switch mk.EncryptionAlgorithm {
	case "aes":
		if k.Encoding != "base64" {
			return nil, fmt.Errorf("AES key encoding %q, want base64", k.Encoding)
		}
		key, err := base64.StdEncoding.DecodeString(k.Material)
		if err != nil {
			return nil, fmt.Errorf("AES key material: %w", err)
		}
		if k.Bits != 0 && len(key)*8 != k.Bits {
			return nil, fmt.Errorf("AES key is %d bits, keys manifest says %d", len(key)*8, k.Bits)
		}
		return newRawAES(mk.ProviderID, k.KeyID, key)
	case "rsa":
		if k.Encoding != "pem" {
			return nil, fmt.Errorf("RSA key encoding %q, want pem", k.Encoding)
		}
		padding, err := rsaPadding(mk)
		if err != nil {
			return nil, err
		}
		return newRawRSA(mk.ProviderID, k.KeyID, padding, []byte(k.Material))
	}
	return nil, skipf("encryption algorithm %q is not supported", mk.EncryptionAlgorithm)
}

func rsaPadding(mk vectorMasterKey) (keyring.RSAPadding, error) {
	switch mk.PaddingAlgorithm {
	case "pkcs1":
		return keyring.PKCS1, nil
	case "oaep-mgf1":
		switch mk.PaddingHash {
		case "sha1":
			return keyring.OAEPSHA1, nil
		case "sha256":
			return keyring.OAEPSHA256, nil
		case "sha384":
			return keyring.OAEPSHA384, nil
		case "sha512":
			return keyring.OAEPSHA512, nil
		}
		return 0, skipf("RSA OAEP padding hash %q is not supported", mk.PaddingHash)
	}
	return 0, skipf("RSA padding %q is not supported", mk.PaddingAlgorithm)
}

func newRawAES(providerID, keyID string, key []byte) (keyring.Keyring, error) {
	return keyring.NewRawAES(keyring.RawAESOptions{Namespace: providerID, Name: keyID, WrappingKey: key})
}

func newRawRSA(providerID, keyID string, padding keyring.RSAPadding, pem []byte) (keyring.Keyring, error) {
	pub, priv, err := keyring.ParseRSAKeysPEM(pem)
	if err != nil {
		return nil, err
	}
	return keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: providerID, Name: keyID, Padding: padding, PublicKey: pub, PrivateKey: priv})
}

func newMulti(first keyring.Keyring, rest ...keyring.Keyring) (keyring.Keyring, error) {
	return keyring.NewMulti(keyring.MultiOptions{Generator: first, Children: rest})
}

// manager builds the materials manager a vector asks for.
func (s *vectorSet) manager(tc *vectorTest, kr keyring.Keyring) (envelope.MaterialsManager, error) {
	def, err := envelope.NewDefaultManager(kr)
	if err != nil {
		return nil, err
	}
	switch tc.CMM {
	case "", "Default":
		return def, nil
	case "RequiredEncryptionContext":
		var keys []string
		if tc.RequiredEncryptionContextKeys != nil {
			keys = *tc.RequiredEncryptionContextKeys
		} else {
			keys = slices.Sorted(maps.Keys(tc.EncryptionContext))
		}
		return envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Inner: def, Keys: keys})
	}
	return nil, skipf("materials manager %q is not supported", tc.CMM)
}

// noKeys is a keyring that unwraps nothing, for negative vectors none of
// whose master keys may decrypt.
type noKeys struct{}

func (noKeys) OnEncrypt(context.Context, *keyring.EncryptionMaterials) error {
	return errors.New("noKeys: cannot encrypt")
}

func (noKeys) OnDecrypt(context.Context, *keyring.DecryptionMaterials, []format.EncryptedDataKey) error {
	return keyring.ErrNoMatchingKey
}
