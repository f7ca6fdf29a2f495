package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// job is one input and where its output goes.
type job struct {
	in   string // a file, or "-" for standard input
	out  string // a file, "-" for standard output, or "" (inspect)
	size int64  // input size, -1 when unknown
	// skip, when set, says why the input is not processed: the run
	// reports it and ends with status 1.
	skip string
}

const stdio = "-"

// tmpMarker is in the name of every temporary output file.
//
// A directory walk does not take a file with the marker in its name as an
// input, and says so: it reports the file and the run ends with status 1.
// The walks of a run end before it makes any output, so none of its own
// temporary files can be among its inputs: a marked file in a tree is one
// that a killed run left behind (SIGKILL, a crash, a power cut: it may
// hold partial plaintext), or another run's output in progress. Taking it
// as an input would encrypt or decrypt a partial file; passing over it
// without a word would hide it, and with it a file of the user's own that
// happens to have such a name. Named, it can be removed or renamed.
const tmpMarker = ".esdk-tmp-"

// skipTemp is why a walk passes over a file with tmpMarker in its name.
const skipTemp = "its name holds " + tmpMarker + ", the mark of esdk's temporary files: remove it if an esdk run that was killed left it behind, or rename it to process it"

// planJobs maps the operands to jobs. Several inputs, or a directory with
// -r, need an output directory; each file's output there is its path
// relative to the input, plus the suffix.
func planJobs(e *env, o *options, cmd string, operands []string) ([]job, error) {
	if len(operands) == 0 {
		return nil, usagef("%s needs an input: a file, a directory with -r, or - for standard input", cmd)
	}
	if len(operands) > 1 && slices.Contains(operands, stdio) {
		return nil, usagef("- (standard input) must be the only input")
	}
	if !o.suffixSet {
		o.suffix = "." + cmd + "ed"
	}
	if strings.ContainsRune(o.suffix, filepath.Separator) {
		return nil, usagef("--suffix %q: must not hold a %c", o.suffix, filepath.Separator)
	}
	if cmd == cmdInspect {
		return inputJobs(e, o, operands, "", "")
	}
	out := o.output
	if out == "" {
		if operands[0] != stdio {
			return nil, usagef("%s needs --output (-o): a file, a directory, or - for standard output", cmd)
		}
		out = stdio
	}
	if operands[0] == stdio {
		if fi, err := os.Stat(out); err == nil && fi.IsDir() {
			return nil, usagef("-o %s is a directory; standard input needs an output file or -", out)
		}
		return []job{{in: stdio, out: out, size: -1}}, nil
	}
	outDir := false
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		outDir = true
	} else if errors.Is(err, fs.ErrNotExist) && endsWithSlash(out) {
		// -o dir/ asks for a directory: make it.
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, err
		}
		outDir = true
	}
	if !outDir {
		single := len(operands) == 1
		if single {
			if fi, err := os.Stat(operands[0]); err == nil && fi.IsDir() {
				single = false
			}
		}
		switch {
		case !single && out == stdio:
			return nil, usagef("several files cannot go to standard output: give -o an existing directory")
		case !single:
			return nil, usagef("-o %s: several inputs or a directory need -o to name a directory: an existing one, or end it with / to have it made", out)
		}
		fi, err := os.Stat(operands[0])
		if err != nil {
			return nil, inputError(operands[0], err)
		}
		// A named pipe or a device (such as the /dev/fd/N of a shell's
		// process substitution) is read like a file of unknown size.
		size := int64(-1)
		if fi.Mode().IsRegular() {
			size = fi.Size()
		}
		return []job{{in: operands[0], out: out, size: size}}, nil
	}
	return inputJobs(e, o, operands, out, o.suffix)
}

// inputJobs lists the files of the operands, walking directories when -r
// is given. With outDir, each job's output is in outDir.
func inputJobs(e *env, o *options, operands []string, outDir, suffix string) ([]job, error) {
	var jobs []job
	var outInfo os.FileInfo
	if outDir != "" {
		outInfo, _ = os.Stat(outDir)
	}
	for _, in := range operands {
		if in == stdio {
			jobs = append(jobs, job{in: stdio, size: -1})
			continue
		}
		fi, err := os.Stat(in)
		if err != nil {
			return nil, inputError(in, err)
		}
		if !fi.IsDir() {
			size := int64(-1)
			if fi.Mode().IsRegular() {
				size = fi.Size()
			}
			j := job{in: in, size: size}
			if outDir != "" {
				j.out = filepath.Join(outDir, filepath.Base(in)+suffix)
			}
			jobs = append(jobs, j)
			continue
		}
		if !o.recursive {
			return nil, usagef("%s is a directory: add -r (--recursive) to process the files in it", in)
		}
		err = filepath.WalkDir(in, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if outInfo != nil && path != in {
					if di, err := d.Info(); err == nil && os.SameFile(di, outInfo) {
						return filepath.SkipDir // the output directory inside the input
					}
				}
				return nil
			}
			if strings.Contains(d.Name(), tmpMarker) {
				jobs = append(jobs, job{in: path, size: -1, skip: skipTemp})
				return nil
			}
			if !d.Type().IsRegular() {
				fmt.Fprintf(e.stderr, "esdk: skipping %s: not a regular file\n", path)
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			j := job{in: path, size: info.Size()}
			if outDir != "" {
				rel, err := filepath.Rel(in, path)
				if err != nil {
					return err
				}
				j.out = filepath.Join(outDir, rel+suffix)
			}
			jobs = append(jobs, j)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading directory %s: %w", in, err)
		}
	}
	return jobs, nil
}

func endsWithSlash(p string) bool {
	return strings.HasSuffix(p, "/") || strings.HasSuffix(p, string(filepath.Separator))
}

func inputError(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("input %s does not exist", name)
	}
	return err
}

// checkTarget fails early when out exists and may not be overwritten, or
// is the input itself.
func checkTarget(j job, force bool) error {
	if j.out == stdio {
		return nil
	}
	fo, err := os.Stat(j.out)
	if err != nil {
		return nil
	}
	if j.in != stdio {
		if fi, err := os.Stat(j.in); err == nil && os.SameFile(fi, fo) {
			return fmt.Errorf("%s is both input and output: choose another output", j.out)
		}
	}
	if fo.IsDir() {
		return fmt.Errorf("output %s is a directory", j.out)
	}
	if err := regularTarget(j.out, fo); err != nil {
		return err
	}
	if !force {
		return fmt.Errorf("output %s exists: use --force to overwrite it", j.out)
	}
	return nil
}

// regularTarget refuses an output that exists and is not a regular file
// (fi is what os.Stat says of it): a named pipe, a device, a socket.
// Outputs are written to a temporary file and renamed over the target, and
// a rename would replace the special file with a regular one holding the
// output; writing into it instead would release a partial output that a
// failure cannot take back. Standard output (-o -) is the way to write
// into a pipe or a device.
func regularTarget(name string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("output %s is %s: esdk writes outputs as regular files only, and does not replace other files; to write into it, use -o - and redirect standard output (-o - > %s)", name, fileKind(fi.Mode()), name)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "not a regular file"
}

// outFile is an output written to a temporary file next to its target
// and moved there only by commit, so that a failed or interrupted run
// never leaves a partial output under the target's name.
type outFile struct {
	f      *os.File
	tmp    string
	target string
	force  bool
}

func createOut(target string, force bool) (*outFile, error) {
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := temps.create(dir, "."+filepath.Base(target)+tmpMarker+"*")
	if err != nil {
		return nil, err
	}
	return &outFile{f: f, tmp: f.Name(), target: target, force: force}, nil
}

// temps are the temporary files of outputs in progress, for an interrupt
// to remove.
var temps = tempFiles{m: map[string]bool{}}

// tempFiles is a registry of temporary files. Each file is made, renamed
// and removed under its lock, so that stop, which removes them all, never
// runs between the making of a file and its registration (a file it could
// not see would be left behind: a signal that came just after the file
// appeared did leave one) nor during a rename; after stop, no file is made
// or renamed.
type tempFiles struct {
	sync.Mutex
	m       map[string]bool
	stopped bool
}

// errStopped: the run was stopped by a signal.
var errStopped = errors.New("stopped")

// create makes a temporary file in dir, as os.CreateTemp does, and
// registers it.
func (t *tempFiles) create(dir, pattern string) (*os.File, error) {
	t.Lock()
	defer t.Unlock()
	if t.stopped {
		return nil, errStopped
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	t.m[f.Name()] = true
	return f, nil
}

// remove removes a temporary file and forgets it.
func (t *tempFiles) remove(name string) {
	t.Lock()
	defer t.Unlock()
	os.Remove(name)
	delete(t.m, name)
}

// stop removes every registered file, and makes the registry refuse to
// make or rename any other.
func (t *tempFiles) stop() {
	t.Lock()
	defer t.Unlock()
	t.stopped = true
	for name := range t.m {
		os.Remove(name)
	}
	clear(t.m)
}

// removeTemps removes the temporary files of outputs in progress; no
// other is made or committed after it.
func removeTemps() { temps.stop() }

func (o *outFile) Write(p []byte) (int, error) { return o.f.Write(p) }

// commit flushes the file to disk and gives it its name. Without force it
// never replaces a file that appeared meanwhile; with force it replaces a
// regular file only.
func (o *outFile) commit() error {
	// Holding the lock, an interrupt cannot remove the file while it is
	// being moved into place.
	temps.Lock()
	defer temps.Unlock()
	delete(temps.m, o.tmp)
	fail := func(err error) error {
		o.f.Close()
		os.Remove(o.tmp)
		return err
	}
	if temps.stopped {
		return fail(errStopped)
	}
	if err := o.f.Sync(); err != nil {
		return fail(err)
	}
	if err := o.f.Close(); err != nil {
		return fail(err)
	}
	if o.force {
		// checkTarget looked before the output was written; look again
		// just before the rename.
		if fi, err := os.Stat(o.target); err == nil {
			if err := regularTarget(o.target, fi); err != nil {
				return fail(err)
			}
		}
		if err := os.Rename(o.tmp, o.target); err != nil {
			return fail(err)
		}
		return nil
	}
	// A hard link fails if the target exists: no race with another writer.
	err := os.Link(o.tmp, o.target)
	if err == nil {
		return os.Remove(o.tmp)
	}
	if errors.Is(err, fs.ErrExist) {
		return fail(fmt.Errorf("output %s exists: use --force to overwrite it", o.target))
	}
	// No hard links on this file system: check, then rename.
	if _, serr := os.Lstat(o.target); serr == nil {
		return fail(fmt.Errorf("output %s exists: use --force to overwrite it", o.target))
	}
	if err := os.Rename(o.tmp, o.target); err != nil {
		return fail(err)
	}
	return nil
}

// abort removes the temporary file.
func (o *outFile) abort() {
	o.f.Close()
	temps.remove(o.tmp)
}

var _ io.Writer = (*outFile)(nil)
