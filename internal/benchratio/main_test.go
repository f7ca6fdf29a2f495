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
BenchmarkEncrypt/0478/1MiB-2     	     100	    250000 ns/op	3600.00 MB/s	   12704 B/op	      60 allocs/op
PASS`
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Encrypt/0478/1MiB") || !strings.Contains(out.String(), " 90%") || !strings.Contains(out.String(), " 60") {
		t.Fatalf("output:\n%s", out.String())
	}
	if err := run(strings.NewReader("nothing"), &out); err == nil {
		t.Fatal("empty input accepted")
	}
}
