package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Peak memory of a 256 MiB message is measured in a fresh process per
// measurement: the test binary runs itself with peakEnv set, does one
// encryption or decryption, and reports the Linux high-water mark of its
// resident set (VmHWM of /proc/self/status, of the new process only).
// Before the call the child holds its input (the plaintext, generated in
// place, or the message, read from a file) and resets the high-water mark
// to the current RSS, so "added" is what the call itself made resident on
// top of its input, with the runtime's default GOGC.

const (
	peakEnv  = "ESDK_BENCH_PEAK"
	peakSize = 256 << 20
)

// peakResult is what a child reports, in bytes.
type peakResult struct {
	Before     int64 // RSS just before the call, its input included
	Peak       int64 // the high-water mark of RSS after the call
	TotalAlloc int64 // heap bytes allocated during the call
	Output     int64 // bytes of message or plaintext the call produced
	Nanos      int64 // wall time of the call
	HWMReset   bool  // the high-water mark was reset to Before
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(peakEnv); spec != "" {
		if err := peakChild(spec, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "peak:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	code := m.Run()
	messages.cleanup()
	os.Exit(code)
}

// peakChild runs one measurement. spec is "SUITE,OP,SDK,SIZE[,FILE]":
// SUITE in hex, OP encrypt or decrypt, SDK ours, ours-stream or official,
// SIZE the plaintext bytes to encrypt; FILE is the message to decrypt.
func peakChild(spec string, out io.Writer) error {
	f := strings.Split(spec, ",")
	if len(f) < 4 {
		return fmt.Errorf("bad spec %q", spec)
	}
	size, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return err
	}
	suite64, err := strconv.ParseUint(f[0], 16, 16)
	if err != nil {
		return err
	}
	suite, op, which := uint16(suite64), f[1], f[2]
	ctx := context.Background()
	o, err := newOurs(suite, wrappingKey)
	if err != nil {
		return err
	}
	var s sdk = o
	if which == "official" {
		if s, err = newOfficial(suite, wrappingKey); err != nil {
			return err
		}
	}
	stream := which == "ours-stream"

	// The input, held before the measured call.
	var input []byte
	var file *os.File
	switch {
	case op == "encrypt" && !stream:
		input = plaintext(int(size))
	case op == "decrypt" && len(f) == 5 && stream:
		if file, err = os.Open(f[4]); err != nil {
			return err
		}
		defer file.Close()
	case op == "decrypt" && len(f) == 5:
		if input, err = os.ReadFile(f[4]); err != nil {
			return err
		}
	case op != "encrypt":
		return fmt.Errorf("bad spec %q", spec)
	}

	runtime.GC()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	before, _, err := procStatus()
	if err != nil {
		return err
	}
	// Writing 5 to clear_refs resets the high-water mark to the current RSS.
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil

	start := time.Now()
	var n int64
	switch {
	case op == "encrypt" && stream:
		// The plaintext comes from a generator and the message goes to
		// io.Discard: neither is ever whole in memory.
		src := io.LimitReader(rand.NewChaCha8([32]byte{'e', 's', 'd', 'k'}), size)
		cw := &countWriter{}
		w, err := o.c.Encrypt(ctx, cw, o.mm, encryptionContext)
		if err != nil {
			return err
		}
		if _, err := io.CopyBuffer(struct{ io.Writer }{w}, src, make([]byte, 64<<10)); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		n = cw.n
	case op == "encrypt":
		ct, err := s.encrypt(ctx, input)
		if err != nil {
			return err
		}
		n = int64(len(ct))
		runtime.KeepAlive(ct)
	case stream:
		if n, err = o.decryptStream(ctx, bufio.NewReaderSize(file, 64<<10), make([]byte, 64<<10)); err != nil {
			return err
		}
	default:
		pt, _, err := s.decrypt(ctx, input)
		if err != nil {
			return err
		}
		n = int64(len(pt))
		runtime.KeepAlive(pt)
	}
	elapsed := time.Since(start)
	runtime.KeepAlive(input)

	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	_, peak, err := procStatus()
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(peakResult{
		Before:     before,
		Peak:       peak,
		TotalAlloc: int64(ms1.TotalAlloc - ms0.TotalAlloc),
		Output:     n,
		Nanos:      elapsed.Nanoseconds(),
		HWMReset:   reset,
	})
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// procStatus returns VmRSS and VmHWM of this process in bytes.
func procStatus() (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		switch f[0] {
		case "VmRSS:":
			rss = v << 10
		case "VmHWM:":
			hwm = v << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS or VmHWM in /proc/self/status")
	}
	return rss, hwm, nil
}

// runPeak runs one measurement in a child process.
func runPeak(tb testing.TB, spec string) peakResult {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), peakEnv+"="+spec)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("peak %s: %v: %s", spec, err, stderr.Bytes())
	}
	var r peakResult
	if err := json.Unmarshal(out, &r); err != nil {
		tb.Fatalf("peak %s: %v in %q", spec, err, out)
	}
	return r
}

// messages holds the 256 MiB messages the decryption children read, one
// per suite, written once by the official SDK.
var messages = &messageFiles{paths: map[uint16]string{}}

type messageFiles struct {
	mu    sync.Mutex
	dir   string
	paths map[uint16]string
}

func (m *messageFiles) get(tb testing.TB, suite uint16) string {
	tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.paths[suite]; ok {
		return p
	}
	if m.dir == "" {
		d, err := os.MkdirTemp("", "esdk-bench-")
		if err != nil {
			tb.Fatal(err)
		}
		m.dir = d
	}
	a, err := newOfficial(suite, wrappingKey)
	if err != nil {
		tb.Fatal(err)
	}
	ct, err := a.encrypt(context.Background(), plaintext(peakSize))
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(m.dir, fmt.Sprintf("%04X.esdk", suite))
	if err := os.WriteFile(p, ct, 0o600); err != nil {
		tb.Fatal(err)
	}
	m.paths[suite] = p
	return p
}

func (m *messageFiles) cleanup() {
	if m.dir != "" {
		os.RemoveAll(m.dir)
	}
}

// BenchmarkPeak256MiB reports, for one 256 MiB message, the peak resident
// memory of a fresh process that encrypts or decrypts it once (peak-MiB),
// how much of that the call added over its input (added-MiB), and the heap
// bytes the call allocated (alloc-MiB). The one-shot APIs hold the input
// and the output whole; "ours-stream" holds neither. ns/op is the whole
// child process: start, input, call.
func BenchmarkPeak256MiB(b *testing.B) {
	for _, suite := range suites {
		for _, op := range []string{"encrypt", "decrypt"} {
			for _, which := range []string{"ours", "official", "ours-stream"} {
				b.Run(fmt.Sprintf("%04X/%s/%s", suite, op, which), func(b *testing.B) {
					spec := fmt.Sprintf("%04X,%s,%s,%d", suite, op, which, peakSize)
					if op == "decrypt" {
						spec += "," + messages.get(b, suite)
					}
					var worst peakResult
					for b.Loop() {
						r := runPeak(b, spec)
						if !r.HWMReset {
							b.Fatal("cannot reset the RSS high-water mark (/proc/self/clear_refs)")
						}
						if r.Peak-r.Before > worst.Peak-worst.Before {
							worst = r
						}
					}
					const mib = 1 << 20
					b.ReportMetric(float64(worst.Peak)/mib, "peak-MiB")
					b.ReportMetric(float64(worst.Peak-worst.Before)/mib, "added-MiB")
					b.ReportMetric(float64(worst.TotalAlloc)/mib, "alloc-MiB")
				})
			}
		}
	}
}

// TestPeakChild checks the measurement itself on a smaller message: a
// child that encrypts with each SDK reports a plausible result.
func TestPeakChild(t *testing.T) {
	const size = 32 << 20
	for _, which := range []string{"ours", "official", "ours-stream"} {
		r := runPeak(t, fmt.Sprintf("0478,encrypt,%s,%d", which, size))
		if r.Output < size || r.Peak < r.Before || r.Before <= 0 || !r.HWMReset {
			t.Errorf("%s: implausible result %+v", which, r)
		}
		if which != "ours-stream" && r.Before < size {
			t.Errorf("%s: RSS before the call %d is below the plaintext it holds", which, r.Before)
		}
		if which == "ours" && r.TotalAlloc < size {
			t.Errorf("%s: allocated %d bytes during the call, less than the message it returns", which, r.TotalAlloc)
		}
	}
}
