// Command benchratio reads `go test -bench` output of package envelope on
// standard input and prints each throughput as a ratio to the limits
// measured in the same run over the same bytes: raw AES-256-GCM on one
// goroutine (BenchmarkAESGCMBaseline), on GOMAXPROCS goroutines into a
// scratch buffer (BenchmarkAESGCMParallelBaseline, the limit of parallel
// encryption) and into a buffer of the message's size
// (BenchmarkAESGCMParallelIntoBaseline, the limit of parallel decryption
// into the caller's buffer), SHA-384 (BenchmarkSHA384Baseline, the
// signature hash of the signed suites) and SHA-384 with AES-GCM behind it
// on another goroutine (BenchmarkSignedBaseline, the limit of a signed
// message):
//
//	go test -run '^$' -bench . -cpu 1,2 ./envelope | go run ./internal/benchratio
//
// Results of each -cpu value are compared with the baselines of the same
// -cpu value. For -cpu values above 1, the last column divides each figure
// by the same benchmark's -cpu 1 figure: more cores should never make a
// message slower, so no figure of it should read much below 1.00x. When a
// benchmark ran more than once (-count), the median is used.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A result line: name, GOMAXPROCS, iterations, ns/op, MB/s, and the rest.
var line = regexp.MustCompile(`^Benchmark(\S+?)(?:-(\d+))?\s+\d+\s+[\d.]+ ns/op\s+([\d.]+) MB/s(.*)$`)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

type key struct {
	name string
	cpu  int
}

func run(in io.Reader, out io.Writer) error {
	speeds := map[key][]float64{}
	allocs := map[key]string{}
	var order []key
	var cpus []int
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		mbs, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return err
		}
		k := key{m[1], 1}
		if m[2] != "" {
			if k.cpu, err = strconv.Atoi(m[2]); err != nil {
				return err
			}
		}
		if _, seen := speeds[k]; !seen {
			order = append(order, k)
			if !slices.Contains(cpus, k.cpu) {
				cpus = append(cpus, k.cpu)
			}
		}
		speeds[k] = append(speeds[k], mbs)
		if f := strings.Fields(m[4]); len(f) >= 4 {
			allocs[k] = f[2]
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(order) == 0 {
		return fmt.Errorf("no benchmark results with MB/s on standard input")
	}
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	// ratio is the median of k over the median of the baseline of the
	// same size and -cpu value, or "" when the run has no such baseline.
	ratio := func(k key, baseline string) string {
		size := k.name[strings.LastIndex(k.name, "/")+1:]
		base, ok := speeds[key{baseline + "/" + size, k.cpu}]
		if !ok {
			return ""
		}
		r := median(speeds[k]) / median(base)
		if r >= 10 {
			return fmt.Sprintf("%.0fx", r)
		}
		return fmt.Sprintf("%.2fx", r)
	}
	// The limits, in the order of the columns.
	baselines := []string{"AESGCMBaseline", "AESGCMParallelBaseline", "AESGCMParallelIntoBaseline", "SHA384Baseline", "SignedBaseline"}
	// vsOne is the median of k over that of the same benchmark with -cpu
	// 1, or "" when there is none.
	vsOne := func(k key) string {
		one, ok := speeds[key{k.name, 1}]
		if k.cpu == 1 || !ok {
			return ""
		}
		return fmt.Sprintf("%.2fx", median(speeds[k])/median(one))
	}
	slices.Sort(cpus)
	for i, cpu := range cpus {
		if i > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "-cpu %d\n", cpu)
		head := []any{"benchmark", "MB/s", "AES-GCM", "AES xN", "into xN", "SHA-384", "signed", "allocs", ""}
		if cpu != 1 {
			head[len(head)-1] = "/ cpu 1"
		}
		printRow(out, "%-34s %10s %8s %8s %8s %8s %8s %7s %8s", head)
		for _, k := range order {
			if k.cpu != cpu {
				continue
			}
			row := []any{k.name, median(speeds[k])}
			found := false
			for _, b := range baselines {
				x := ratio(k, b)
				found = found || x != ""
				row = append(row, x)
			}
			if !found {
				continue
			}
			printRow(out, "%-34s %10.0f %8s %8s %8s %8s %8s %7s %8s", append(row, allocs[k], vsOne(k)))
		}
	}
	return nil
}

// printRow prints one row of a table, without the spaces of empty columns
// at its end.
func printRow(out io.Writer, format string, cols []any) {
	fmt.Fprintln(out, strings.TrimRight(fmt.Sprintf(format, cols...), " "))
}
