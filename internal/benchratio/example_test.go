package main

import (
	"os"
	"strings"
)

func Example() {
	out := `BenchmarkAESGCMBaseline/64MiB 	 20	 14000000 ns/op	4800.00 MB/s	 0 B/op	 0 allocs/op
BenchmarkSHA384Baseline/64MiB 	 20	 14000000 ns/op	 750.00 MB/s	 0 B/op	 0 allocs/op
BenchmarkEncrypt/0478/64MiB   	 20	 14500000 ns/op	4704.00 MB/s	 12704 B/op	 60 allocs/op
BenchmarkAESGCMBaseline/64MiB-2 	 20	 14000000 ns/op	4800.00 MB/s	 0 B/op	 0 allocs/op
BenchmarkSHA384Baseline/64MiB-2 	 20	 14000000 ns/op	 760.00 MB/s	 0 B/op	 0 allocs/op
BenchmarkEncrypt/0478/64MiB-2   	 20	 14500000 ns/op	8640.00 MB/s	 12704 B/op	 71 allocs/op
BenchmarkEncrypt/0578/64MiB-2   	 20	 14500000 ns/op	 722.00 MB/s	 12704 B/op	 180 allocs/op`
	run(strings.NewReader(out), os.Stdout)
	// Output:
	// -cpu 1
	// benchmark                                MB/s  AES-GCM  SHA-384  allocs
	// AESGCMBaseline/64MiB                     4800    1.00x    6.40x       0
	// SHA384Baseline/64MiB                      750    0.16x    1.00x       0
	// Encrypt/0478/64MiB                       4704    0.98x    6.27x      60
	//
	// -cpu 2
	// benchmark                                MB/s  AES-GCM  SHA-384  allocs
	// AESGCMBaseline/64MiB                     4800    1.00x    6.32x       0
	// SHA384Baseline/64MiB                      760    0.16x    1.00x       0
	// Encrypt/0478/64MiB                       8640    1.80x      11x      71
	// Encrypt/0578/64MiB                        722    0.15x    0.95x     180
}
