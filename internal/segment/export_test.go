package segment

// CountSettings are the settings Count runs its query with.
const CountSettings = countSettings

// CountQuery exposes Count's SQL and arguments to the benchmark, for EXPLAIN ANALYZE.
func CountQuery(r Rule, topicID int64, purpose string) (string, []any) {
	q, err := CompileFrom(r, 3)
	if err != nil {
		panic(err)
	}
	return countPrefix + q.SQL + countSuffix, append([]any{topicID, purpose == PurposeMarketing}, q.Args...)
}
