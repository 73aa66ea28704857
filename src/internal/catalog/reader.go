package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// reader walks the services JSON one value at a time, so that every problem is reported with
// its path and all of them at once, instead of stopping at the first as encoding/json does.
// Values stay json.RawMessage until a field is read, which keeps plan schemas verbatim.
type reader struct {
	errs     config.Errors
	warnings []string
}

func (r *reader) problem(path, format string, args ...any) {
	r.errs.Add(path, format, args...)
}

func (r *reader) warn(path, format string, args ...any) {
	r.warnings = append(r.warnings, path+": "+fmt.Sprintf(format, args...))
}

// isAbsent says whether a value is missing or null: BOSH renders an unset optional property as null.
func isAbsent(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) == 0 || string(trimmed) == "null"
}

// kindOf names the JSON type of a value for messages.
func kindOf(raw json.RawMessage) string {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return "nothing"
	}
	switch trimmed[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "the number " + string(trimmed)
	}
}

// isList says whether raw is a JSON array.
func isList(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) > 0 && trimmed[0] == '['
}

// isObject says whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) > 0 && trimmed[0] == '{'
}

// isNumber says whether raw is a JSON number literal.
func isNumber(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) > 0 && (trimmed[0] == '-' || trimmed[0] >= '0' && trimmed[0] <= '9')
}

func (r *reader) stringAt(path string, raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		if isNumber(raw) {
			// YAML turns an unquoted 9.6 into a number, and 3.10 into 3.1: only quoting keeps it.
			r.problem(path, "expected a string, found %s: quote it in the ops file", kindOf(raw))
		} else {
			r.problem(path, "expected a string, found %s", kindOf(raw))
		}
		return "", false
	}
	return s, true
}

// numberTextAt returns the digits of a whole number written either as a JSON number or as a
// string: BOSH ops files often quote numbers ('8', '512').
func (r *reader) numberTextAt(path string, raw json.RawMessage) (string, bool) {
	if isNumber(raw) {
		return string(bytes.TrimSpace(raw)), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		r.problem(path, "expected a number, found %s", kindOf(raw))
		return "", false
	}
	return strings.TrimSpace(s), true
}

// wholeNumberAt reads an integer written as a JSON number or as a numeric string.
func (r *reader) wholeNumberAt(path string, raw json.RawMessage) (int64, bool) {
	text, ok := r.numberTextAt(path, raw)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		r.problem(path, "%q: expected a whole number", text)
		return 0, false
	}
	return n, true
}

func (r *reader) itemsAt(path string, raw json.RawMessage) []json.RawMessage {
	if isAbsent(raw) {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		r.problem(path, "expected a list, found %s", kindOf(raw))
		return nil
	}
	return items
}

// objectAt reads an object; nil when raw is absent or not an object (then with a problem).
func (r *reader) objectAt(path string, raw json.RawMessage) *object {
	if isAbsent(raw) {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		r.problem(path, "expected an object, found %s", kindOf(raw))
		return nil
	}
	return &object{r: r, path: path, fields: fields, asked: map[string]bool{}}
}

// object is one JSON object of the config. It remembers which keys were asked for, so that
// the others can be reported: the original service files carry keys (and typos) that must not
// stop them from loading, but an operator should still hear about them.
type object struct {
	r      *reader
	path   string
	fields map[string]json.RawMessage
	asked  map[string]bool
}

// at is the path of the field key.
func (o *object) at(key string) string {
	return o.path + "." + key
}

// value returns the field key; false when it is missing or null.
func (o *object) value(key string) (json.RawMessage, bool) {
	o.asked[key] = true
	raw, ok := o.fields[key]
	if !ok || isAbsent(raw) {
		return nil, false
	}
	return raw, true
}

func (o *object) str(key string) string {
	raw, ok := o.value(key)
	if !ok {
		return ""
	}
	s, _ := o.r.stringAt(o.at(key), raw)
	return s
}

func (o *object) requiredStr(key string) string {
	raw, ok := o.value(key)
	if !ok {
		o.r.problem(o.at(key), "required")
		return ""
	}
	s, ok := o.r.stringAt(o.at(key), raw)
	if ok && strings.TrimSpace(s) == "" {
		o.r.problem(o.at(key), "required, found an empty string")
	}
	return s
}

func (o *object) optionalBool(key string) *bool {
	raw, ok := o.value(key)
	if !ok {
		return nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		o.r.problem(o.at(key), "expected true or false, found %s", kindOf(raw))
		return nil
	}
	return &b
}

func (o *object) boolean(key string, fallback bool) bool {
	if b := o.optionalBool(key); b != nil {
		return *b
	}
	return fallback
}

// count reads a non-negative whole number, 0 when absent.
func (o *object) count(key string) int {
	raw, ok := o.value(key)
	if !ok {
		return 0
	}
	n, ok := o.r.wholeNumberAt(o.at(key), raw)
	if !ok {
		return 0
	}
	if n < 0 || n > 1<<31-1 {
		o.r.problem(o.at(key), "%d: expected a number from 0 up", n)
		return 0
	}
	return int(n)
}

func (o *object) strs(key string) []string {
	var list []string
	for _, item := range o.stringItems(key) {
		list = append(list, item.text)
	}
	return list
}

// listItem is a string of a list with its path, for checks that report the item.
type listItem struct {
	path, text string
}

// stringItems reads a list of strings; items that are not strings are reported and left out.
func (o *object) stringItems(key string) []listItem {
	raw, ok := o.value(key)
	if !ok {
		return nil
	}
	var items []listItem
	for i, item := range o.r.itemsAt(o.at(key), raw) {
		path := config.Index(o.at(key), i)
		if s, ok := o.r.stringAt(path, item); ok {
			items = append(items, listItem{path: path, text: s})
		}
	}
	return items
}

func (o *object) child(key string) *object {
	raw, ok := o.value(key)
	if !ok {
		return nil
	}
	return o.r.objectAt(o.at(key), raw)
}

// children reads a list of objects; items that are not objects are reported and left out.
func (o *object) children(key string) []*object {
	raw, ok := o.value(key)
	if !ok {
		return nil
	}
	var list []*object
	for i, item := range o.r.itemsAt(o.at(key), raw) {
		path := config.Index(o.at(key), i)
		if isAbsent(item) {
			o.r.problem(path, "expected an object, found null")
			continue
		}
		if child := o.r.objectAt(path, item); child != nil {
			list = append(list, child)
		}
	}
	return list
}

// freeForm reads an object the broker only passes on (metadata).
func (o *object) freeForm(key string) map[string]any {
	raw, ok := o.value(key)
	if !ok {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		o.r.problem(o.at(key), "expected an object, found %s", kindOf(raw))
		return nil
	}
	return m
}

// keys lists, sorted, every key of an object whose keys are names chosen by the operator
// (schema properties), and counts them all as known.
func (o *object) keys() []string {
	keys := make([]string, 0, len(o.fields))
	for key := range o.fields {
		o.asked[key] = true
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

// ignore counts keys as known without reading them.
func (o *object) ignore(keys ...string) {
	for _, key := range keys {
		o.asked[key] = true
	}
}

// unaskedKeys lists, sorted, the keys nobody asked for.
func (o *object) unaskedKeys() []string {
	var keys []string
	for key := range o.fields {
		if !o.asked[key] {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys
}

// warnUnknown reports each key the schema does not know, with the keys it does know here, which
// is usually enough to spot a typo.
func (o *object) warnUnknown() {
	unknown := o.unaskedKeys()
	if len(unknown) == 0 {
		return
	}
	known := make([]string, 0, len(o.asked))
	for key := range o.asked {
		known = append(known, key)
	}
	slices.Sort(known)
	for _, key := range unknown {
		o.r.warn(o.at(key), "unknown key, ignored (known here: %s)", strings.Join(known, ", "))
	}
}
