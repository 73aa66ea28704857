package catalog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// parsePort normalises a container port written `port[/proto]` to Docker's "6379/tcp" form,
// which is also the key of the `ports` credential users already read.
func parsePort(text string) (string, error) {
	number, proto, hasProto := strings.Cut(strings.TrimSpace(text), "/")
	proto = strings.ToLower(proto)
	if !hasProto {
		proto = "tcp"
	}
	n, err := strconv.Atoi(number)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: the port must be a number from 1 to 65535, written port[/proto] such as 6379/tcp", text)
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return "", fmt.Errorf("%q: unknown protocol %q, use tcp, udp or sctp", text, proto)
	}
	return strconv.Itoa(n) + "/" + proto, nil
}

// portAt reads a port written as a string or, since an unquoted YAML 5432 is a number, as a number.
func (r *reader) portAt(path string, raw json.RawMessage) (string, bool) {
	text, ok := r.numberTextAt(path, raw)
	if !ok {
		return "", false
	}
	port, err := parsePort(text)
	if err != nil {
		r.problem(path, "%v", err)
		return "", false
	}
	return port, true
}

// port reads the optional port at key; "" when absent or invalid (then with a problem).
func (o *object) port(key string) string {
	raw, ok := o.value(key)
	if !ok {
		return ""
	}
	port, _ := o.r.portAt(o.at(key), raw)
	return port
}
