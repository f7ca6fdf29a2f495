package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/kmsprovider/ddbtest"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

func TestMain(m *testing.M) {
	cmds := map[string]func() int{
		"esdk": realMain,
		// exit-code N PROG ARGS... runs PROG and fails unless it exits
		// with status N; PROG's output passes through.
		"exit-code": func() int {
			want, err := strconv.Atoi(os.Args[1])
			if err != nil || len(os.Args) < 3 {
				fmt.Fprintln(os.Stderr, "usage: exit-code N PROG ARGS...")
				return 99
			}
			cmd := exec.Command(os.Args[2], os.Args[3:]...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
			cmd.Run()
			if got := cmd.ProcessState.ExitCode(); got != want {
				fmt.Fprintf(os.Stderr, "exit-code: %s exited with status %d, want %d\n", os.Args[2], got, want)
				return 98
			}
			return 0
		},
	}
	for name, f := range signalCommands() {
		cmds[name] = f
	}
	for name, f := range softHSMCommands() {
		cmds[name] = f
	}
	// testscript.Main runs each command as a program: it exits with the
	// command's status.
	programs := make(map[string]func(), len(cmds))
	for name, f := range cmds {
		programs[name] = func() { os.Exit(f()) }
	}
	testscript.Main(m, programs)
}

// Accounts and regions of the KMS keys the scripts get.
const (
	kmsRegion       = "us-west-2"
	kmsOtherRegion  = "eu-west-1"
	kmsOtherAccount = "444455556666"
)

func TestScripts(t *testing.T) {
	cmds := maps.Clone(scriptCmds)
	maps.Copy(cmds, ecdhScriptCmds)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup:               setupScript,
		Cmds:                cmds,
		Condition:           scriptCondition,
	})
}

// setupScript starts a KMS endpoint (kmsprovider/kmstest) for the script
// and points esdk at it: ESDK_KMS_ENDPOINT, credentials whose access key
// id is the account, and a region. Its keys are in $KMS_KEY (us-west-2),
// $KMS_KEY_EU (eu-west-1), $KMS_KEY_OTHER (us-west-2, account
// 444455556666, allowed to the CLI's account), and alias/esdk-test names
// $KMS_KEY.
func setupScript(env *testscript.Env) error {
	srv := kmstest.NewServer()
	env.Defer(srv.Close)
	env.Values[kmsServerKey{}] = srv
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	newKey := func(region, account string) (string, error) {
		out, err := srv.Client(region, account).CreateKey(ctx, &kms.CreateKeyInput{})
		if err != nil {
			return "", err
		}
		return *out.KeyMetadata.Arn, nil
	}
	key, err := newKey(kmsRegion, "")
	if err != nil {
		return err
	}
	keyEU, err := newKey(kmsOtherRegion, "")
	if err != nil {
		return err
	}
	keyOther, err := newKey(kmsRegion, kmsOtherAccount)
	if err != nil {
		return err
	}
	srv.AllowKey(keyOther, kmstest.DefaultAccount) // its key policy lets the CLI's account use it
	if _, err := srv.Client(kmsRegion, "").CreateAlias(ctx, &kms.CreateAliasInput{
		AliasName: aws.String("alias/esdk-test"), TargetKeyId: aws.String(key),
	}); err != nil {
		return err
	}
	// A branch key store on a local DynamoDB (ESDK_DYNAMODB_ENDPOINT),
	// under $KMS_KEY: table $BRANCH_TABLE, branch key $BRANCH_KEY_ID.
	ddb := ddbtest.NewServer()
	env.Defer(ddb.Close)
	store, err := keystore.NewStore(keystore.StoreOptions{
		TableName: "BranchKeys", LogicalKeyStoreName: "BranchKeys",
		KMS:      keystore.KMSConfiguration{KeyARN: key},
		DynamoDB: ddb.Client(kmsRegion, kmstest.DefaultAccount), KMSClient: srv.Client(kmsRegion, ""),
	})
	if err != nil {
		return err
	}
	if _, err := store.CreateKeyStore(ctx); err != nil {
		return err
	}
	branchKeyID, err := store.CreateKey(ctx)
	if err != nil {
		return err
	}
	env.Values[storeKey{}] = store
	if m := softHSMModule(); m != "" {
		env.Setenv("SOFTHSM_MODULE", m)
	}
	for k, v := range map[string]string{
		kmsEndpointEnv:                srv.URL,
		ddbEndpointEnv:                ddb.URL,
		"BRANCH_TABLE":                "BranchKeys",
		"BRANCH_KEY_ID":               branchKeyID,
		"AWS_ACCESS_KEY_ID":           kmstest.DefaultAccount,
		"AWS_SECRET_ACCESS_KEY":       "kmstest",
		"AWS_REGION":                  kmsRegion,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(env.WorkDir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(env.WorkDir, "no-aws-credentials"),
		"KMS_KEY":                     key,
		"KMS_KEY_EU":                  keyEU,
		"KMS_KEY_OTHER":               keyOther,
		"KMS_ACCOUNT":                 kmstest.DefaultAccount,
		"KMS_OTHER_ACCOUNT":           kmsOtherAccount,
	} {
		env.Setenv(k, v)
	}
	return nil
}

// kmsServerKey finds a script's KMS server in its values.
type kmsServerKey struct{}

// storeKey finds a script's branch key store in its values.
type storeKey struct{}

func scriptCondition(cond string) (bool, error) {
	switch cond {
	case "softhsm":
		return softHSMCondition()
	case "cgo":
		return cgoBuild, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// genaes FILE [BYTES]: a random AES key (32 bytes by default).
	"genaes": func(ts *testscript.TestScript, neg bool, args []string) {
		n := 32
		if len(args) == 2 {
			n, _ = strconv.Atoi(args[1])
		} else if len(args) != 1 {
			ts.Fatalf("usage: genaes FILE [BYTES]")
		}
		writeRandom(ts, args[0], n)
	},
	// randfile FILE SIZE: SIZE random bytes.
	"randfile": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: randfile FILE SIZE")
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		writeRandom(ts, args[0], n)
	},
	// genrsa NAME: an RSA-2048 key pair in NAME.pem (private and public),
	// NAME.priv.pem and NAME.pub.pem.
	"genrsa": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: genrsa NAME")
		}
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		ts.Check(err)
		privDER, err := x509.MarshalPKCS8PrivateKey(priv)
		ts.Check(err)
		pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
		ts.Check(err)
		privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})
		pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
		ts.Check(os.WriteFile(ts.MkAbs(args[0]+".priv.pem"), privPEM, 0o600))
		ts.Check(os.WriteFile(ts.MkAbs(args[0]+".pub.pem"), pubPEM, 0o644))
		ts.Check(os.WriteFile(ts.MkAbs(args[0]+".pem"), append(privPEM, pubPEM...), 0o600))
	},
	// flipbyte FILE OFFSET: flips the low bit of one byte; a negative
	// offset counts from the end.
	"flipbyte": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: flipbyte FILE OFFSET")
		}
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		off, err := strconv.Atoi(args[1])
		ts.Check(err)
		if off < 0 {
			off += len(b)
		}
		b[off] ^= 1
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
	},
	// truncate FILE N: drops the last N bytes.
	"truncate": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: truncate FILE N")
		}
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), b[:len(b)-n], 0o644))
	},
	// notmp DIR: fails if DIR (recursively) holds a temporary output file.
	"notmp": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: notmp DIR")
		}
		filepath.Walk(ts.MkAbs(args[0]), func(path string, info os.FileInfo, err error) error {
			if err == nil && strings.Contains(info.Name(), tmpMarker) {
				ts.Fatalf("temporary file left behind: %s", path)
			}
			return nil
		})
	},
	// concat OUT IN...: OUT is the INs one after the other.
	"concat": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: concat OUT IN...")
		}
		var all []byte
		for _, in := range args[1:] {
			b, err := os.ReadFile(ts.MkAbs(in))
			ts.Check(err)
			all = append(all, b...)
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), all, 0o644))
	},
	// fifo NAME SRC N: makes a named pipe NAME and, in the background,
	// writes the first N bytes of SRC to it and then holds it open, as a
	// stalled producer, until the script ends.
	"fifo": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: fifo NAME SRC N")
		}
		b, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		name := ts.MkAbs(args[0])
		ts.Check(mkfifo(name))
		done := make(chan struct{})
		ts.Defer(func() { close(done) })
		go func() {
			f, err := os.OpenFile(name, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			defer f.Close()
			f.Write(b[:n])
			<-done
		}()
	},
	// waittmp DIR: waits (up to a minute) until DIR holds a temporary
	// output file.
	"waittmp": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: waittmp DIR")
		}
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			entries, err := os.ReadDir(ts.MkAbs(args[0]))
			ts.Check(err)
			for _, e := range entries {
				if strings.Contains(e.Name(), tmpMarker) {
					return
				}
			}
		}
		ts.Fatalf("no temporary output file appeared in %s", args[0])
	},
	// kmsfail KEY ERROR: the script's KMS answers every request for KEY
	// with the KMS error type ERROR.
	"kmsfail": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: kmsfail KEY ERROR")
		}
		ts.Value(kmsServerKey{}).(*kmstest.Server).FailKey(args[0], args[1])
	},
	// kmscalls OP N: the script's KMS answered N requests of operation OP
	// since the last kmscalls; then it starts counting again.
	"kmscalls": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: kmscalls OP N")
		}
		srv := ts.Value(kmsServerKey{}).(*kmstest.Server)
		got := srv.Count(args[0])
		srv.ResetCalls()
		if strconv.Itoa(got) != args[1] {
			ts.Fatalf("KMS answered %d %s requests, want %s", got, args[0], args[1])
		}
	},
	// mkfifo NAME: a named pipe, with no one at the other end.
	"mkfifo": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: mkfifo NAME")
		}
		ts.Check(mkfifo(ts.MkAbs(args[0])))
	},
	// isfifo NAME: fails unless NAME is a named pipe.
	"isfifo": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: isfifo NAME")
		}
		fi, err := os.Lstat(ts.MkAbs(args[0]))
		ts.Check(err)
		if fi.Mode()&os.ModeNamedPipe == 0 {
			ts.Fatalf("%s is not a named pipe: %v", args[0], fi.Mode())
		}
	},
	// forgeheader OUT IN WHAT ARGS...: OUT is the message IN with its
	// header changed (and its header tag no longer valid), for what is
	// checked before the tag: WHAT is
	//   context K V...    the encryption context is K=V...
	//   edk ID INFO       one more encrypted data key, of provider ID
	//   kmsregions N ACCOUNT
	//                     N AWS KMS encrypted data keys of ACCOUNT, in N
	//                     regions xx-test-1, ..., instead of IN's keys
	// Strings are read as the inside of a Go string literal ("").
	"forgeheader": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 3 {
			ts.Fatalf("usage: forgeheader OUT IN context|edk|kmsregions ARGS...")
		}
		msg, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		h, n, err := format.ParseHeader(msg, format.Limits{})
		ts.Check(err)
		unquote := func(s string) string {
			u, err := strconv.Unquote(`"` + s + `"`)
			ts.Check(err)
			return u
		}
		rest := args[3:]
		switch args[2] {
		case "context":
			if len(rest)%2 != 0 {
				ts.Fatalf("forgeheader context: K V pairs")
			}
			h.EncryptionContext = map[string]string{}
			for i := 0; i < len(rest); i += 2 {
				h.EncryptionContext[unquote(rest[i])] = unquote(rest[i+1])
			}
		case "edk":
			if len(rest) != 2 {
				ts.Fatalf("forgeheader edk ID INFO")
			}
			h.EncryptedDataKeys = append(h.EncryptedDataKeys, format.EncryptedDataKey{
				ProviderID: unquote(rest[0]), ProviderInfo: []byte(unquote(rest[1])), Ciphertext: make([]byte, 32),
			})
		case "kmsregions":
			if len(rest) != 2 {
				ts.Fatalf("forgeheader kmsregions N ACCOUNT")
			}
			count, err := strconv.Atoi(rest[0])
			ts.Check(err)
			h.EncryptedDataKeys = nil
			for i := 1; i <= count; i++ {
				h.EncryptedDataKeys = append(h.EncryptedDataKeys, format.EncryptedDataKey{
					ProviderID:   "aws-kms",
					ProviderInfo: fmt.Appendf(nil, "arn:aws:kms:xx-test-%d:%s:key/00000000-0000-0000-0000-00000000000%d", i, rest[1], i%10),
					Ciphertext:   make([]byte, 32),
				})
			}
		default:
			ts.Fatalf("forgeheader: unknown %q", args[2])
		}
		b, err := h.Marshal()
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), append(b, msg[n:]...), 0o644))
	},
	// versionkey ID: a new version of the script's branch key ID.
	"versionkey": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: versionkey BRANCH_KEY_ID")
		}
		if err := ts.Value(storeKey{}).(*keystore.Store).VersionKey(context.Background(), args[0]); err != nil {
			ts.Fatalf("VersionKey: %v", err)
		}
	},
	// size FILE N: fails unless FILE has N bytes.
	"size": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: size FILE N")
		}
		fi, err := os.Stat(ts.MkAbs(args[0]))
		ts.Check(err)
		if strconv.FormatInt(fi.Size(), 10) != args[1] {
			ts.Fatalf("%s has %d bytes, want %s", args[0], fi.Size(), args[1])
		}
	},
}

func writeRandom(ts *testscript.TestScript, name string, n int) {
	b := make([]byte, n)
	rand.Read(b)
	ts.Check(os.WriteFile(ts.MkAbs(name), b, 0o600))
}
