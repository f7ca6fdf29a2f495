//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var signalNames = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT,
	"ABRT": syscall.SIGABRT, "TERM": syscall.SIGTERM, "ALRM": syscall.SIGALRM,
	"VTALRM": syscall.SIGVTALRM, "XCPU": syscall.SIGXCPU, "USR1": syscall.SIGUSR1,
}

// signalCommands are the programs of the signal scripts.
func signalCommands() map[string]func() int {
	return map[string]func() int{
		// interrupt [-ignore SIG0] SIG DIR STATUS PROG ARGS... runs PROG
		// (its standard streams are interrupt's), waits until DIR holds a
		// temporary output file, sends PROG the signal SIG (HUP, INT,
		// QUIT, ...), and fails unless PROG then exits with status
		// STATUS. With -ignore, PROG starts with SIG0 ignored, as under
		// nohup, and is sent SIG0 just before SIG.
		"interrupt": func() int {
			if err := interrupt(os.Args[1:]); err != nil {
				fmt.Fprintln(os.Stderr, "interrupt:", err)
				return 1
			}
			return 0
		},
	}
}

func interrupt(args []string) error {
	var ignored syscall.Signal
	if len(args) > 1 && args[0] == "-ignore" {
		s, ok := signalNames[args[1]]
		if !ok {
			return fmt.Errorf("unknown signal %s", args[1])
		}
		ignored, args = s, args[2:]
		signal.Ignore(s) // inherited by PROG
	}
	if len(args) < 4 {
		return fmt.Errorf("usage: interrupt [-ignore SIG0] SIG DIR STATUS PROG ARGS...")
	}
	sig, ok := signalNames[args[0]]
	if !ok {
		return fmt.Errorf("unknown signal %s", args[0])
	}
	dir := args[1]
	want, err := strconv.Atoi(args[2])
	if err != nil {
		return err
	}
	cmd := exec.Command(args[3], args[4:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// A guard against a hang, not a measure of time.
	deadline := time.Now().Add(time.Minute)
	for !holdsTemp(dir) {
		select {
		case err := <-exited:
			return fmt.Errorf("%s ended before a temporary file appeared in %s: %v", args[3], dir, err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return fmt.Errorf("no temporary file appeared in %s", dir)
		}
	}
	if ignored != 0 {
		cmd.Process.Signal(ignored)
	}
	cmd.Process.Signal(sig)
	<-exited
	ps := cmd.ProcessState
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Errorf("%s was killed by %v, want exit status %d", args[3], ws.Signal(), want)
	}
	if ps.ExitCode() != want {
		return fmt.Errorf("%s exited with status %d, want %d", args[3], ps.ExitCode(), want)
	}
	return nil
}

func holdsTemp(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), tmpMarker) {
			return true
		}
	}
	return false
}
