//go:build !unix

package main

func signalCommands() map[string]func() int { return nil }
