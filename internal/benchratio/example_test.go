package main

import (
	"os"
	"strings"
)

func Example() {
	out := `BenchmarkAESGCMBaseline/64MiB 	 20	 14000000 ns/op	4800.00 MB/s	 0 B/op	 0 allocs/op
BenchmarkEncrypt/0478/64MiB   	 20	 14500000 ns/op	4704.00 MB/s	 12704 B/op	 60 allocs/op`
	run(strings.NewReader(out), os.Stdout)
	// Output:
	// benchmark                                MB/s  baseline  allocs
	// AESGCMBaseline/64MiB                     4800      100%       0
	// Encrypt/0478/64MiB                       4704       98%      60
}
