package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
)

// options are the flags of encrypt, decrypt and inspect; each command
// registers the ones it has.
type options struct {
	output         string
	recursive      bool
	suffix         string
	suffixSet      bool
	force          bool
	quiet          bool
	keys           listFlag
	context        listFlag
	policy         string
	suite          string
	frameLength    int
	maxEDKs        int
	unsignedOnly   bool
	metadataOutput string
	cache          cacheFlags
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// suffixFlag records that --suffix was given, even as "".
type suffixFlag struct{ o *options }

func (s suffixFlag) String() string {
	if s.o == nil {
		return ""
	}
	return s.o.suffix
}
func (s suffixFlag) Set(v string) error { s.o.suffix, s.o.suffixSet = v, true; return nil }

const (
	cmdEncrypt = "encrypt"
	cmdDecrypt = "decrypt"
	cmdInspect = "inspect"
)

// newFlagSet returns the flag set of a command.
func newFlagSet(cmd string, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("esdk "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&o.maxEDKs, "max-encrypted-data-keys", 0, "")
	fs.BoolVar(&o.recursive, "recursive", false, "")
	fs.BoolVar(&o.recursive, "r", false, "")
	if cmd == cmdInspect {
		return fs
	}
	fs.StringVar(&o.output, "output", "", "")
	fs.StringVar(&o.output, "o", "", "")
	fs.Var(suffixFlag{o}, "suffix", "")
	fs.BoolVar(&o.force, "force", false, "")
	fs.BoolVar(&o.force, "f", false, "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	fs.BoolVar(&o.quiet, "q", false, "")
	fs.Var(&o.keys, "wrapping-key", "")
	fs.Var(&o.keys, "w", "")
	fs.Var(&o.context, "encryption-context", "")
	fs.Var(&o.context, "c", "")
	fs.StringVar(&o.policy, "commitment-policy", "", "")
	fs.StringVar(&o.metadataOutput, "metadata-output", "", "")
	o.cache.register(fs)
	if cmd == cmdEncrypt {
		fs.StringVar(&o.suite, "suite", "", "")
		fs.StringVar(&o.suite, "algorithm", "", "")
		fs.IntVar(&o.frameLength, "frame-length", 0, "")
	} else {
		fs.BoolVar(&o.unsignedOnly, "decrypt-unsigned-only", false, "")
	}
	return fs
}

// parseArgs parses flags and operands in any order ("esdk decrypt in -o
// out" works); everything after "--" is an operand.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, errHelp
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		if len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(operands, rest...), nil
		}
		if len(rest) == 0 {
			return operands, nil
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
}

// clientOptions turns the flags into envelope options.
func (o *options) clientOptions(cmd string) (func(*envelope.Options), error) {
	policy := envelope.RequireEncryptRequireDecrypt
	if o.policy != "" {
		p, err := parsePolicy(o.policy)
		if err != nil {
			return nil, err
		}
		policy = p
	}
	var suite format.SuiteID
	if o.suite != "" {
		s, err := parseSuite(o.suite)
		if err != nil {
			return nil, err
		}
		suite = s.ID()
		if !policy.AllowsEncrypt(s) {
			hint := "choose --commitment-policy forbid-encrypt-allow-decrypt to encrypt with a suite without key commitment"
			if s.Committing() {
				hint = "drop --commitment-policy forbid-encrypt-allow-decrypt"
			}
			return nil, usagef("--suite %s: the commitment policy %s does not encrypt with it; %s", o.suite, policyName(policy), hint)
		}
	}
	if o.frameLength < 0 || o.frameLength > format.MaxFrameLength {
		return nil, usagef("--frame-length %d: must be 1 to %d bytes", o.frameLength, format.MaxFrameLength)
	}
	if o.maxEDKs < 0 || o.maxEDKs > 0xFFFF {
		return nil, usagef("--max-encrypted-data-keys %d: must be 1 to 65535", o.maxEDKs)
	}
	return func(eo *envelope.Options) {
		eo.CommitmentPolicy = policy
		eo.Suite = suite
		eo.FrameLength = o.frameLength
		eo.MaxEncryptedDataKeys = o.maxEDKs
		eo.DecryptUnsignedOnly = o.unsignedOnly
	}, nil
}

var policies = []struct {
	name string
	p    envelope.CommitmentPolicy
}{
	{"require-encrypt-require-decrypt", envelope.RequireEncryptRequireDecrypt},
	{"require-encrypt-allow-decrypt", envelope.RequireEncryptAllowDecrypt},
	{"forbid-encrypt-allow-decrypt", envelope.ForbidEncryptAllowDecrypt},
}

func parsePolicy(s string) (envelope.CommitmentPolicy, error) {
	n := strings.ToLower(strings.ReplaceAll(s, "_", "-"))
	for _, p := range policies {
		if n == p.name || strings.EqualFold(s, p.p.String()) {
			return p.p, nil
		}
	}
	return 0, usagef("--commitment-policy %q: want require-encrypt-require-decrypt (the default), require-encrypt-allow-decrypt or forbid-encrypt-allow-decrypt", s)
}

func policyName(p envelope.CommitmentPolicy) string {
	for _, q := range policies {
		if q.p == p {
			return q.name
		}
	}
	return p.String()
}

// parseSuite accepts a suite's hex id (0x0478, 0478) or its name
// (AES_256_GCM_HKDF_SHA512_COMMIT_KEY, case-insensitive).
func parseSuite(s string) (*format.Suite, error) {
	t := strings.TrimPrefix(strings.ToLower(s), "0x")
	if n, err := strconv.ParseUint(t, 16, 16); err == nil && len(t) == 4 {
		if suite, err := format.LookupSuite(format.SuiteID(n)); err == nil {
			return suite, nil
		}
	}
	var names []string
	for _, suite := range format.Suites() {
		if strings.EqualFold(s, suite.String()) {
			return suite, nil
		}
		names = append(names, fmt.Sprintf("0x%04X", uint16(suite.ID())))
	}
	return nil, usagef("--suite %q: not an algorithm suite; want one of %s, or a suite name such as AES_256_GCM_HKDF_SHA512_COMMIT_KEY (see \"esdk help encrypt\")", s, strings.Join(names, ", "))
}

// parseContext reads k=v pairs (encrypt) or k=v and bare k (decrypt).
func parseContext(list []string, bareKeys bool) (map[string]string, []string, error) {
	ec := map[string]string{}
	var keys []string
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, nil, usagef("--encryption-context %q: the key is empty; write key=value", kv)
		}
		if !ok {
			if !bareKeys {
				return nil, nil, usagef("--encryption-context %q: write key=value", kv)
			}
			keys = append(keys, k)
			continue
		}
		if !bareKeys && strings.HasPrefix(k, format.ReservedPrefix) {
			return nil, nil, usagef("--encryption-context %q: %s: keys starting with %s are reserved", kv, k, format.ReservedPrefix)
		}
		if old, dup := ec[k]; dup && old != v {
			return nil, nil, usagef("--encryption-context: key %q given twice, as %q and %q", k, old, v)
		}
		ec[k] = v
	}
	return ec, keys, nil
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return ""
}
