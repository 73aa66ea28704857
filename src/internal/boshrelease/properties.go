package boshrelease

import "strings"

// lookup finds a dotted property name ("tls.cert") in nested maps. A null value counts as
// unset, as it does for a director: the spec's default then applies.
func lookup(m map[string]any, name string) (any, bool) {
	var node any = m
	for _, key := range strings.Split(name, ".") {
		branch, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		if node, ok = branch[key]; !ok || node == nil {
			return nil, false
		}
	}
	return node, true
}

// set stores value under a dotted name, creating the maps on the way.
func set(m map[string]any, name string, value any) {
	keys := strings.Split(name, ".")
	for _, key := range keys[:len(keys)-1] {
		next, ok := m[key].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[key] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = value
}
