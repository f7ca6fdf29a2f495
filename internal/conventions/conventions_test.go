// Package conventions checks, across the module, conventions of the
// public API that the compiler does not (see the Conventions section of
// package keyring).
package conventions

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// prefixes are the error prefixes of the library packages and the test
// endpoints, by directory from the module root. The engine's errors reach
// callers through package envelope, so they speak as it does.
var prefixes = map[string]string{
	"format":                       "esdk/format: ",
	"keyring":                      "esdk/keyring: ",
	"keyring/pkcs11":               "esdk/pkcs11: ",
	"kmsprovider":                  "esdk/kmsprovider: ",
	"kmsprovider/keystore":         "esdk/keystore: ",
	"kmsprovider/kmstest":          "esdk/kmstest: ",
	"kmsprovider/ddbtest":          "esdk/ddbtest: ",
	"kmsprovider/ddbtest/dynalite": "esdk/dynalite: ",
	"cache":                        "esdk/cache: ",
	"envelope":                     "esdk: ",
	"internal/engine":              "esdk: ",
}

// TestErrorPrefixes checks that every string of a package's code that
// starts like an error of this module ("esdk/..." or "esdk:") starts with
// that package's own prefix, and that none starts with the package's bare
// name ("kmstest: " for "esdk/kmstest: ").
func TestErrorPrefixes(t *testing.T) {
	for dir, prefix := range prefixes {
		files, err := filepath.Glob(filepath.Join("..", "..", filepath.FromSlash(dir), "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			checkFile(t, dir, name, prefix)
		}
	}
}

func checkFile(t *testing.T, dir, name, prefix string) {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	imports := map[*ast.BasicLit]bool{}
	for _, im := range f.Imports {
		imports[im.Path] = true
	}
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING || imports[lit] {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		if (strings.HasPrefix(s, "esdk/") || strings.HasPrefix(s, "esdk:")) && !strings.HasPrefix(s, prefix) {
			t.Errorf("%s: %q does not start with %q, the prefix of package %s", fset.Position(lit.Pos()), s, prefix, dir)
		}
		if bare, ok := strings.CutPrefix(prefix, "esdk/"); ok && strings.HasPrefix(s, bare) {
			t.Errorf("%s: %q starts with %q, not %q", fset.Position(lit.Pos()), s, bare, prefix)
		}
		return true
	})
}
