package catalog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// redisSchemas is a plan's `schemas` as an operator writes it: the platform shows it to users.
const redisSchemas = `{
  "service_instance": {
    "create": {"parameters": {
      "$schema": "http://json-schema.org/draft-04/schema#",
      "type": "object",
      "properties": {
        "MAXMEMORY_POLICY": {"type": "string", "enum": ["noeviction", "allkeys-lru"], "description": "eviction policy"},
        "DATABASES": {"type": "integer", "minimum": 1, "maximum": 64},
        "RATIO": {"type": "number", "maximum": 1},
        "APPENDONLY": {"type": "boolean"},
        "LABEL": {"type": "string", "minLength": 2, "maxLength": 8, "pattern": "^[a-z]+$"}
      },
      "required": ["DATABASES"]
    }},
    "update": {"parameters": {
      "$schema": "http://json-schema.org/draft-04/schema#",
      "type": "object",
      "properties": {"MAXMEMORY_POLICY": {"type": "string", "enum": ["noeviction", "allkeys-lru"]}}
    }}
  }
}`

func osbFixture(t *testing.T) json.RawMessage {
	return edited(t, map[string]any{
		"0.plan_updateable":                  false,
		"0.tags":                             []any{"redis"},
		"0.metadata":                         map[string]any{"displayName": "Redis", "shareable": true},
		"0.dashboard_client":                 map[string]any{"id": "redis-sso", "secret": "s3cret", "redirect_uri": "https://broker.example.com/manage/auth"},
		"0.plans.0.schemas":                  json.RawMessage(redisSchemas),
		"0.plans.0.maintenance_info":         map[string]any{"version": "1.2.3-rc.1+build.5", "description": "Redis 7.2"},
		"0.plans.0.maximum_polling_duration": 1800,
		"0.plans.0.bindable":                 false,
		"0.plans.0.container.environment":    []any{"SECRET_SAUCE=42"},
		"0.plans.0.health_check":             map[string]any{"tcp_port": "6379"},
		"0.plans.0.max_containers":           3,
		"1.plan_updateable":                  true,
		"1.dashboard_client":                 map[string]any{"id": "pg-sso", "secret": "pg-secret"},
	})
}

func TestMarshalOSB(t *testing.T) {
	c, _ := mustParse(t, osbFixture(t))
	body, err := c.MarshalOSB()
	if err != nil {
		t.Fatal(err)
	}
	var catalog struct {
		Services []map[string]json.RawMessage `json:"services"`
	}
	if err := json.Unmarshal(body, &catalog); err != nil {
		t.Fatal(err)
	}
	redis, postgres := catalog.Services[0], catalog.Services[1]
	for field, want := range map[string]string{
		"instances_retrievable": "true",
		"bindings_retrievable":  "true",
		"bindable":              "true",
		"plan_updateable":       "false",
		"tags":                  `["redis"]`,
		"metadata":              `{"displayName":"Redis","shareable":true}`,
		"dashboard_client":      `{"id":"redis-sso","secret":"s3cret","redirect_uri":"https://broker.example.com/manage/auth"}`,
	} {
		if got := string(redis[field]); got != want {
			t.Errorf("service %s = %s, want %s", field, got, want)
		}
	}
	if got := string(postgres["plan_updateable"]); got != "true" {
		t.Errorf("plan_updateable = %s where the service sets it", got)
	}
	if _, ok := postgres["dashboard_client"]; ok {
		t.Error("a dashboard client without redirect_uri makes Cloud Foundry refuse the catalog")
	}
	for _, absent := range []string{"requires", "allow_context_updates"} {
		if _, ok := redis[absent]; ok {
			t.Errorf("empty %s emitted", absent)
		}
	}

	var plans []map[string]json.RawMessage
	if err := json.Unmarshal(redis["plans"], &plans); err != nil {
		t.Fatal(err)
	}
	plan := plans[0]
	var compactSchemas bytes.Buffer
	if err := json.Compact(&compactSchemas, []byte(redisSchemas)); err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{
		"id":                       `"plan-a"`,
		"free":                     "true",
		"bindable":                 "false",
		"schemas":                  compactSchemas.String(),
		"maintenance_info":         `{"version":"1.2.3-rc.1+build.5","description":"Redis 7.2"}`,
		"maximum_polling_duration": "1800",
	} {
		if got := string(plan[field]); got != want {
			t.Errorf("plan %s = %s, want %s", field, got, want)
		}
	}
	if _, ok := plan["plan_updateable"]; ok {
		t.Error("plan_updateable emitted for a plan that does not override it")
	}
	for _, private := range []string{"container", "credentials", "health_check", "max_containers", "syslog_drain_port",
		"example/redis", "REDIS_PASSWORD", "SECRET_SAUCE", "6379"} {
		if strings.Contains(string(body), private) {
			t.Errorf("the catalog reveals %q", private)
		}
	}
}

func TestMarshalOSBIsDeterministic(t *testing.T) {
	first, _ := mustParse(t, osbFixture(t))
	second, _ := mustParse(t, osbFixture(t))
	a, errA := first.MarshalOSB()
	b, errB := second.MarshalOSB()
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Errorf("two renderings differ:\n%s\n%s", a, b)
	}
}

func TestMarshalOSBOfAnEmptyCatalog(t *testing.T) {
	body, err := (&Catalog{}).MarshalOSB()
	if err != nil || string(body) != `{"services":[]}` {
		t.Errorf("%s, %v", body, err)
	}
}

func TestMarshalOSBOptionalServiceFields(t *testing.T) {
	c, warnings := mustParse(t, edited(t, map[string]any{
		"0.allow_context_updates": true,
		"0.requires":              []any{"syslog_drain"},
		"0.dashboard_client":      map[string]any{"id": "", "secret": ""},
	}))
	if c.Services[0].DashboardClient != nil || len(warnings) != 0 {
		t.Errorf("an empty dashboard client must vanish quietly: %+v, %q", c.Services[0].DashboardClient, warnings)
	}
	body, err := c.MarshalOSB()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"requires":["syslog_drain"],"bindable":true,"instances_retrievable":true,"bindings_retrievable":true,"allow_context_updates":true,"plan_updateable":false`) {
		t.Errorf("service fields missing or out of order:\n%s", body)
	}
}
