package brokertest

import (
	"net"
	"time"
)

// WaitAccepting returns once addr (host:port) has accepted TCP connections for hold without a
// refusal in between: the readiness a plan's port health check waits for, for benchmarks that
// compare the broker with the same container driven through the Engine API directly.
func WaitAccepting(addr string, hold time.Duration) {
	var passing time.Time
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		switch {
		case err != nil:
			passing = time.Time{}
		case passing.IsZero():
			passing = time.Now()
		}
		if err == nil {
			conn.Close()
			if time.Since(passing) >= hold {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
