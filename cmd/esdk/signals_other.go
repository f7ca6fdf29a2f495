//go:build !unix

package main

import (
	"os"
	"syscall"
)

// stopSignals are the signals on which esdk removes its temporary files
// and exits (see signals_unix.go): on Windows, Ctrl-C and Ctrl-Break
// (os.Interrupt) and closing the console, logging off or shutting down
// (syscall.SIGTERM).
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}
