package testvectors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPublicSet(t *testing.T) {
	s := LoadPublic(t)
	if len(s.Tests) != 651 || len(s.Keys) != 8 {
		t.Errorf("%d tests and %d keys, want 651 and 8", len(s.Tests), len(s.Keys))
	}
	if LoadPublic(t) != s {
		t.Error("a second load is not the cached set")
	}
	// The manifest lists every ciphertext file, once.
	files, err := filepath.Glob(filepath.Join(s.Dir, "ciphertexts", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, id := range s.IDs() {
		tc := s.Tests[id]
		if tc.ID != id || tc.Header == nil {
			t.Errorf("test %q has ID %q and header %v", id, tc.ID, tc.Header)
		}
		p, err := s.Path(tc.Ciphertext)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		listed[p] = true
		if out := tc.Result.Output; out != nil {
			if _, err := s.ReadFile(out.Plaintext); err != nil {
				t.Errorf("%s: plaintext: %v", id, err)
			}
		}
		for _, mk := range tc.MasterKeys {
			if _, ok := s.Keys[mk.Key]; !ok {
				t.Errorf("%s: key %q is not in the keys manifest", id, mk.Key)
			}
		}
	}
	for _, f := range files {
		if !listed[f] {
			t.Errorf("%s is not in the manifest", f)
		}
	}
	if len(listed) != len(files) || len(files) != len(s.Tests) {
		t.Errorf("%d ciphertext files, %d in the manifest, %d tests", len(files), len(listed), len(s.Tests))
	}
	if b := s.Ciphertext(t, s.IDs()[0]); len(b) == 0 {
		t.Error("empty ciphertext")
	}
}

func TestLoadHonoursEnv(t *testing.T) {
	pub := LoadPublic(t)
	t.Setenv(EnvDir, pub.Dir)
	if Load(t) != pub {
		t.Errorf("%s=%s did not load that directory", EnvDir, pub.Dir)
	}
}

func TestECDHHierarchySet(t *testing.T) {
	s := LoadECDHHierarchy(t)
	if len(s.Tests) != 56 || len(s.Keys) != 4 {
		t.Errorf("%d tests and %d keys, want 56 and 4", len(s.Tests), len(s.Keys))
	}
	kinds := map[string]int{}
	for _, id := range s.IDs() {
		tc := s.Tests[id]
		sc := tc.Scenario
		if sc == nil {
			t.Fatalf("%s: no scenario", id)
		}
		kinds[sc.DecryptKey.Type+" "+sc.DecryptKey.Schema]++
		if tc.Ciphertext != sc.Ciphertext || tc.Result.Output == nil || tc.Result.Output.Plaintext != sc.Result ||
			tc.Header == nil || tc.Header.AlgorithmSuiteID != sc.AlgorithmSuiteID {
			t.Errorf("%s: the test's fields do not follow its scenario", id)
		}
		if _, err := s.ReadFile(tc.Result.Output.Plaintext); err != nil {
			t.Errorf("%s: plaintext: %v", id, err)
		}
		for _, name := range []string{sc.DecryptKey.Key, sc.DecryptKey.Recipient} {
			if name == "" {
				continue
			}
			if _, ok := s.Keys[name]; !ok {
				t.Errorf("%s: key %q is not in the keys manifest", id, name)
			}
		}
		if sc.DecryptKey.Type == "raw-ecdh" {
			k := s.Keys[sc.DecryptKey.Recipient]
			if v, ok := k.Field(sc.DecryptKey.RecipientPublicKey); !ok || v == "" {
				t.Errorf("%s: recipient public key field %q is empty or unknown", id, sc.DecryptKey.RecipientPublicKey)
			}
		}
	}
	want := map[string]int{"aws-kms-hierarchy ": 6, "raw-ecdh static": 17, "raw-ecdh discovery": 33}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d tests of %q, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	bk := s.Keys["static-branch-key-1"]
	if bk.Type != "static-branch-key" || bk.BranchKey == "" || bk.BeaconKey == "" || bk.BranchKeyVersion == "" || bk.KeyID == "" {
		t.Errorf("static branch key: %+v", bk)
	}
	t.Setenv(EnvECDHHierarchyDir, s.Dir)
	if LoadECDHHierarchy(t) != s {
		t.Errorf("%s=%s did not load that directory", EnvECDHHierarchyDir, s.Dir)
	}
}

func TestLoadFailures(t *testing.T) {
	pub := LoadPublic(t)
	for name, setup := range map[string]func(dir string){
		"missing": func(dir string) { os.Remove(dir) },
		"damaged": func(dir string) {
			copyFile(t, pub.Dir, dir, "manifest.json")
			copyFile(t, pub.Dir, dir, "keys.json")
			os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(strings.Repeat("00", 32)+"  keys.json\n"), 0o644)
		},
		"no keys": func(dir string) { copyFile(t, pub.Dir, dir, "manifest.json") },
		"wrong type": func(dir string) {
			os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"manifest":{"type":"awses-encrypt","version":2}}`), 0o644)
		},
		"version 5 without scenario": func(dir string) {
			copyFile(t, pub.Dir, dir, "keys.json")
			os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"manifest":{"type":"awses-decrypt","version":5},"keys":"file://keys.json","tests":{"a":{"ciphertext":"file://c"}}}`), 0o644)
		},
		"scenario in version 4": func(dir string) {
			copyFile(t, pub.Dir, dir, "keys.json")
			os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"manifest":{"type":"awses-decrypt","version":4},"keys":"file://keys.json","tests":{"a":{"decryption-scenario":{"type":"positive-esdk","ciphertext":"file://c","result":"file://p"}}}}`), 0o644)
		},
		"negative scenario": func(dir string) {
			copyFile(t, pub.Dir, dir, "keys.json")
			os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"manifest":{"type":"awses-decrypt","version":5},"keys":"file://keys.json","tests":{"a":{"decryption-scenario":{"type":"negative-esdk","ciphertext":"file://c","result":"file://p"}}}}`), 0o644)
		},
	} {
		dir := filepath.Join(t.TempDir(), "v")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		setup(dir)
		if _, err := load(dir); err == nil {
			t.Errorf("%s: loads", name)
		}
	}
	for _, uri := range []string{"keys.json", "http://x/keys.json", "file://", "file:///etc/passwd", "file://../x"} {
		if p, err := pub.Path(uri); err == nil {
			t.Errorf("Path(%q) = %q", uri, p)
		}
	}
}

func copyFile(t *testing.T, from, to, name string) {
	b, err := os.ReadFile(filepath.Join(from, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
