package broker_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// The services of testdata/services.json.
const (
	redisService    = "0fdcc9c0-14f5-11e7-9d8c-cfde16aa4822"
	redisFree       = "13d21792-14f5-11e7-81cd-4357fa4eeda9"
	redisTiny       = "6a4a6bbc-0b8e-4e0e-9d3b-1a4b2c3d4e5f"
	postgresService = "ef761cec-14f7-11e7-8dfb-bbab51a4e12a"
	postgresFree    = "f30f03fa-14f7-11e7-8d86-cf0d7f2c3728"
	mysqlService    = "24736f4a-72b8-4298-96f7-b48c4045ddfd"
	mysqlFree       = "d42fc3cc-1341-4aa3-866e-01bc5243dc2e"
)

// harness is a broker on the test binary's dockerd with the catalog of testdata/services.json,
// and the requests a platform sends it.
type harness struct {
	*brokertest.Broker
	t testing.TB
}

func newHarness(t testing.TB, configure func(*broker.Config)) *harness {
	t.Helper()
	services, err := os.ReadFile("testdata/services.json")
	if err != nil {
		t.Fatal(err)
	}
	return startHarness(t, services, configure)
}

// startHarness is a broker with the catalog services (the JSON `services` array), on an engine
// that has the stand-in images of their plans (only those: all of them weigh gigabytes).
func startHarness(t testing.TB, services []byte, configure func(*broker.Config)) *harness {
	t.Helper()
	brokertest.LoadStandins(t, services)
	return &harness{Broker: brokertest.Start(t, services, configure), t: t}
}

// do sends an OSB request as a platform would and returns the status and body.
func (h *harness) do(method, path string, body any) (int, []byte) {
	h.t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.URL+path, reader)
	if err != nil {
		h.t.Fatal(err)
	}
	req.SetBasicAuth(brokertest.Username, brokertest.Password)
	req.Header.Set("X-Broker-API-Version", "2.17")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, data
}

func provisionBody(service, plan string) map[string]any {
	return map[string]any{
		"service_id": service, "plan_id": plan,
		"organization_guid": "org-1", "space_guid": "space-1",
		"context": map[string]any{"platform": "cloudfoundry", "organization_guid": "org-1", "space_guid": "space-1"},
	}
}

// provision provisions asynchronously and waits for the operation to succeed.
func (h *harness) provision(id, service, plan string) {
	h.t.Helper()
	status, body := h.do("PUT", "/v2/service_instances/"+id+"?accepts_incomplete=true", provisionBody(service, plan))
	if status != http.StatusAccepted {
		h.t.Fatalf("provision %s: %d %s", id, status, body)
	}
	if state, desc := h.waitOperation(id); state != "succeeded" {
		h.t.Fatalf("provision %s ended %s: %s\nbroker log:\n%s", id, state, desc, h.Logs)
	}
}

// waitOperation polls last_operation until the operation ends, and returns how.
func (h *harness) waitOperation(id string) (state, description string) {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		status, body := h.do("GET", "/v2/service_instances/"+id+"/last_operation", nil)
		if status == http.StatusGone {
			return "gone", ""
		}
		if status != http.StatusOK {
			h.t.Fatalf("last_operation of %s: %d %s", id, status, body)
		}
		var op struct{ State, Description string }
		if err := json.Unmarshal(body, &op); err != nil {
			h.t.Fatal(err)
		}
		if op.State != "in progress" {
			return op.State, op.Description
		}
		time.Sleep(200 * time.Millisecond)
	}
	h.t.Fatalf("operation on %s still in progress after 3 minutes", id)
	return "", ""
}

// creds is a binding's credentials as apps read them.
type creds struct {
	Hostname string            `json:"hostname"`
	Host     string            `json:"host"`
	Port     string            `json:"port"`
	Ports    map[string]string `json:"ports"`
	Username string            `json:"username"`
	Password string            `json:"password"`
	DBName   string            `json:"dbname"`
	URI      string            `json:"uri"`
}

// bind binds and returns the status and the credentials.
func (h *harness) bind(instanceID, bindingID, service, plan string) (int, creds) {
	h.t.Helper()
	status, body := h.do("PUT", "/v2/service_instances/"+instanceID+"/service_bindings/"+bindingID,
		map[string]any{"service_id": service, "plan_id": plan, "bind_resource": map[string]any{"app_guid": "app-1"}, "app_guid": "app-1"})
	if status != http.StatusCreated && status != http.StatusOK {
		h.t.Fatalf("bind %s: %d %s", bindingID, status, body)
	}
	var resp struct {
		Credentials creds `json:"credentials"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		h.t.Fatal(err)
	}
	return status, resp.Credentials
}

func (h *harness) deprovision(id, service, plan string, async bool) (int, []byte) {
	h.t.Helper()
	path := "/v2/service_instances/" + id + "?service_id=" + service + "&plan_id=" + plan
	if async {
		path += "&accepts_incomplete=true"
	}
	return h.do("DELETE", path, nil)
}
