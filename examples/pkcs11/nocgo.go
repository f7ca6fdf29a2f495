//go:build !cgo

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "pkcs11: this build has no cgo, which loading a PKCS #11 library needs; build with CGO_ENABLED=1 and a C compiler")
	os.Exit(1)
}
