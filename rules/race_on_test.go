//go:build race

package rules

// raceEnabled is true when tests run with -race, which makes code allocate.
const raceEnabled = true
