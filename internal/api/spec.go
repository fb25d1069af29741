package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"go.yaml.in/yaml/v3"
)

// OpenAPI is the API's OpenAPI 3 document, as written (YAML).
//
//go:embed openapi.yaml
var OpenAPI []byte

// specJSON is the document as JSON, made once at startup.
func specJSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("api: openapi.yaml as JSON: %w", err)
	}
	return b, nil
}

// handleSpec serves the OpenAPI document; it holds nothing secret, so no token is needed.
func (a *API) handleSpec(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(a.specJSON)
}
