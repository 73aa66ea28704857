package osbapi_test

import (
	"context"
	"encoding/json"
	"io"
	"sync"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// fakeBroker is a hand-written osbapi.Broker in the style of docker/cli's fakes: every method
// calls its func field when it is set and otherwise answers with zero values. Every call is
// recorded (method name, the request as the broker got it, and the request's log attributes),
// so that tests can assert both what the broker received and that it was not called at all.
type fakeBroker struct {
	catalogFunc              func(ctx context.Context) (json.RawMessage, error)
	provisionFunc            func(ctx context.Context, req osbapi.ProvisionRequest) (osbapi.ProvisionResponse, error)
	getInstanceFunc          func(ctx context.Context, instanceID string) (osbapi.InstanceResponse, error)
	updateFunc               func(ctx context.Context, req osbapi.UpdateRequest) (osbapi.OperationResponse, error)
	deprovisionFunc          func(ctx context.Context, req osbapi.DeprovisionRequest) (osbapi.OperationResponse, error)
	lastOperationFunc        func(ctx context.Context, req osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error)
	bindFunc                 func(ctx context.Context, req osbapi.BindRequest) (osbapi.BindResponse, error)
	getBindingFunc           func(ctx context.Context, instanceID, bindingID string) (osbapi.BindResponse, error)
	unbindFunc               func(ctx context.Context, req osbapi.UnbindRequest) error
	bindingLastOperationFunc func(ctx context.Context, req osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error)

	mu    sync.Mutex
	calls []fakeCall
}

// fakeCall is one recorded call of the fake.
type fakeCall struct {
	Method string
	// Req is the request the broker received: the request struct for the methods that take
	// one, instanceRef for GetInstance and GetBinding, nil for Catalog.
	Req any
	// Attrs is osbapi.RequestAttrs of the call's context.
	Attrs []any
}

// instanceRef records the ids GetInstance and GetBinding were called with.
type instanceRef struct {
	InstanceID string
	BindingID  string
}

var _ osbapi.Broker = (*fakeBroker)(nil)

func (f *fakeBroker) record(ctx context.Context, method string, req any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{Method: method, Req: req, Attrs: osbapi.RequestAttrs(ctx)})
}

// Calls returns the calls recorded so far.
func (f *fakeBroker) Calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

// Reset forgets the recorded calls.
func (f *fakeBroker) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

func (f *fakeBroker) Catalog(ctx context.Context) (json.RawMessage, error) {
	f.record(ctx, "Catalog", nil)
	if f.catalogFunc != nil {
		return f.catalogFunc(ctx)
	}
	return json.RawMessage(`{"services":[]}`), nil
}

func (f *fakeBroker) Provision(ctx context.Context, req osbapi.ProvisionRequest) (osbapi.ProvisionResponse, error) {
	f.record(ctx, "Provision", req)
	if f.provisionFunc != nil {
		return f.provisionFunc(ctx, req)
	}
	return osbapi.ProvisionResponse{}, nil
}

func (f *fakeBroker) GetInstance(ctx context.Context, instanceID string) (osbapi.InstanceResponse, error) {
	f.record(ctx, "GetInstance", instanceRef{InstanceID: instanceID})
	if f.getInstanceFunc != nil {
		return f.getInstanceFunc(ctx, instanceID)
	}
	return osbapi.InstanceResponse{}, nil
}

func (f *fakeBroker) Update(ctx context.Context, req osbapi.UpdateRequest) (osbapi.OperationResponse, error) {
	f.record(ctx, "Update", req)
	if f.updateFunc != nil {
		return f.updateFunc(ctx, req)
	}
	return osbapi.OperationResponse{}, nil
}

func (f *fakeBroker) Deprovision(ctx context.Context, req osbapi.DeprovisionRequest) (osbapi.OperationResponse, error) {
	f.record(ctx, "Deprovision", req)
	if f.deprovisionFunc != nil {
		return f.deprovisionFunc(ctx, req)
	}
	return osbapi.OperationResponse{}, nil
}

func (f *fakeBroker) LastOperation(ctx context.Context, req osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error) {
	f.record(ctx, "LastOperation", req)
	if f.lastOperationFunc != nil {
		return f.lastOperationFunc(ctx, req)
	}
	return osbapi.LastOperationResponse{State: "succeeded"}, nil
}

func (f *fakeBroker) Bind(ctx context.Context, req osbapi.BindRequest) (osbapi.BindResponse, error) {
	f.record(ctx, "Bind", req)
	if f.bindFunc != nil {
		return f.bindFunc(ctx, req)
	}
	return osbapi.BindResponse{}, nil
}

func (f *fakeBroker) GetBinding(ctx context.Context, instanceID, bindingID string) (osbapi.BindResponse, error) {
	f.record(ctx, "GetBinding", instanceRef{InstanceID: instanceID, BindingID: bindingID})
	if f.getBindingFunc != nil {
		return f.getBindingFunc(ctx, instanceID, bindingID)
	}
	return osbapi.BindResponse{}, nil
}

func (f *fakeBroker) Unbind(ctx context.Context, req osbapi.UnbindRequest) error {
	f.record(ctx, "Unbind", req)
	if f.unbindFunc != nil {
		return f.unbindFunc(ctx, req)
	}
	return nil
}

func (f *fakeBroker) BindingLastOperation(ctx context.Context, req osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error) {
	f.record(ctx, "BindingLastOperation", req)
	if f.bindingLastOperationFunc != nil {
		return f.bindingLastOperationFunc(ctx, req)
	}
	return osbapi.LastOperationResponse{State: "succeeded"}, nil
}

// fakeAdmin is an osbapi.Admin whose report is reconciliationFunc's, whose instances are
// listInstancesFunc's; backupWrite writes every instance's backup, restored receives the
// restores.
type fakeAdmin struct {
	reconciliationFunc func(ctx context.Context) (any, error)
	listInstancesFunc  func(ctx context.Context) ([]osbapi.AdminInstance, error)
	backupWrite        func(ctx context.Context, w io.Writer) error
	restored           map[string]string // instance id → format and data

	mu    sync.Mutex
	calls int
}

var _ osbapi.Admin = (*fakeAdmin)(nil)

func (f *fakeAdmin) Reconciliation(ctx context.Context) (any, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.reconciliationFunc != nil {
		return f.reconciliationFunc(ctx)
	}
	return map[string]any{"orphaned_containers": []string{}}, nil
}

func (f *fakeAdmin) Orphans(context.Context) (osbapi.Orphans, error) {
	return osbapi.Orphans{ContainersWithoutRecord: []string{"cf-lost"}, DirectoriesWithoutRecord: []string{}, RecordsWithoutContainer: []string{}}, nil
}

func (f *fakeAdmin) ListInstances(ctx context.Context) ([]osbapi.AdminInstance, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.listInstancesFunc != nil {
		return f.listInstancesFunc(ctx)
	}
	return nil, nil
}

// setBackupWrite sets what writes every instance's backup (the handler reads it on another
// goroutine).
func (f *fakeAdmin) setBackupWrite(write func(ctx context.Context, w io.Writer) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.backupWrite = write
}

func (f *fakeAdmin) Lock(context.Context) error   { return nil }
func (f *fakeAdmin) Unlock(context.Context) error { return nil }
func (f *fakeAdmin) BackupState(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, "state")
	return err
}
func (f *fakeAdmin) BackupInstances(context.Context) ([]string, error) { return []string{"i-1"}, nil }
func (f *fakeAdmin) BackupInstance(_ context.Context, id string) (string, func(context.Context, io.Writer) error, error) {
	if id != "i-1" {
		return "", nil, osbapi.NotFound("instance %s is not provisioned", id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.backupWrite == nil {
		return "dump", func(_ context.Context, w io.Writer) error {
			_, err := io.WriteString(w, "dump")
			return err
		}, nil
	}
	return "dump", f.backupWrite, nil
}
func (f *fakeAdmin) RestoreState(context.Context, io.Reader) ([]string, error) {
	return []string{"i-1"}, nil
}
func (f *fakeAdmin) RestoreInstance(_ context.Context, id, format string, data io.Reader) error {
	content, err := io.ReadAll(data)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.restored == nil {
		f.restored = map[string]string{}
	}
	f.restored[id] = format + ":" + string(content)
	return err
}

// restoredOf is what RestoreInstance received for instance id: its format and data.
func (f *fakeAdmin) restoredOf(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.restored[id]
}

func (f *fakeAdmin) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}
