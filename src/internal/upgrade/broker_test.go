package upgrade

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// scriptedBroker answers as a broker's HTTP API would: a catalog with plan p1 at 1.0.1, the
// instances of /admin/instances, and each PATCH with the next scripted status and body.
type scriptedBroker struct {
	instances string
	mu        sync.Mutex
	patches   []osbapi.UpdateRequest
	answers   []answer
}

type answer struct {
	status int
	body   string
}

func (s *scriptedBroker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v2/catalog":
		_, _ = io.WriteString(w, `{"services":[{"id":"s1","name":"redis","plans":[
			{"id":"p1","name":"small","maintenance_info":{"version":"1.0.1"}},{"id":"p2","name":"old"}]}]}`)
	case r.Method == http.MethodGet && r.URL.Path == "/admin/instances":
		_, _ = io.WriteString(w, s.instances)
	case r.Method == http.MethodPatch:
		var req osbapi.UpdateRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		req.InstanceID = r.URL.Path
		s.mu.Lock()
		s.patches = append(s.patches, req)
		answer := s.answers[0]
		s.answers = s.answers[1:]
		s.mu.Unlock()
		w.WriteHeader(answer.status)
		_, _ = io.WriteString(w, answer.body)
	default:
		http.NotFound(w, r)
	}
}

func serveScripted(t *testing.T, s *scriptedBroker) Broker {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return Broker{Client: osbclient.New(osbclient.Config{URL: srv.URL, Username: "broker", Password: "secret", PollInterval: time.Millisecond})}
}

// Outdated lists the provisioned instances of plans with a maintenance_info whose version is
// not their plan's, an instance without a version too.
func TestBrokerListsTheInstancesBehindTheirPlan(t *testing.T) {
	b := serveScripted(t, &scriptedBroker{instances: `{"instances":[
		{"id":"behind","service_id":"s1","plan_id":"p1","maintenance_info":{"version":"1.0.0"},"provisioned":true},
		{"id":"current","service_id":"s1","plan_id":"p1","maintenance_info":{"version":"1.0.1"},"provisioned":true},
		{"id":"none","service_id":"s1","plan_id":"p1","provisioned":true},
		{"id":"provisioning","service_id":"s1","plan_id":"p1","provisioned":false},
		{"id":"no-maintenance","service_id":"s1","plan_id":"p2","provisioned":true},
		{"id":"unknown-plan","service_id":"s1","plan_id":"p9","provisioned":true}]}`})
	got, err := b.Outdated(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Instance{
		{ID: "behind", Name: "behind", Service: "redis", Plan: "small", ServiceID: "s1", PlanID: "p1", From: "1.0.0", To: "1.0.1"},
		{ID: "none", Name: "none", Service: "redis", Plan: "small", ServiceID: "s1", PlanID: "p1", To: "1.0.1"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("outdated %+v, want %+v", got, want)
	}
}

// Upgrade sends the update Cloud Controller sends for cf upgrade-service; a busy instance
// (422 ConcurrencyError) and a broker error (5xx) are retryable, a refusal is not.
func TestBrokerUpgradeIsAnOSBUpdateAndABusyInstanceIsRetryable(t *testing.T) {
	s := &scriptedBroker{answers: []answer{
		{http.StatusUnprocessableEntity, `{"error":"ConcurrencyError","description":"instance i1 is busy with a provision operation"}`},
		{http.StatusBadGateway, `{}`},
		{http.StatusUnprocessableEntity, `{"error":"MaintenanceInfoConflict","description":"refresh the platform's catalog"}`},
		{http.StatusOK, `{}`},
	}}
	b := serveScripted(t, s)
	inst := Instance{ID: "i1", ServiceID: "s1", PlanID: "p1", From: "1.0.0", To: "1.0.1"}
	ctx := context.Background()
	for i, wantRetryable := range []bool{true, true, false} {
		if err := b.Upgrade(ctx, inst); err == nil || isRetryable(err) != wantRetryable {
			t.Errorf("answer %d: error %v, retryable %v; want retryable %v", i, err, isRetryable(err), wantRetryable)
		}
	}
	if err := b.Upgrade(ctx, inst); err != nil {
		t.Fatalf("a 200: %v", err)
	}
	req := s.patches[3]
	if req.InstanceID != "/v2/service_instances/i1" || req.ServiceID != "s1" || req.PlanID != "p1" || req.MaintenanceInfo == nil || req.MaintenanceInfo.Version != "1.0.1" ||
		req.PreviousValues == nil || req.PreviousValues.PlanID != "p1" || req.PreviousValues.MaintenanceInfo == nil || req.PreviousValues.MaintenanceInfo.Version != "1.0.0" {
		t.Errorf("PATCH %+v (previous values %+v): want plan p1 at maintenance_info 1.0.1, previously 1.0.0", req, req.PreviousValues)
	}
}
