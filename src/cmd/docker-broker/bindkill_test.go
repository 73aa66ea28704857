package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// TestBrokerKilledBetweenRecordAndAnswerLeavesNoUser kills the broker (SIGKILL) while a bind's
// create command runs, after it made the user: the platform never gets the credentials, so the
// restarted broker must drop that user (once the command, which outlives the broker, has
// ended) and forget the binding, and say so in its reconciliation report.
func TestBrokerKilledBetweenRecordAndAnswerLeavesNoUser(t *testing.T) {
	services := brokertest.Services(t, "services/op-redis74.yml")
	var doc []map[string]any
	if err := json.Unmarshal(services, &doc); err != nil {
		t.Fatal(err)
	}
	create := doc[0]["bindings"].(map[string]any)["create"].([]any)
	// The shipped command, then a mark that the user exists and a pause to kill the broker in.
	create[len(create)-1] = create[len(create)-1].(string) + "\ntouch /tmp/user-created\nsleep 2\n"
	services, _ = json.Marshal(doc)
	cat, _, err := catalog.Parse(services)
	if err != nil {
		t.Fatal(err)
	}
	service, plan := cat.Services[0].ID, cat.Services[0].Plans[0].ID
	p := startBrokerProcess(t, services)
	d := testenv.Docker(t)
	ctx := context.Background()

	const id = "kill-bind"
	status, body := p.request("PUT", "/v2/service_instances/"+id, map[string]any{"service_id": service, "plan_id": plan, "organization_guid": "o", "space_guid": "s"})
	if status != http.StatusCreated {
		t.Fatalf("provision: %d %s\n%s", status, body, p.log)
	}
	answered := make(chan int, 1)
	go func() {
		status, _ := p.request("PUT", "/v2/service_instances/"+id+"/service_bindings/b1", map[string]any{"service_id": service, "plan_id": plan})
		answered <- status
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := d.Shell(ctx, "cf-"+id, "test -e /tmp/user-created"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the create command never ran\n%s", p.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop(syscall.SIGKILL)
	if status := <-answered; status != 0 {
		t.Fatalf("the bind was answered (%d) before the kill: the test proves nothing", status)
	}
	users := func() string {
		out, err := d.Shell(ctx, "cf-"+id, `IFS= read -r REDISCLI_AUTH <"$REDIS_PASSWORD_FILE"; export REDISCLI_AUTH; echo 'ACL USERS' | redis-cli`)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := users(); !strings.Contains(got, "\n") {
		t.Fatalf("ACL users %q: the killed bind's user should exist before the restart", got)
	}

	p.start()
	deadline = time.Now().Add(30 * time.Second)
	for {
		status, body = p.request("GET", "/admin/reconciliation", nil)
		if status == http.StatusOK && strings.Contains(string(body), `"dropped_half_created_bindings":["`+id+`/b1"]`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the half-created binding is not reported as dropped: %d %s\n%s", status, body, p.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := users(); got != "default" {
		t.Errorf("ACL users %q after the restart: want only default", got)
	}
	if status, _ := p.request("GET", "/v2/service_instances/"+id+"/service_bindings/b1", nil); status != http.StatusNotFound {
		t.Errorf("the half-created binding: GET %d, want 404", status)
	}
	// The platform binds again (or unbinds: 410); binding again works.
	if status, body := p.request("PUT", "/v2/service_instances/"+id+"/service_bindings/b1", map[string]any{"service_id": service, "plan_id": plan}); status != http.StatusCreated {
		t.Errorf("bind after the restart: %d %s", status, body)
	}
}
