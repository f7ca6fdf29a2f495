package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkEncrypt/0478/4KiB/baseline-2   100  1000 ns/op  4000.00 MB/s  0 B/op  0 allocs/op
BenchmarkEncrypt/0478/4KiB/baseline-2   100  1000 ns/op  5000.00 MB/s  0 B/op  0 allocs/op
BenchmarkEncrypt/0478/4KiB/baseline-2   100  1000 ns/op  6000.00 MB/s  0 B/op  0 allocs/op
BenchmarkEncrypt/0478/4KiB/ours-2   100  1000 ns/op  500.00 MB/s  9000 B/op  60 allocs/op
BenchmarkEncrypt/0478/4KiB/official-2   100  1000 ns/op  100.00 MB/s  90000 B/op  600 allocs/op
BenchmarkEncrypt/0478/4KiB/ours-stream-2   100  1000 ns/op  250.00 MB/s  9000 B/op  55 allocs/op
BenchmarkPeak256MiB/0478/encrypt/ours-2   1  1 ns/op  258.8 added-MiB  258.0 alloc-MiB  526.2 peak-MiB
BenchmarkPeak256MiB/0478/encrypt/official-2   1  1 ns/op  1294 added-MiB  1841 alloc-MiB  1630 peak-MiB
BenchmarkPeak256MiB/0478/encrypt/ours-stream-2   1  1 ns/op  0.48 added-MiB  0.08 alloc-MiB  10.88 peak-MiB
`

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(strings.NewReader(sample), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		// median baseline 5000; 500/100, 500/5000, 100/5000, 250/5000
		"| Encrypt | 0478 | 4KiB | 5000 | 500 | 100 | 5.00× | 0.10× | 0.02× | 0.05× | 60 | 600 |",
		"| 0478 | encrypt | 526 / 259 | 1630 / 1294 | 10.9 / 0.48 | 5.00× |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunEmpty(t *testing.T) {
	if err := run(strings.NewReader("PASS\n"), &bytes.Buffer{}); err == nil {
		t.Fatal("no error for input without results")
	}
}
