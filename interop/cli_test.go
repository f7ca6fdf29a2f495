package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

// cliKey is one wrapping key as the three parties name it: an esdk
// --wrapping-key, a batch.js keyring and a Go keyring.
type cliKey struct {
	name string
	flag string
	js   jsKeyring
	mm   envelope.MaterialsManager
}

// cliCase is one message of TestInteropCLI.
type cliCase struct {
	suite     *format.Suite
	key       *cliKey
	plaintext []byte
}

func (c *cliCase) id() string {
	return fmt.Sprintf("%s/%s/%s", suiteName(c.suite.ID()), c.key.name, sizeName(len(c.plaintext)))
}

func (c *cliCase) context(direction string) map[string]string {
	return map[string]string{"purpose": "interop", "case": direction + "/" + c.id(), "schlüssel": "wert ✓"}
}

// TestInteropCLI exchanges files between the esdk command, the JavaScript
// ESDK and this SDK's library: esdk encrypts and both others decrypt; both
// others encrypt and esdk decrypts. Raw AES, raw RSA and AWS KMS keys (the
// KMS one on an in-process kmsprovider/kmstest endpoint that esdk reaches
// through ESDK_KMS_ENDPOINT).
func TestInteropCLI(t *testing.T) {
	node, jsDir := requireJS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	esdk := buildCLI(t)
	dir := t.TempDir()

	const region = "us-west-2"
	srv := kmstest.NewServer()
	defer srv.Close()
	kmsClient := srv.Client(region, kmstest.DefaultAccount)
	created, err := kmsClient.CreateKey(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	keyARN := *created.KeyMetadata.Arn
	cliEnv := append(os.Environ(),
		"ESDK_KMS_ENDPOINT="+srv.URL,
		"AWS_ACCESS_KEY_ID="+kmstest.DefaultAccount,
		"AWS_SECRET_ACCESS_KEY=kmstest",
		"AWS_REGION="+region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-aws-credentials"),
	)
	keys := newCLIKeys(t, dir, keyARN, srv.URL, kmsClient)
	jsKeyrings := map[string]jsKeyring{}
	for _, k := range keys {
		jsKeyrings[k.name] = k.js
	}

	var cases []*cliCase
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384, format.AES256GCMIV12Tag16HKDFSHA384ECDSAP384, format.AES128GCMIV12Tag16HKDFSHA256} {
		for _, k := range keys {
			for _, n := range []int{0, 3*frameLength + 7} {
				pt := make([]byte, n)
				rand.Read(pt)
				cases = append(cases, &cliCase{suite: format.MustSuite(id), key: k, plaintext: pt})
			}
		}
	}

	cli := func(t *testing.T, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, esdk, args...)
		cmd.Env = cliEnv
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("esdk %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	policyFlag := func(s *format.Suite) string {
		if s.Committing() {
			return "require-encrypt-require-decrypt"
		}
		return "forbid-encrypt-allow-decrypt"
	}
	file := func(c *cliCase, what string) string {
		return filepath.Join(dir, strings.ReplaceAll(c.id(), "/", "_")+"."+what)
	}

	// esdk encrypts every case, one file each; the library encrypts too.
	var jobs []jsJob
	libMessages := map[*cliCase][]byte{}
	for _, c := range cases {
		_, jsPolicy := commitmentPolicies(c.suite)
		if err := os.WriteFile(file(c, "txt"), c.plaintext, 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"encrypt", "-w", c.key.flag, "--suite", fmt.Sprintf("0x%04X", uint16(c.suite.ID())),
			"--commitment-policy", policyFlag(c.suite), "--frame-length", fmt.Sprint(frameLength), "-o", file(c, "cli.msg")}
		for k, v := range c.context("cli-to-others") {
			args = append(args, "-c", k+"="+v)
		}
		cli(t, append(args, file(c, "txt"))...)
		msg, err := os.ReadFile(file(c, "cli.msg"))
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs,
			jsJob{ID: "cli-to-js/" + c.id(), Op: "decrypt", Keyring: c.key.name, CommitmentPolicy: jsPolicy, Input: msg},
			jsJob{ID: "js-to-cli/" + c.id(), Op: "encrypt", Keyring: c.key.name, CommitmentPolicy: jsPolicy,
				SuiteID: uint16(c.suite.ID()), FrameLength: frameLength, EncryptionContext: c.context("js-to-cli"), Input: c.plaintext})
		policy, _ := commitmentPolicies(c.suite)
		client, err := envelope.New(func(o *envelope.Options) {
			o.CommitmentPolicy = policy
			o.Suite = c.suite.ID()
			o.FrameLength = frameLength
		})
		if err != nil {
			t.Fatal(err)
		}
		libMessages[c], err = client.EncryptBytes(ctx, c.plaintext, c.key.mm, c.context("lib-to-cli"))
		if err != nil {
			t.Fatal(err)
		}
	}
	resp, err := runBatch(ctx, t, node, jsDir, nil, jsRequest{Keyrings: jsKeyrings, Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node %s, @aws-crypto/client-node %s: %d jobs", resp.Node, resp.ESDK, len(jobs))
	results := map[string]*jsResult{}
	for i := range resp.Results {
		results[resp.Results[i].ID] = &resp.Results[i]
	}

	for _, c := range cases {
		policy, _ := commitmentPolicies(c.suite)
		client, err := envelope.New(func(o *envelope.Options) { o.CommitmentPolicy = policy })
		if err != nil {
			t.Fatal(err)
		}
		t.Run("cli-to-js/"+c.id(), func(t *testing.T) {
			r := results["cli-to-js/"+c.id()]
			if r == nil || !r.OK {
				t.Fatalf("JavaScript decrypt failed: %+v", r)
			}
			checkPlaintext(t, "JavaScript", r.Output, c.plaintext)
			checkContext(t, "JavaScript", r.EncryptionContext, c.context("cli-to-others"), c.suite)
			if got := format.SuiteID(r.SuiteID); got != c.suite.ID() {
				t.Errorf("JavaScript reports suite %s, want %s", suiteName(got), suiteName(c.suite.ID()))
			}
		})
		t.Run("cli-to-lib/"+c.id(), func(t *testing.T) {
			msg, err := os.ReadFile(file(c, "cli.msg"))
			if err != nil {
				t.Fatal(err)
			}
			pt, h, err := client.DecryptBytes(ctx, msg, c.key.mm, nil)
			if err != nil {
				t.Fatalf("library DecryptBytes: %v", err)
			}
			checkPlaintext(t, "library", pt, c.plaintext)
			checkContext(t, "library", h.EncryptionContext, c.context("cli-to-others"), c.suite)
			if h.FrameLength != frameLength || h.Suite != c.suite {
				t.Errorf("esdk wrote suite %s, frame length %d; want %s, %d", suiteName(h.Suite.ID()), h.FrameLength, suiteName(c.suite.ID()), frameLength)
			}
		})
		t.Run("js-to-cli/"+c.id(), func(t *testing.T) {
			r := results["js-to-cli/"+c.id()]
			if r == nil || !r.OK {
				t.Fatalf("JavaScript encrypt failed: %+v", r)
			}
			decryptWithCLI(t, cli, c, r.Output, c.context("js-to-cli"), file(c, "js"), policyFlag(c.suite))
		})
		t.Run("lib-to-cli/"+c.id(), func(t *testing.T) {
			decryptWithCLI(t, cli, c, libMessages[c], c.context("lib-to-cli"), file(c, "lib"), policyFlag(c.suite))
		})
	}

	// A message whose required encryption context is not stored: esdk
	// decrypts it when given the entries with --encryption-context.
	t.Run("lib-to-cli/required-context", func(t *testing.T) {
		k := keys[0]
		mm, err := envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Inner: k.mm, Keys: []string{"tenant"}})
		if err != nil {
			t.Fatal(err)
		}
		client, err := envelope.New()
		if err != nil {
			t.Fatal(err)
		}
		pt := []byte("required, not stored")
		msg, err := client.EncryptBytes(ctx, pt, mm, map[string]string{"tenant": "acme", "purpose": "interop"})
		if err != nil {
			t.Fatal(err)
		}
		in := filepath.Join(dir, "required.msg")
		if err := os.WriteFile(in, msg, 0o600); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "required.txt")
		cli(t, "decrypt", "-w", k.flag, "-c", "tenant=acme", "-c", "purpose", "-o", out, in)
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		checkPlaintext(t, "esdk", got, pt)
		cmd := exec.CommandContext(ctx, esdk, "decrypt", "-w", k.flag, "-c", "tenant=other", "-o", out+"2", in)
		cmd.Env = cliEnv
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("esdk decrypted with the wrong required context:\n%s", out)
		}
	})
}

// decryptWithCLI decrypts msg with esdk, requiring its context, and checks
// the plaintext and the metadata line esdk writes.
func decryptWithCLI(t *testing.T, cli func(*testing.T, ...string), c *cliCase, msg []byte, ec map[string]string, base, policy string) {
	t.Helper()
	in, out, meta := base+".msg", base+".txt", base+".json"
	if err := os.WriteFile(in, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	if policy == "forbid-encrypt-allow-decrypt" {
		policy = "require-encrypt-allow-decrypt"
	}
	args := []string{"decrypt", "-w", c.key.flag, "--commitment-policy", policy, "--metadata-output", meta, "-o", out}
	for k, v := range ec {
		args = append(args, "-c", k+"="+v)
	}
	cli(t, append(args, in)...)
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	checkPlaintext(t, "esdk", got, c.plaintext)
	b, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Mode   string `json:"mode"`
		Header struct {
			Suite struct {
				ID string `json:"id"`
			} `json:"suite"`
			EncryptionContext map[string]string `json:"encryption_context"`
		} `json:"header"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(b), &rec); err != nil {
		t.Fatalf("esdk metadata %q: %v", b, err)
	}
	if rec.Mode != "decrypt" || rec.Header.Suite.ID != fmt.Sprintf("0x%04X", uint16(c.suite.ID())) {
		t.Errorf("esdk metadata: mode %q, suite %q; want decrypt, %s", rec.Mode, rec.Header.Suite.ID, suiteName(c.suite.ID()))
	}
	checkContext(t, "esdk metadata", rec.Header.EncryptionContext, ec, c.suite)
}

// buildCLI builds cmd/esdk into a temporary folder.
func buildCLI(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "esdk")
	if out, err := exec.Command(goTool, "build", "-o", bin, "github.com/go-esdk/esdk/cmd/esdk").CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/esdk: %v\n%s", err, out)
	}
	return bin
}

// newCLIKeys makes an AES-256 key file, an RSA key pair in PEM and a KMS
// key, each as esdk, batch.js and the library see it.
func newCLIKeys(t *testing.T, dir, keyARN, kmsEndpoint string, kmsClient kmsprovider.Client) []*cliKey {
	t.Helper()
	aesKey := make([]byte, 32)
	rand.Read(aesKey)
	aesFile := filepath.Join(dir, "aes.key")
	if err := os.WriteFile(aesFile, aesKey, 0o600); err != nil {
		t.Fatal(err)
	}
	aesKR, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: keyNamespace, Name: "cli-aes", WrappingKey: aesKey})
	if err != nil {
		t.Fatal(err)
	}

	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	rsaFile := filepath.Join(dir, "rsa.pem")
	if err := os.WriteFile(rsaFile, append(append([]byte{}, privPEM...), pubPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	rsaKR, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: keyNamespace, Name: "cli-rsa", Padding: keyring.OAEPSHA256, PublicKey: &priv.PublicKey, PrivateKey: priv})
	if err != nil {
		t.Fatal(err)
	}

	kmsKR, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: kmsClient, KeyID: keyARN})
	if err != nil {
		t.Fatal(err)
	}
	mm := func(kr keyring.Keyring) envelope.MaterialsManager {
		m, err := envelope.NewDefaultManager(kr)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	return []*cliKey{
		{
			name: "aes",
			flag: fmt.Sprintf("aes=%s,namespace=%s,name=cli-aes", aesFile, keyNamespace),
			js:   jsKeyring{Type: "aes", KeyNamespace: keyNamespace, KeyName: "cli-aes", Key: aesKey},
			mm:   mm(aesKR),
		},
		{
			name: "rsa",
			flag: fmt.Sprintf("rsa=%s,namespace=%s,name=cli-rsa,padding=oaep-sha256", rsaFile, keyNamespace),
			js: jsKeyring{Type: "rsa", KeyNamespace: keyNamespace, KeyName: "cli-rsa", Padding: "OAEP-SHA256",
				PublicKeyPEM: string(pubPEM), PrivateKeyPEM: string(privPEM)},
			mm: mm(rsaKR),
		},
		{
			name: "kms",
			flag: "kms=" + keyARN,
			js:   jsKeyring{Type: "kms", KMSKeyID: keyARN, KMSEndpoint: kmsEndpoint, KMSAccessKeyID: kmstest.DefaultAccount},
			mm:   mm(kmsKR),
		},
	}
}
