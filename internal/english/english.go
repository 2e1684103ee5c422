// Package english words counts for people: "1 run", "3 runs". Every verb, report and progress
// line uses it, so a count never reads "1 runs" or "run(s)".
package english

import "strconv"

// Count is n followed by one (n == 1) or many: Count(1, "run", "runs") is "1 run".
func Count(n int, one, many string) string {
	return strconv.Itoa(n) + " " + Agree(n, one, many)
}

// Agree is the word that agrees with a count of n: Agree(1, "is", "are") is "is".
func Agree(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
