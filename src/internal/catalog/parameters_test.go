package catalog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

func schemaPlan(t *testing.T) Plan {
	t.Helper()
	c, _ := mustParse(t, edited(t, map[string]any{"0.plans.0.schemas": json.RawMessage(redisSchemas)}))
	return c.Services[0].Plans[0]
}

func TestValidateParametersAccepts(t *testing.T) {
	plan := schemaPlan(t)
	for _, params := range []map[string]any{
		{"DATABASES": float64(16)},
		{"DATABASES": 1, "MAXMEMORY_POLICY": "allkeys-lru", "APPENDONLY": true, "RATIO": 0.5, "LABEL": "cache"},
		{"DATABASES": json.Number("64"), "RATIO": json.Number("1")},
		{"DATABASES": 2.0},
	} {
		if err := plan.ValidateParameters(params, false); err != nil {
			t.Errorf("%v refused: %v", params, err)
		}
	}
	for _, params := range []map[string]any{nil, {}, {"MAXMEMORY_POLICY": "noeviction"}} {
		if err := plan.ValidateParameters(params, true); err != nil {
			t.Errorf("update %v refused: %v", params, err)
		}
	}
}

func TestValidateParametersRefuses(t *testing.T) {
	plan := schemaPlan(t)
	tests := []struct {
		params    map[string]any
		update    bool
		parameter string
		fragment  string
	}{
		{map[string]any{}, false, "DATABASES", "required"},
		{map[string]any{"DATABASES": 1, "EXTRA": "x"}, false, "EXTRA", "not a parameter of this plan, which accepts: APPENDONLY, DATABASES, LABEL, MAXMEMORY_POLICY, RATIO"},
		{map[string]any{"DATABASES": "16"}, false, "DATABASES", "must be an integer"},
		{map[string]any{"DATABASES": 1.5}, false, "DATABASES", "must be an integer"},
		{map[string]any{"DATABASES": 0}, false, "DATABASES", "must be at least 1"},
		{map[string]any{"DATABASES": json.Number("65")}, false, "DATABASES", "must be at most 64"},
		{map[string]any{"DATABASES": 1, "RATIO": 1.01}, false, "RATIO", "must be at most 1"},
		{map[string]any{"DATABASES": 1, "RATIO": "half"}, false, "RATIO", "must be a number"},
		{map[string]any{"DATABASES": 1, "APPENDONLY": "yes"}, false, "APPENDONLY", "must be true or false"},
		{map[string]any{"DATABASES": 1, "MAXMEMORY_POLICY": "volatile-lru"}, false, "MAXMEMORY_POLICY", `must be one of "noeviction", "allkeys-lru"`},
		{map[string]any{"DATABASES": 1, "LABEL": "a"}, false, "LABEL", "at least 2 characters"},
		{map[string]any{"DATABASES": 1, "LABEL": "abcdefghi"}, false, "LABEL", "at most 8 characters"},
		{map[string]any{"DATABASES": 1, "LABEL": "Cache"}, false, "LABEL", "must match ^[a-z]+$"},
		{map[string]any{"DATABASES": 1, "LABEL": nil}, false, "LABEL", "must be a string"},
		{map[string]any{"DATABASES": 1, "LABEL": map[string]any{"x": 1}}, false, "LABEL", "must be a string"},
		{map[string]any{"DATABASES": 2}, true, "DATABASES", "not a parameter of this plan, which accepts: MAXMEMORY_POLICY"},
	}
	for _, tt := range tests {
		err := plan.ValidateParameters(tt.params, tt.update)
		var errs config.Errors
		if !errors.As(err, &errs) {
			t.Errorf("%v (update %v): error %v, want %s: ...%s...", tt.params, tt.update, err, tt.parameter, tt.fragment)
			continue
		}
		found := false
		for _, e := range errs {
			found = found || e.Path == tt.parameter && strings.Contains(e.Problem, tt.fragment)
		}
		if !found {
			t.Errorf("%v (update %v): got\n%v\nwant %s: ...%s...", tt.params, tt.update, err, tt.parameter, tt.fragment)
		}
	}
}

func TestValidateParametersReportsEveryParameter(t *testing.T) {
	err := schemaPlan(t).ValidateParameters(map[string]any{"LABEL": 7, "NAME": "x"}, false)
	want := "LABEL: must be a string\nNAME: not a parameter of this plan, which accepts: APPENDONLY, DATABASES, LABEL, MAXMEMORY_POLICY, RATIO\nDATABASES: required"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestPlanWithoutSchemaAcceptsNoParameters(t *testing.T) {
	c, _ := mustParse(t, json.RawMessage(baseCatalog))
	plan := c.Services[0].Plans[0]
	if err := plan.ValidateParameters(nil, false); err != nil {
		t.Errorf("no parameters refused: %v", err)
	}
	err := plan.ValidateParameters(map[string]any{"REDIS_PASSWORD": "mine"}, false)
	if err == nil || err.Error() != "this plan accepts no parameters; the operator declares them in the plan's schemas" {
		t.Errorf("got %v", err)
	}
	createOnly, _ := mustParse(t, edited(t, map[string]any{"0.plans.0.schemas": json.RawMessage(redisSchemas),
		"0.plans.0.schemas.service_instance.update": remove}))
	err = createOnly.Services[0].Plans[0].ValidateParameters(map[string]any{"MAXMEMORY_POLICY": "noeviction"}, true)
	if err == nil || !strings.Contains(err.Error(), "accepts no parameters on update") {
		t.Errorf("update without an update schema: %v", err)
	}
}

func TestHandBuiltPlanWithABadSchemaChecksNothing(t *testing.T) {
	plan := Plan{Schemas: json.RawMessage(`{"service_instance": {"create": {"parameters": {"type": "object",
		"properties": {"X": {"type": "array"}}}}}}`)}
	err := plan.ValidateParameters(map[string]any{"X": []any{}}, false)
	if err == nil || !strings.Contains(err.Error(), "the plan's schemas are invalid") || !strings.Contains(err.Error(), "unsupported type") {
		t.Errorf("got %v", err)
	}
}
