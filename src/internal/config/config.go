// Package config holds what the programs' JSON config files have in common: strict decoding,
// durations written as "30s", and validation errors that name the field's path and say what
// is expected, so that `check-config` can list every problem of a file at once.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"
)

// Load reads the JSON file at path into dst. Unknown fields are refused: in an operator's
// file they are typos, and a silently ignored typo is a setting that never takes effect.
func Load(path string, dst any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	return Decode(data, dst)
}

// Decode is Load for bytes already read.
func Decode(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return fmt.Errorf("%s: expected %s, found a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("%s: unknown field; check its spelling against the job spec", strings.Trim(name, `"`))
		}
		return fmt.Errorf("config is not valid JSON: %w", err)
	}
	if dec.More() {
		return errors.New("config has data after its JSON object")
	}
	return nil
}

// FieldError is one problem with one field: Path is the field's path in the file
// ("tcp.tls.ca_cert", "services[2].plans[0].container.memory").
type FieldError struct {
	Path    string
	Problem string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Problem }

// Errors collects the problems of one file. Its zero value is ready to use.
type Errors []FieldError

// Add records a problem with the field at path.
func (e *Errors) Add(path, format string, args ...any) {
	*e = append(*e, FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
}

// Index is the path of item i of the list at path: Index("dns_servers", 2) is "dns_servers[2]".
func Index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// Err returns nil when there is no problem, else the collection as one error.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Duration is a time.Duration written in JSON as a Go duration string: "500ms", "30s", "2m".
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalJSON accepts a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is written as a string such as \"30s\", not %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"30s\" or \"2m\"", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string, so that a config written by a program reads back.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// PrintProblems writes the problems of the config file at path, one per line, for check-config
// and for a program that refuses to start.
func PrintProblems(w io.Writer, path string, err error) {
	var errs Errors
	if !errors.As(err, &errs) {
		fmt.Fprintf(w, "%s: %v\n", path, err)
		return
	}
	fmt.Fprintf(w, "%s: %d problem(s):\n", path, len(errs))
	for _, e := range errs {
		fmt.Fprintf(w, "  %s\n", e.Error())
	}
}

// Require adds a problem at path when value is blank; what says what the field holds.
func Require(errs *Errors, path, value, what string) {
	if strings.TrimSpace(value) == "" {
		errs.Add(path, "is required: %s", what)
	}
}

// CheckURL adds a problem at path unless raw is an http(s) URL with a host and without
// credentials (they have fields of their own, which logs do not print).
func CheckURL(errs *Errors, path, raw string) {
	if raw == "" {
		errs.Add(path, "is required")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add(path, "%q is not an http(s) URL such as https://api.example.com or http://10.0.0.5:8080", raw)
		return
	}
	if u.User != nil {
		errs.Add(path, "must not hold credentials: set them in their own fields")
	}
}

// The errands share one program and one check-config. Every errand's config file but the
// registrar's (which came first, and which operators may have written by hand) names its
// errand in an `errand` key, by which check-config tells them apart.

// ErrandOf returns the `errand` key of the JSON config data, "" when it has none or is no
// JSON object.
func ErrandOf(data []byte) string {
	var head struct {
		Errand string `json:"errand"`
	}
	_ = json.Unmarshal(data, &head) // a file that is no JSON has no errand: its loader says what is wrong
	return head.Errand
}

// CheckErrand adds a problem at "errand" unless got is the errand want.
func CheckErrand(errs *Errors, got, want string) {
	if got != want {
		errs.Add("errand", "%q: must be %q in the %s errand's config", got, want, want)
	}
}
