// Command esdk encrypts and decrypts files, directories and pipes in the
// AWS Encryption SDK message format, and shows a message's header without
// decrypting it.
//
//	esdk encrypt --wrapping-key aes=backup.key,namespace=backups,name=2024 -o report.pdf.encrypted report.pdf
//	esdk decrypt --wrapping-key aes=backup.key,namespace=backups,name=2024 -o report.pdf report.pdf.encrypted
//	esdk inspect report.pdf.encrypted
//
// Its messages decrypt with every AWS Encryption SDK (and aws-encryption-cli),
// and it decrypts theirs. Run "esdk help" for the whole usage, and
// "esdk help keys" for the --wrapping-key syntax.
//
// esdk is built on the public API of github.com/go-esdk/esdk only: the
// packages envelope, keyring, format and kmsprovider (and keyring/pkcs11
// in builds with cgo).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // bad input, a failed decryption, an I/O error
	exitUsage = 2 // the command line is wrong
)

func main() { os.Exit(realMain()) }

// realMain runs the command line. A signal that asks a process to end
// (stopSignals: SIGINT, SIGTERM, SIGHUP, SIGQUIT and the others a careful
// tool catches) ends it at once, after removing the temporary files of
// outputs in progress, with the shell's status for it, 128 plus the
// signal's number: whatever the run was waiting for (a stalled pipe, a
// slow KMS), no partial output is left. A signal that was ignored when
// esdk started (nohup's SIGHUP, the SIGINT of a background job) stays
// ignored.
func realMain() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var caught []os.Signal
	for _, s := range stopSignals {
		if !signal.Ignored(s) {
			caught = append(caught, s)
		}
	}
	sig := make(chan os.Signal, 1)
	if len(caught) > 0 { // none would mean all
		signal.Notify(sig, caught...)
	}
	var stopping atomic.Bool
	go func() {
		s := <-sig
		stopping.Store(true)
		cancel()
		removeTemps()
		fmt.Fprintf(os.Stderr, "esdk: %v: stopped; no partial output was left\n", s)
		os.Exit(signalStatus(s))
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if stopping.Load() {
		// The run ended because of the signal (its context canceled, its
		// output refused): the handler exits, with the signal's status.
		select {}
	}
	return code
}

// signalStatus is the exit status of a process ended by s, as shells
// report it: 128 plus the signal's number.
func signalStatus(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return exitError
}

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// env is what a command runs with.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer // with the PINs of the command line hidden
	// scrub hides the PINs of the command line; what esdk writes on
	// standard output of the command line (file names) goes through it.
	scrub *scrubber
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	sc := newScrubber(argSecrets(args))
	e := &env{stdin: stdin, stdout: &checkedWriter{w: stdout}, stderr: &scrubWriter{w: stderr, s: sc}, scrub: sc}
	if len(args) == 0 {
		fmt.Fprint(e.stderr, mainUsage)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "encrypt":
		err = runEncrypt(ctx, e, rest)
	case "decrypt":
		err = runDecrypt(ctx, e, rest)
	case "inspect":
		err = runInspect(ctx, e, rest)
	case "help", "-h", "-help", "--help":
		return runHelp(e, rest)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "esdk", version())
		return exitOK
	default:
		fmt.Fprintf(e.stderr, "esdk: unknown command %q\n\n%s", cmd, mainUsage)
		return exitUsage
	}
	return report(e, err)
}

// checkedWriter is standard output as the commands write to it. A Write
// that the writer cuts short without an error (which breaks the
// io.Writer contract, yet wrappers do it) is io.ErrShortWrite, as
// io.Copy and bufio.Writer have it, and every write after a failed one
// fails the same way: no command reports success over output it lost.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	switch {
	case err != nil:
	case n < 0 || n > len(p):
		n, err = 0, fmt.Errorf("writing standard output: its Write took %d of %d bytes", n, len(p))
	case n < len(p):
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

// underlying is the writer c writes to, for isTerminal.
func (c *checkedWriter) underlying() io.Writer { return c.w }

// errHelp is returned when -h was asked for: the usage was printed.
var errHelp = errors.New("help requested")

// report prints err and returns the exit code for it.
func report(e *env, err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "esdk: %s\nRun \"esdk help\" for usage.\n", escapeText(ue.msg))
		return exitUsage
	case errors.Is(err, errReported):
		return exitError
	case errors.Is(err, context.Canceled):
		// A signal stopped the run, and its handler says so.
		return exitError
	default:
		fmt.Fprintf(e.stderr, "esdk: %s\n", errText(err))
		return exitError
	}
}

func runHelp(e *env, args []string) int {
	topic := ""
	if len(args) > 0 {
		topic = args[0]
	}
	switch topic {
	case "":
		fmt.Fprint(e.stdout, mainUsage)
	case "encrypt":
		fmt.Fprint(e.stdout, encryptUsage)
	case "decrypt":
		fmt.Fprint(e.stdout, decryptUsage)
	case "inspect":
		fmt.Fprint(e.stdout, inspectUsage)
	case "keys", "wrapping-key", "wrapping-keys":
		fmt.Fprint(e.stdout, keysUsage)
	default:
		fmt.Fprintf(e.stderr, "esdk: no help on %q: try encrypt, decrypt, inspect or keys\n", topic)
		return exitUsage
	}
	return exitOK
}

// version is the module version when built with go install, else "devel".
func version() string {
	if v := buildVersion(); v != "" {
		return v
	}
	return "(devel)"
}
