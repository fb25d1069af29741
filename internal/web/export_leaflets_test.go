package web

import (
	"sync"
	"testing"
)

// HoldPrints makes the print runs s starts from now on wait, each time they report
// progress, until release is called (at the latest when the test ends). held is closed
// when the first of them is waiting: its job page then shows the progress it reported.
func (s *Server) HoldPrints(t testing.TB) (held <-chan struct{}, release func()) {
	gate, reached := make(chan struct{}), make(chan struct{})
	var gateOnce, reachedOnce sync.Once
	release = func() { gateOnce.Do(func() { close(gate) }) }
	t.Cleanup(release)
	hold := func(done, total int) {
		reachedOnce.Do(func() { close(reached) })
		<-gate
	}
	s.app.printHold.Store(&hold)
	return reached, release
}
