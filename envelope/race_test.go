//go:build race

package envelope_test

// raceEnabled: the race detector drops a share of what goes into a
// sync.Pool, so guards that count on pools are off.
const raceEnabled = true
