// Package spell finds the word someone probably meant, for "did you mean …?" hints in
// error messages (unknown merge fields, segment fields and operators).
package spell

// Distance is the optimal string alignment distance between a and b, in runes: the
// edits of Levenshtein plus swapping two neighbours ("frist", "emial"), each costing one.
// Very long inputs (over 64 runes) are treated as far from everything.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 30
	}
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

// Nearest returns the candidate closest to word, and its distance; "" for no candidates.
// Ties go to the earlier candidate.
func Nearest(word string, candidates []string) (string, int) {
	best, bestD := "", 0
	for _, c := range candidates {
		if d := Distance(word, c); best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}
