//go:build unix

package main

import (
	"os"
	"syscall"
)

// stopSignals are the signals on which esdk removes its temporary files
// and exits: those whose default action ends a process and that a
// program can catch, as careful tools (GNU sort's cleanup, for one) take
// them, but for
//
//   - SIGPIPE: caught, it would be delivered for a broken pipe on any
//     descriptor, a KMS connection's included, which the AWS SDK retries;
//     uncaught, it ends esdk only for a broken standard output or error,
//     which esdk writes only while no temporary file is open (its data
//     goes there only with -o -, which has none; messages go between
//     outputs);
//   - SIGXFSZ: Go ignores it, and the write past the limit fails, which
//     fails that one output and removes its temporary file;
//   - SIGUSR1, SIGUSR2: they have no agreed meaning (dd prints its
//     progress on one), and Go ignores them;
//   - SIGPROF: the Go runtime's profiler.
var stopSignals = []os.Signal{
	syscall.SIGHUP,
	syscall.SIGINT,
	syscall.SIGQUIT,
	syscall.SIGABRT,
	syscall.SIGTERM,
	syscall.SIGALRM,
	syscall.SIGVTALRM,
	syscall.SIGXCPU,
}
