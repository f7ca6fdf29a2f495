package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressMin is the input size from which a progress bar is drawn.
const progressMin = 8 << 20

// progress is a progress bar on standard error, fed with the bytes read.
type progress struct {
	bar *progressbar.ProgressBar
}

// newProgress returns a progress bar for j, or nil when there should be
// none: with --quiet, when standard error is not a terminal, or when the
// input is smaller than progressMin or of unknown size.
func newProgress(e *env, quiet bool, j job) *progress {
	if !showProgress(quiet, isTerminal(e.stderr), j.size) {
		return nil
	}
	return newProgressBar(e.stderr, name(j.in), j.size)
}

func newProgressBar(w io.Writer, desc string, size int64) *progress {
	return &progress{bar: progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func showProgress(quiet, terminal bool, size int64) bool {
	return !quiet && terminal && size >= progressMin
}

func (p *progress) Write(b []byte) (int, error) { return p.bar.Write(b) }

// done takes the bar off the terminal.
func (p *progress) done() {
	p.bar.Clear()
	p.bar.Exit()
}

// isTerminal reports whether w (or the writer a scrubWriter writes to) is
// a terminal.
func isTerminal(w io.Writer) bool {
	if u, ok := w.(interface{ underlying() io.Writer }); ok {
		w = u.underlying()
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
