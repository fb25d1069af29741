package outbox

// The hot path's statements, for the plan test.
var HotStatements = map[string]string{"claim": claimSQL, "handed": handedSQL, "record": recordSQL, "complete sent": completeSentSQL, "hand steps": handStepsSQL}
