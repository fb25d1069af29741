package segment

// CountSettings are the settings Count runs its query with.
const CountSettings = countSettings

// CountQuery exposes Count's SQL and arguments to the benchmark, for EXPLAIN ANALYZE:
// topicID is the id of topic.
func CountQuery(r Rule, topic string, topicID int64, purpose string) (string, []any) {
	q, args, err := countQuery(r, topic)
	if err != nil {
		panic(err)
	}
	return q, append([]any{topicID, purpose == PurposeMarketing}, args...)
}
