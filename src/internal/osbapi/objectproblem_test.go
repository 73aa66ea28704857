package osbapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// ObjectProblem tells a user who sent an object why it could not be decoded, instead of
// asking for an object: for a number no float64 holds, which one and where.
func TestObjectProblemSaysWhy(t *testing.T) {
	long := "1" + strings.Repeat("0", 400)
	cases := []struct {
		raw, want string
	}{
		{`[]`, "parameters must be a JSON object"},
		{` "x"`, "parameters must be a JSON object"},
		{`{"n":1e400}`, "parameters.n: number 1e400 is out of range"},
		{` {"n":-1E+400}`, "parameters.n: number -1E+400 is out of range"},
		{`{"a":{"b":[1,-1e400]}}`, "parameters.a.b[1]: number -1e400 is out of range"},
		{`{"a":[1,{"x":[]}],"b":{"c":1,"d":"1e400"},"e":[[],[true,null,1e999]]}`, "parameters.e[1][2]: number 1e999 is out of range"},
		{`{"a b":[{"x.y":1e999}]}`, `parameters["a b"][0]["x.y"]: number 1e999 is out of range`},
		{`{"big":` + long + `}`, "parameters.big: number " + long[:32] + "... (401 characters) is out of range"},
	}
	for _, c := range cases {
		var params map[string]any
		err := json.Unmarshal([]byte(c.raw), &params)
		if err == nil {
			t.Fatalf("%s decodes", c.raw)
		}
		got := osbapi.ObjectProblem("parameters", json.RawMessage(c.raw), err)
		if got.Status != http.StatusBadRequest || got.Description != c.want {
			t.Errorf("%s: %d %q, want 400 %q", c.raw, got.Status, got.Description, c.want)
		}
	}
	// An object that fails for another reason: what the decoder said.
	var typed struct{ N int }
	err := json.Unmarshal([]byte(`{"N":1.5}`), &typed)
	got := osbapi.ObjectProblem("context", json.RawMessage(`{"N":1.5}`), err)
	if got.Status != http.StatusBadRequest || !strings.HasPrefix(got.Description, "context: ") || !strings.Contains(got.Description, "1.5") {
		t.Errorf("type mismatch: %d %q, want 400 naming context and the decoder's error", got.Status, got.Description)
	}
}

// The HTTP layer only asks for an object; what is inside (numbers of any size included) is
// the broker's to judge, and reaches it as sent.
func TestObjectsWithHugeNumbersReachTheBroker(t *testing.T) {
	const params = `{"n":1e400,"m":[-1e999]}`
	for _, name := range []string{"provision", "update", "bind"} {
		e := endpointNamed(t, name)
		h := newHarness(t)
		resp := h.do(e.method, e.defaultPath(), strings.TrimSuffix(e.body, "}")+`,"parameters":`+params+`,"context":`+params+`}`)
		assertStatus(t, resp, e.ok)
		var got json.RawMessage
		switch r := h.onlyCall(e.brokerMethod).Req.(type) {
		case osbapi.ProvisionRequest:
			got = r.Parameters
		case osbapi.UpdateRequest:
			got = r.Parameters
		case osbapi.BindRequest:
			got = r.Parameters
		}
		if string(got) != params {
			t.Errorf("%s: broker got parameters %s, want %s", name, got, params)
		}
	}
}
