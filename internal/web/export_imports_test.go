package web

import (
	"sync"
	"testing"

	"github.com/crierhq/crier/internal/contact"
)

// HoldImports makes the imports s starts from now on wait, each time they report
// progress, until release is called (at the latest when the test ends). held is closed
// when the first of them is waiting: its job page then shows the progress it reported.
func (s *Server) HoldImports(t testing.TB) (held <-chan struct{}, release func()) {
	gate, reached := make(chan struct{}), make(chan struct{})
	var gateOnce, reachedOnce sync.Once
	release = func() { gateOnce.Do(func() { close(gate) }) }
	t.Cleanup(release)
	s.imports.mu.Lock()
	defer s.imports.mu.Unlock()
	s.imports.hold = func(contact.Progress) {
		reachedOnce.Do(func() { close(reached) })
		<-gate
	}
	return reached, release
}
