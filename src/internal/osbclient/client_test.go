package osbclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// fakeBroker is an osbapi.Broker that keeps instances and bindings in memory. Provisions,
// updates and deprovisions are asynchronous: each stays "in progress" for two polls of
// last_operation, and answers only when the poll carries the operation token it handed out.
// It sits behind the real osbapi handler, so the client is checked against what the broker's
// HTTP layer demands (basic auth, X-Broker-API-Version, ids, accepts_incomplete).
type fakeBroker struct {
	// The operator's endpoints are none of the client's business: a call of one panics.
	osbapi.Admin
	mu        sync.Mutex
	instances map[string]osbapi.InstanceResponse
	bindings  map[string]json.RawMessage // instance/binding
	ops       map[string]*fakeOp         // instance id
	failNext  string                     // the description the next operation fails with
}

type fakeOp struct {
	token, kind, description string
	polls                    int
	apply                    func()
}

func newFakeBroker() *fakeBroker {
	return &fakeBroker{instances: map[string]osbapi.InstanceResponse{}, bindings: map[string]json.RawMessage{}, ops: map[string]*fakeOp{}}
}

func (f *fakeBroker) start(instanceID, kind string, apply func()) string {
	token := kind + "-" + instanceID
	f.ops[instanceID] = &fakeOp{token: token, kind: kind, description: f.failNext, apply: apply}
	f.failNext = ""
	return token
}

func (f *fakeBroker) Catalog(context.Context) (json.RawMessage, error) {
	return json.RawMessage(`{"services":[{"id":"s1","name":"db","bindable":true,"plans":[
		{"id":"p1","name":"small","maintenance_info":{"version":"1.0.0"}},
		{"id":"p2","name":"unbindable","bindable":false}]}]}`), nil
}

func (f *fakeBroker) Provision(_ context.Context, req osbapi.ProvisionRequest) (osbapi.ProvisionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !req.AcceptsIncomplete {
		return osbapi.ProvisionResponse{}, &osbapi.Error{Status: http.StatusUnprocessableEntity, Code: "AsyncRequired"}
	}
	token := f.start(req.InstanceID, "provision", func() {
		f.instances[req.InstanceID] = osbapi.InstanceResponse{ServiceID: req.ServiceID, PlanID: req.PlanID, MaintenanceInfo: req.MaintenanceInfo}
	})
	return osbapi.ProvisionResponse{Async: true, Operation: token}, nil
}

func (f *fakeBroker) GetInstance(_ context.Context, id string) (osbapi.InstanceResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	inst, ok := f.instances[id]
	if !ok {
		return inst, &osbapi.Error{Status: http.StatusNotFound, Description: "no instance " + id}
	}
	return inst, nil
}

func (f *fakeBroker) Update(_ context.Context, req osbapi.UpdateRequest) (osbapi.OperationResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	token := f.start(req.InstanceID, "update", func() {
		inst := f.instances[req.InstanceID]
		inst.MaintenanceInfo = req.MaintenanceInfo
		f.instances[req.InstanceID] = inst
	})
	return osbapi.OperationResponse{Async: true, Operation: token}, nil
}

func (f *fakeBroker) Deprovision(_ context.Context, req osbapi.DeprovisionRequest) (osbapi.OperationResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.instances[req.InstanceID]; !ok {
		return osbapi.OperationResponse{}, &osbapi.Error{Status: http.StatusGone}
	}
	token := f.start(req.InstanceID, "deprovision", func() { delete(f.instances, req.InstanceID) })
	return osbapi.OperationResponse{Async: true, Operation: token}, nil
}

func (f *fakeBroker) LastOperation(_ context.Context, req osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op, ok := f.ops[req.InstanceID]
	if !ok || op.token != req.Operation {
		return osbapi.LastOperationResponse{}, &osbapi.Error{Status: http.StatusBadRequest, Description: "unknown operation " + req.Operation}
	}
	if op.polls++; op.polls < 3 {
		return osbapi.LastOperationResponse{State: "in progress"}, nil
	}
	if op.description != "" {
		return osbapi.LastOperationResponse{State: "failed", Description: op.description}, nil
	}
	op.apply()
	if op.kind == "deprovision" {
		return osbapi.LastOperationResponse{}, &osbapi.Error{Status: http.StatusGone}
	}
	return osbapi.LastOperationResponse{State: "succeeded"}, nil
}

func (f *fakeBroker) Bind(_ context.Context, req osbapi.BindRequest) (osbapi.BindResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.instances[req.InstanceID]; !ok {
		return osbapi.BindResponse{}, &osbapi.Error{Status: http.StatusNotFound, Description: "no instance"}
	}
	creds := json.RawMessage(`{"username":"` + req.BindingID + `"}`)
	f.bindings[req.InstanceID+"/"+req.BindingID] = creds
	return osbapi.BindResponse{Credentials: creds}, nil
}

func (f *fakeBroker) GetBinding(context.Context, string, string) (osbapi.BindResponse, error) {
	return osbapi.BindResponse{}, &osbapi.Error{Status: http.StatusNotFound}
}

func (f *fakeBroker) Unbind(_ context.Context, req osbapi.UnbindRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := req.InstanceID + "/" + req.BindingID
	if _, ok := f.bindings[key]; !ok {
		return &osbapi.Error{Status: http.StatusGone}
	}
	delete(f.bindings, key)
	return nil
}

func (f *fakeBroker) BindingLastOperation(context.Context, osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error) {
	return osbapi.LastOperationResponse{}, &osbapi.Error{Status: http.StatusBadRequest}
}

func (f *fakeBroker) Reconciliation(context.Context) (any, error) { return nil, nil }

func (f *fakeBroker) Orphans(context.Context) (osbapi.Orphans, error) { return osbapi.Orphans{}, nil }

func (f *fakeBroker) ListInstances(context.Context) ([]osbapi.AdminInstance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var list []osbapi.AdminInstance
	for _, id := range slices.Sorted(maps.Keys(f.instances)) {
		inst := f.instances[id]
		list = append(list, osbapi.AdminInstance{ID: id, ServiceID: inst.ServiceID, PlanID: inst.PlanID, MaintenanceInfo: inst.MaintenanceInfo, Provisioned: true})
	}
	return list, nil
}

// serve puts f behind the real OSB handler and returns a client of it that presents password.
func serve(t *testing.T, f *fakeBroker, password string) *osbclient.Client {
	t.Helper()
	return osbclient.New(osbclient.Config{URL: serveURL(t, f) + "/", Username: "broker", Password: password, PollInterval: time.Millisecond})
}

// serveURL puts f behind the real OSB handler, which takes broker/right-password.
func serveURL(t *testing.T, f *fakeBroker) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(osbapi.NewHandler(f, f, osbapi.Credentials{Username: "broker", Password: "right-password"}, log))
	t.Cleanup(srv.Close)
	return srv.URL
}

func provisionOf(id string) osbapi.ProvisionRequest {
	return osbapi.ProvisionRequest{InstanceID: id, ServiceID: "s1", PlanID: "p1", OrganizationGUID: "org", SpaceGUID: "space"}
}

func TestALifecycleThroughTheRealHandler(t *testing.T) {
	f := newFakeBroker()
	c := serve(t, f, "right-password")
	ctx := context.Background()

	cat, err := c.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Services) != 1 || len(cat.Services[0].Plans) != 2 {
		t.Fatalf("catalog %+v, want one service with two plans", cat)
	}
	db := cat.Services[0]
	if small, unbindable := db.Plans[0], db.Plans[1]; !db.IsBindable(small) || db.IsBindable(unbindable) ||
		small.MaintenanceInfo == nil || small.MaintenanceInfo.Version != "1.0.0" {
		t.Errorf("plans %+v: want small bindable at maintenance 1.0.0, unbindable not bindable", db.Plans)
	}

	if err := c.Provision(ctx, provisionOf("i1")); err != nil {
		t.Fatalf("provision: %v", err)
	}
	if _, ok := f.instances["i1"]; !ok {
		t.Fatal("provision returned before the operation succeeded")
	}
	creds, err := c.Bind(ctx, osbapi.BindRequest{InstanceID: "i1", BindingID: "b1", ServiceID: "s1", PlanID: "p1"})
	if err != nil || string(creds) != `{"username":"b1"}` {
		t.Fatalf("bind: %s, %v", creds, err)
	}
	if err := c.Update(ctx, osbapi.UpdateRequest{InstanceID: "i1", ServiceID: "s1", MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "2.0.0"},
		PreviousValues: &osbapi.PreviousValues{PlanID: "p1"}}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if inst, err := c.GetInstance(ctx, "i1"); err != nil || inst.MaintenanceInfo == nil || inst.MaintenanceInfo.Version != "2.0.0" {
		t.Errorf("after the update GET instance is %+v, %v; want maintenance 2.0.0", inst, err)
	}
	if list, err := c.Instances(ctx); err != nil || len(list) != 1 || list[0].ID != "i1" || list[0].PlanID != "p1" || list[0].MaintenanceInfo.Version != "2.0.0" {
		t.Errorf("GET /admin/instances: %+v, %v; want i1 of plan p1 at maintenance 2.0.0", list, err)
	}
	for range 2 { // the second time the broker answers 410: gone already
		if err := c.Unbind(ctx, "i1", "b1", "s1", "p1"); err != nil {
			t.Fatalf("unbind: %v", err)
		}
		if err := c.Deprovision(ctx, "i1", "s1", "p1"); err != nil {
			t.Fatalf("deprovision: %v", err)
		}
	}
	if len(f.instances) != 0 || len(f.bindings) != 0 {
		t.Errorf("left behind: %v %v", f.instances, f.bindings)
	}
}

func TestAFailedOperationCarriesTheBrokersDescription(t *testing.T) {
	f := newFakeBroker()
	f.failNext = "the image redis:9 is not on this VM"
	c := serve(t, f, "right-password")
	err := c.Provision(context.Background(), provisionOf("i1"))
	var failed *osbclient.OperationFailedError
	if !errors.As(err, &failed) || failed.Operation != "provision" || failed.Description != "the image redis:9 is not on this VM" {
		t.Fatalf("err = %v, want the failed provision with the broker's description", err)
	}
}

func TestAnErrorAnswerCarriesStatusCodeAndDescription(t *testing.T) {
	c := serve(t, newFakeBroker(), "wrong-password")
	_, err := c.Catalog(context.Background())
	var e *osbclient.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Path != "/v2/catalog" {
		t.Fatalf("err = %v, want 401 on /v2/catalog", err)
	}

	c = serve(t, newFakeBroker(), "right-password")
	_, err = c.Bind(context.Background(), osbapi.BindRequest{InstanceID: "nope", BindingID: "b", ServiceID: "s1", PlanID: "p1"})
	if !errors.As(err, &e) || e.Status != http.StatusNotFound || e.Description != "no instance" {
		t.Fatalf("err = %v, want 404 with the broker's description", err)
	}
}

func TestWaitingEndsWithTheContext(t *testing.T) {
	f := newFakeBroker()
	c := osbclient.New(osbclient.Config{URL: serveURL(t, f), Username: "broker", Password: "right-password", PollInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Provision(ctx, provisionOf("i1")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}
