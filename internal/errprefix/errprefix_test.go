package errprefix

import (
	"errors"
	"io"
	"testing"
)

func TestErrorf(t *testing.T) {
	const p = "esdk/x: "
	inner := Errorf(p, "reading %q: %w", "k", io.ErrUnexpectedEOF)
	if got, want := inner.Error(), `esdk/x: reading "k": unexpected EOF`; got != want {
		t.Fatalf("inner = %q, want %q", got, want)
	}
	outer := Errorf(p, "opening the key: %w", inner)
	if got, want := outer.Error(), `esdk/x: opening the key: reading "k": unexpected EOF`; got != want {
		t.Fatalf("outer = %q, want %q", got, want)
	}
	if !errors.Is(outer, io.ErrUnexpectedEOF) || !errors.Is(outer, inner) {
		t.Fatal("errors.Is does not find the operands through Errorf")
	}
	// Another package's prefix stays.
	other := Errorf(p, "calling y: %w", errors.New("esdk/y: refused"))
	if got, want := other.Error(), "esdk/x: calling y: esdk/y: refused"; got != want {
		t.Fatalf("other = %q, want %q", got, want)
	}
	s := Strip(p, inner)
	if s.Error() != `reading "k": unexpected EOF` || !errors.Is(s, io.ErrUnexpectedEOF) {
		t.Fatalf("Strip = %q", s)
	}
}
