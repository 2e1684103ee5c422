package scenarios

import (
	"strings"
	"unicode/utf8"
)

// maxSuggestLen bounds the strings we compare so a megabyte-long key cannot make the
// quadratic edit distance expensive.
const maxSuggestLen = 64

// maxCandidates skips suggestions among very long lists (thousands of probe names in a
// generated file), where a guess is neither cheap nor useful.
const maxCandidates = 256

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// closest returns the candidate a user most likely meant by s, or "" when none is close
// enough to be a helpful guess. Case differences are ignored ("steadystate" → "steadyState"),
// a long enough prefix counts ("desc" → "description"), otherwise the Levenshtein distance
// must be small relative to the candidate's length.
func closest(s string, candidates []string) string {
	if s == "" || utf8.RuneCountInString(s) > maxSuggestLen || len(candidates) > maxCandidates {
		return ""
	}
	ls := strings.ToLower(s)
	best, bestDist := "", -1
	for _, c := range candidates {
		if c == s {
			continue
		}
		lc := strings.ToLower(c)
		prefix := len(ls) >= 4 && strings.HasPrefix(lc, ls)
		n := utf8.RuneCountInString(c)
		limit := max(1, n/3)
		if !prefix && (n > maxSuggestLen || abs(n-utf8.RuneCountInString(s)) > limit) {
			continue // too different in length to be close; skip the quadratic distance
		}
		d := 0
		if !prefix {
			d = levenshtein(ls, lc)
		} else {
			d = n - len([]rune(ls))
		}
		if d > limit && !prefix {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// didYouMean formats the suggestion suffix for an error message, or "" when there is none.
func didYouMean(s string, candidates []string) string {
	if c := closest(s, candidates); c != "" {
		return "; did you mean \"" + c + "\"?"
	}
	return ""
}

// levenshtein is the edit distance between a and b counted in runes, with a swap of two
// adjacent runes counting as one edit (optimal string alignment), since "wiht" is one slip
// of the fingers away from "with", not two.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
