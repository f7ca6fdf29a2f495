// Command benchratio reads `go test -bench` output of package envelope on
// standard input and prints each throughput as a ratio to the raw AES-GCM
// baseline of the same size, measured in the same run:
//
//	go test -run '^$' -bench . -cpu 1 ./envelope | go run ./internal/benchratio
//
// When a benchmark ran more than once (-count), the median is used.
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

// A result line: name, iterations, ns/op, MB/s, and the rest.
var line = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+[\d.]+ ns/op\s+([\d.]+) MB/s(.*)$`)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	speeds := map[string][]float64{}
	allocs := map[string]string{}
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		mbs, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return err
		}
		if _, seen := speeds[m[1]]; !seen {
			order = append(order, m[1])
		}
		speeds[m[1]] = append(speeds[m[1]], mbs)
		if f := strings.Fields(m[3]); len(f) >= 4 {
			allocs[m[1]] = f[2]
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	fmt.Fprintf(out, "%-34s %10s %9s %7s\n", "benchmark", "MB/s", "baseline", "allocs")
	for _, name := range order {
		size := name[strings.LastIndex(name, "/")+1:]
		base, ok := speeds["AESGCMBaseline/"+size]
		if !ok {
			continue
		}
		fmt.Fprintf(out, "%-34s %10.0f %8.0f%% %7s\n", name, median(speeds[name]), 100*median(speeds[name])/median(base), allocs[name])
	}
	if len(order) == 0 {
		return fmt.Errorf("no benchmark results with MB/s on standard input")
	}
	return nil
}
