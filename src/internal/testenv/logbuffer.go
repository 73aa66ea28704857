package testenv

import (
	"bytes"
	"sync"
)

// LogBuffer collects what a program under test logs, from its goroutines and the test's, so
// that tests can assert on it (e.g. that no secret was ever logged).
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
