package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type sample struct {
	Port    int      `json:"port"`
	Timeout Duration `json:"timeout"`
	Nested  struct {
		Name string `json:"name"`
	} `json:"nested"`
}

func TestDecodeNamesTheProblem(t *testing.T) {
	for body, want := range map[string]string{
		`{"prot": 1}`:                  "prot: unknown field",
		`{"port": "80"}`:               "port: expected int",
		`{"timeout": "soon"}`:          `"soon" is not a duration`,
		`{"timeout": 30}`:              `written as a string such as "30s"`,
		`{"port": 1} {"port": 2}`:      "data after its JSON object",
		`{"nested": {"name": 5}}`:      "nested.name: expected string",
		`{"port": 1`:                   "not valid JSON",
		`{"nested": {"nmae": "typo"}}`: "nmae: unknown field",
	} {
		var s sample
		err := Decode([]byte(body), &s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	var s sample
	if err := Decode([]byte(`{"port": 8080, "timeout": "1m30s"}`), &s); err != nil || s.Port != 8080 || s.Timeout.D() != 90*time.Second {
		t.Errorf("valid config: %+v %v", s, err)
	}
}

func TestErrorsListEveryProblem(t *testing.T) {
	var errs Errors
	if errs.Err() != nil {
		t.Fatal("no problems must be no error")
	}
	errs.Add(Index("dns_servers", 1), "%q is not an IP address", "x")
	errs.Add("port", "must be positive")
	var out bytes.Buffer
	PrintProblems(&out, "cfg.json", errs.Err())
	want := "cfg.json: 2 problem(s):\n  dns_servers[1]: \"x\" is not an IP address\n  port: must be positive\n"
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestDurationRoundTrips(t *testing.T) {
	d := Duration(2 * time.Minute)
	data, err := d.MarshalJSON()
	if err != nil || string(data) != `"2m0s"` {
		t.Fatalf("%s %v", data, err)
	}
	var back Duration
	if err := back.UnmarshalJSON(data); err != nil || back != d {
		t.Errorf("%v %v", back, err)
	}
}

func TestErrandOfTellsTheErrandsConfigsApart(t *testing.T) {
	for data, want := range map[string]string{
		`{"errand": "orphan-report", "broker": {}}`:                    "orphan-report",
		`{"cf": {"api_url": "https://api.example.com"}, "broker": {}}`: "", // the registrar's
		`not json`: "",
	} {
		if got := ErrandOf([]byte(data)); got != want {
			t.Errorf("ErrandOf(%s) = %q, want %q", data, got, want)
		}
	}
}
