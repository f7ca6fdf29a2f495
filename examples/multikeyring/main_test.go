package main

import "testing"

func TestMultiKeyring(t *testing.T) {
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
