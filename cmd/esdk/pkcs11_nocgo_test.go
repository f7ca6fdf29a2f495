//go:build !cgo

package main

func softHSMModule() string { return "" }

func softHSMCommands() map[string]func() int { return nil }

// softHSMCondition: without cgo there is no PKCS #11 keyring to test.
func softHSMCondition() (bool, error) { return false, nil }

// cgoBuild is the [cgo] condition: PKCS #11 keyrings are built in.
const cgoBuild = false
