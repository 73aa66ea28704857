package catalog

import (
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

const (
	defaultHealthTimeout  = config.Duration(120 * time.Second)
	defaultHealthInterval = config.Duration(time.Second)
	defaultHealthHold     = config.Duration(time.Second)
)

// parseHealthCheck reads a plan's `health_check`; o is nil when the plan has none, which
// still gives the defaults.
func parseHealthCheck(o *object) HealthCheck {
	h := HealthCheck{Timeout: defaultHealthTimeout, Interval: defaultHealthInterval, Hold: defaultHealthHold}
	if o == nil {
		return h
	}
	h.TCPPort = o.port("tcp_port")
	h.Command = o.words("command")
	if h.TCPPort != "" && !strings.HasSuffix(h.TCPPort, "/tcp") {
		o.r.problem(o.at("tcp_port"), "%s: a health check connects over TCP, use a /tcp port", h.TCPPort)
	}
	if h.TCPPort != "" && len(h.Command) > 0 {
		o.r.problem(o.path, "set tcp_port or command, not both")
	}
	h.Timeout = o.duration("timeout", h.Timeout)
	h.Interval = o.duration("interval", h.Interval)
	h.Hold = o.duration("hold", h.Hold)
	if h.Hold >= h.Timeout {
		o.r.problem(o.at("hold"), "%v is not shorter than the timeout %v", h.Hold.D(), h.Timeout.D())
	}
	if h.Interval > h.Timeout {
		o.r.problem(o.at("interval"), "%v is longer than the timeout %v", h.Interval.D(), h.Timeout.D())
	}
	o.warnUnknown()
	return h
}

// duration reads a positive duration such as "30s".
func (o *object) duration(key string, fallback config.Duration) config.Duration {
	raw, ok := o.value(key)
	if !ok {
		return fallback
	}
	var d config.Duration
	if err := d.UnmarshalJSON(raw); err != nil {
		o.r.problem(o.at(key), "%v", err)
		return fallback
	}
	if d <= 0 {
		o.r.problem(o.at(key), "%v: must be longer than zero", d.D())
		return fallback
	}
	return d
}
