// Command ratios reads the `go test -bench` output of this module on
// standard input and prints the side-by-side tables of README.md: each
// SDK's throughput over the other's and over the AES-GCM baseline of the
// same group (op, suite and size), measured next to it, allocations, and the peak memory of a 256 MiB message.
// When a benchmark ran more than once (-count), the median is used.
//
//	go test -run '^$' -bench . -benchmem -count 3 > bench.txt
//	go run ./cmd/ratios < bench.txt
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

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
}

// results maps a benchmark name (without its -GOMAXPROCS suffix) to the
// values of each unit, one per run.
type results map[string]map[string][]float64

var (
	nameSuffix = regexp.MustCompile(`-\d+$`)
	sizes      = []string{"4KiB", "1MiB", "64MiB"}
	suites     = []string{"0478", "0578"}
)

func parse(in io.Reader) (results, error) {
	r := results{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		name := nameSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		if r[name] == nil {
			r[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", f[0], err)
			}
			r[name][f[i+1]] = append(r[name][f[i+1]], v)
		}
	}
	return r, sc.Err()
}

// get returns the median of a unit of a benchmark, and whether it ran.
func (r results) get(name, unit string) (float64, bool) {
	v := slices.Clone(r[name][unit])
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	return v[len(v)/2], true
}

func run(in io.Reader, out io.Writer) error {
	r, err := parse(in)
	if err != nil {
		return err
	}
	if len(r) == 0 {
		return fmt.Errorf("no benchmark results on standard input")
	}
	w := bufio.NewWriter(out)
	defer w.Flush()

	fmt.Fprintln(w, "Throughput (MB/s, median) and ratios; ours and official are the one-shot []byte APIs.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| op | suite | size | baseline | ours | official | ours / official | ours / baseline | official / baseline | ours-stream / baseline | allocs ours | allocs official |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, op := range []string{"Encrypt", "Decrypt"} {
		for _, suite := range suites {
			for _, size := range sizes {
				prefix := fmt.Sprintf("%s/%s/%s/", op, suite, size)
				base, okB := r.get(prefix+"baseline", "MB/s")
				o, okO := r.get(prefix+"ours", "MB/s")
				a, okA := r.get(prefix+"official", "MB/s")
				s, okS := r.get(prefix+"ours-stream", "MB/s")
				if !okO && !okA {
					continue
				}
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
					op, suite, size, num(base, okB), num(o, okO), num(a, okA),
					ratio(o, a, okO && okA), ratio(o, base, okO && okB), ratio(a, base, okA && okB), ratio(s, base, okS && okB),
					count(prefix+"ours", r), count(prefix+"official", r))
			}
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Peak memory of one 256 MiB message, fresh process each (MiB, median): peak RSS / added over the input held before the call.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| suite | op | ours | official | ours-stream | official added / ours added |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, suite := range suites {
		for _, op := range []string{"encrypt", "decrypt"} {
			prefix := fmt.Sprintf("Peak256MiB/%s/%s/", suite, op)
			if _, ok := r.get(prefix+"ours", "peak-MiB"); !ok {
				continue
			}
			cell := func(which string) string {
				p, okP := r.get(prefix+which, "peak-MiB")
				a, okA := r.get(prefix+which, "added-MiB")
				return num(p, okP) + " / " + num(a, okA)
			}
			ao, okO := r.get(prefix+"ours", "added-MiB")
			aa, okA := r.get(prefix+"official", "added-MiB")
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", suite, op,
				cell("ours"), cell("official"), cell("ours-stream"), ratio(aa, ao, okO && okA))
		}
	}
	return nil
}

func num(v float64, ok bool) string {
	switch {
	case !ok:
		return "–"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func ratio(a, b float64, ok bool) string {
	if !ok || b == 0 {
		return "–"
	}
	q := a / b
	if q >= 10 {
		return strconv.FormatFloat(q, 'f', 0, 64) + "×"
	}
	if q >= 0.1 {
		return strconv.FormatFloat(q, 'f', 2, 64) + "×"
	}
	return strconv.FormatFloat(q, 'g', 2, 64) + "×"
}

func count(name string, r results) string {
	v, ok := r.get(name, "allocs/op")
	if !ok {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
