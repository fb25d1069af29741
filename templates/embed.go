// Package templates carries Crier's page and message templates inside the binary.
//
// Each channel keeps its templates in its own directory (email/, and later sms/,
// leaflet/, web/). Callers parse them from FS once, at startup.
package templates

import "embed"

// FS holds every template directory. To add a channel, add its directory to the
// go:embed line below; nothing else needs to change.
//
//go:embed email web leaflet
var FS embed.FS
