package broker

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
)

// Parameters that are an object but do not decode are refused saying why, never with "must
// be a JSON object" to a user who sent one.
func TestParametersThatDoNotDecodeSayWhy(t *testing.T) {
	cases := []struct{ raw, want string }{
		{`{"n":1e400}`, "parameters.n: number 1e400 is out of range"},
		{`{"REDIS_MAXMEMORY":"64mb","limits":{"max":[1,-1e999]}}`, "parameters.limits.max[1]: number -1e999 is out of range"},
		{`["REDIS_MAXMEMORY"]`, "parameters must be a JSON object"},
		{`"64mb"`, "parameters must be a JSON object"},
	}
	for _, c := range cases {
		for _, update := range []bool{false, true} {
			_, err := validParameters(catalog.Plan{}, json.RawMessage(c.raw), update)
			wantError(t, err, http.StatusBadRequest, "")
			if got := err.Error(); got != "400: "+c.want {
				t.Errorf("%s (update %v): %q, want %q", c.raw, update, got, "400: "+c.want)
			}
		}
	}

	// And so the platform hears it, for a provision and an update, before anything starts.
	e := newEnv(t, nil)
	req := provisionReq("i1", svcRedis, planTiny, true)
	req.Parameters = json.RawMessage(`{"REDIS_MAXMEMORY":1e400}`)
	_, err := e.provision(req)
	wantError(t, err, http.StatusBadRequest, "", "parameters.REDIS_MAXMEMORY: number 1e400 is out of range")
	if n := e.engine.containerCount(); n != 0 {
		t.Fatalf("a refused provision left %d containers", n)
	}
	e.mustProvision("i2", svcRedis, planTiny, `{"REDIS_MAXMEMORY":"64mb"}`)
	_, err = e.update("i2", "", `{"REDIS_MAXMEMORY":-1e400}`, true)
	wantError(t, err, http.StatusBadRequest, "", "parameters.REDIS_MAXMEMORY: number -1e400 is out of range")
}
