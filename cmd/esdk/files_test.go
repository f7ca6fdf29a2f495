package main

import (
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// TestTempsStop: stop, whenever it comes, removes every temporary file
// made so far, and none is made after it. (A signal that came just after
// a temporary file appeared, before it was registered, once left it
// behind.)
func TestTempsStop(t *testing.T) {
	for range 50 {
		dir := t.TempDir()
		reg := &tempFiles{m: map[string]bool{}}
		var made atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					f, err := reg.create(dir, "out"+tmpMarker+"*")
					if err != nil {
						if err != errStopped {
							t.Error(err)
						}
						return
					}
					f.Close()
					made.Add(1)
				}
			}()
		}
		for made.Load() < 20 {
		}
		reg.stop()
		wg.Wait()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 0 {
			t.Fatalf("%d of %d temporary files left after stop, such as %s", len(entries), made.Load(), entries[0].Name())
		}
	}
}
