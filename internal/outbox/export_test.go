package outbox

// The hot path's statements, for the plan test.
var HotStatements = map[string]string{"handed": handedSQL, "record": recordSQL, "complete sent": completeSentSQL, "hand steps": handStepsSQL}
