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
BenchmarkAESGCMParallelBaseline/64MiB-2 	 20	 7500000 ns/op	9000.00 MB/s	 48 B/op	 1 allocs/op
BenchmarkAESGCMParallelIntoBaseline/64MiB-2 	 20	 9000000 ns/op	7200.00 MB/s	 48 B/op	 1 allocs/op
BenchmarkEncrypt/0578/64MiB-2   	 20	 14500000 ns/op	 722.00 MB/s	 12704 B/op	 180 allocs/op
BenchmarkDecrypt/0478/64MiB-2   	 20	 14500000 ns/op	6480.00 MB/s	 27000 B/op	 60 allocs/op
BenchmarkSignedBaseline/64MiB-2 	 20	 14000000 ns/op	 740.00 MB/s	 48 B/op	 1 allocs/op`
	run(strings.NewReader(out), os.Stdout)
	// Output:
	// -cpu 1
	// benchmark                                MB/s  AES-GCM   AES xN  into xN  SHA-384   signed  allocs
	// AESGCMBaseline/64MiB                     4800    1.00x                      6.40x                0
	// SHA384Baseline/64MiB                      750    0.16x                      1.00x                0
	// Encrypt/0478/64MiB                       4704    0.98x                      6.27x               60
	//
	// -cpu 2
	// benchmark                                MB/s  AES-GCM   AES xN  into xN  SHA-384   signed  allocs  / cpu 1
	// AESGCMBaseline/64MiB                     4800    1.00x    0.53x    0.67x    6.32x    6.49x       0    1.00x
	// SHA384Baseline/64MiB                      760    0.16x    0.08x    0.11x    1.00x    1.03x       0    1.01x
	// Encrypt/0478/64MiB                       8640    1.80x    0.96x    1.20x      11x      12x      71    1.84x
	// AESGCMParallelBaseline/64MiB             9000    1.88x    1.00x    1.25x      12x      12x       1
	// AESGCMParallelIntoBaseline/64MiB         7200    1.50x    0.80x    1.00x    9.47x    9.73x       1
	// Encrypt/0578/64MiB                        722    0.15x    0.08x    0.10x    0.95x    0.98x     180
	// Decrypt/0478/64MiB                       6480    1.35x    0.72x    0.90x    8.53x    8.76x      60
	// SignedBaseline/64MiB                      740    0.15x    0.08x    0.10x    0.97x    1.00x       1
}
