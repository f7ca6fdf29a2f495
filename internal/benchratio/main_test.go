package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRatios(t *testing.T) {
	in := `goos: linux
BenchmarkAESGCMBaseline/1MiB     	     100	    200000 ns/op	4000.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkAESGCMBaseline/1MiB     	     100	    200000 ns/op	5000.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkAESGCMBaseline/1MiB     	     100	    200000 ns/op	3000.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkEncrypt/0478/1MiB     	     100	    250000 ns/op	3600.00 MB/s	   12704 B/op	      60 allocs/op
BenchmarkAESGCMBaseline/1MiB-2     	     100	    200000 ns/op	4000.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkSHA384Baseline/1MiB-2     	     100	    200000 ns/op	800.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkEncrypt/0478/1MiB-2     	     100	    250000 ns/op	7200.00 MB/s	   12704 B/op	      71 allocs/op
BenchmarkEncrypt/0578/1MiB-2     	     100	    250000 ns/op	720.00 MB/s	   12704 B/op	      171 allocs/op
BenchmarkAESGCMParallelBaseline/1MiB-2     	     100	    200000 ns/op	9600.00 MB/s	       0 B/op	       0 allocs/op
PASS`
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	one, two, ok := strings.Cut(out.String(), "-cpu 2")
	if !ok {
		t.Fatalf("no -cpu 2 section:\n%s", out.String())
	}
	// -cpu 1: the median of 4000, 5000 and 3000 is the baseline, and
	// there is no SHA-384 baseline.
	if !strings.Contains(one, "Encrypt/0478/1MiB") || !strings.Contains(one, " 0.90x") || !strings.Contains(one, " 60") {
		t.Fatalf("-cpu 1 section:\n%s", one)
	}
	// -cpu 2: compared with the baselines of -cpu 2 only.
	if !strings.Contains(two, " 1.80x") || !strings.Contains(two, " 9.00x") || !strings.Contains(two, " 0.90x") || !strings.Contains(two, " 171") ||
		!strings.Contains(two, " 0.75x") { // 7200 over the parallel baseline's 9600

		t.Fatalf("-cpu 2 section:\n%s", two)
	}
	// Each -cpu 2 figure over its own -cpu 1 figure: 7200 over 3600 for
	// Encrypt/0478/1MiB, and nothing for those without a -cpu 1 figure.
	for _, l := range strings.Split(two, "\n") {
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "benchmark") && !strings.HasSuffix(l, "/ cpu 1"):
			t.Errorf("-cpu 2 header lacks the / cpu 1 column: %q", l)
		case strings.HasPrefix(l, "Encrypt/0478/1MiB") && f[len(f)-1] != "2.00x",
			strings.HasPrefix(l, "AESGCMBaseline/1MiB") && f[len(f)-1] != "1.00x",
			strings.HasPrefix(l, "Encrypt/0578/1MiB") && f[len(f)-1] != "171":
			t.Errorf("-cpu 2 row %q: wrong or missing ratio to -cpu 1", l)
		}
	}
	if strings.Contains(one, "/ cpu 1") {
		t.Errorf("-cpu 1 section has a / cpu 1 column:\n%s", one)
	}
	if err := run(strings.NewReader("nothing"), &out); err == nil {
		t.Fatal("empty input accepted")
	}
}
