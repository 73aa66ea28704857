package broker

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/credentials"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// Bind is PUT .../service_bindings/:binding_id. A plan with per-binding users gets a user of its
// own in the service, recorded as being created before its create command runs, so that a
// broker killed before it answers leaves no user behind (dropHalfCreatedBindings). Other plans
// hand out the instance's credentials. The answer is kept with the binding, so that a
// repeated request answers the same.
func (b *Broker) Bind(ctx context.Context, req osbapi.BindRequest) (osbapi.BindResponse, error) {
	pending, resp, err := b.admitBind(ctx, req)
	if err != nil || pending == nil {
		return resp, err
	}
	defer b.wg.Done()
	defer b.releaseBinding(bindingKey{req.InstanceID, req.BindingID})
	// A platform that hangs up must not leave a half-made user: the work ends either way.
	return b.createUser(context.WithoutCancel(ctx), pending)
}

// pendingBinding is a recorded binding whose user is still to be created.
type pendingBinding struct {
	inst     store.Instance
	bindings *catalog.Bindings
	binding  store.Binding
	resp     osbapi.BindResponse
}

// admitBind checks a bind and records the binding. It returns a pendingBinding when the
// binding's user is still to be created, else the answer.
func (b *Broker) admitBind(ctx context.Context, req osbapi.BindRequest) (*pendingBinding, osbapi.BindResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.refuseWhileLocked(); err != nil {
		return nil, osbapi.BindResponse{}, err
	}
	inst, found, err := b.store.Instance(req.InstanceID)
	if err != nil {
		return nil, osbapi.BindResponse{}, err
	}
	if !found {
		return nil, osbapi.BindResponse{}, osbapi.NotFound("instance %s does not exist", req.InstanceID)
	}
	if op := inst.Operation; op.InProgress() {
		return nil, osbapi.BindResponse{}, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "instance %s is busy with a %s operation; bind it when that has finished", req.InstanceID, op.Kind)
	}
	if !inst.Provisioned {
		return nil, osbapi.BindResponse{}, osbapi.NotFound("instance %s does not exist: its provision failed", req.InstanceID)
	}
	service, plan, ok := b.cfg.Catalog.Plan(req.ServiceID, req.PlanID)
	if !ok || req.ServiceID != inst.ServiceID || req.PlanID != inst.PlanID {
		return nil, osbapi.BindResponse{}, osbapi.BadRequest("service_id %q and plan_id %q are not those of instance %s", req.ServiceID, req.PlanID, req.InstanceID)
	}
	if !plan.IsBindable(service) {
		return nil, osbapi.BindResponse{}, osbapi.BadRequest("plan %s of service %s is not bindable", plan.Name, service.Name)
	}
	if len(req.Parameters) > 0 && !sameJSON(req.Parameters, nil) {
		return nil, osbapi.BindResponse{}, osbapi.BadRequest("parameters: bindings of this broker take no parameters")
	}
	binding := store.Binding{
		ID: req.BindingID, InstanceID: req.InstanceID, ServiceID: req.ServiceID, PlanID: req.PlanID,
		AppGUID: req.AppGUID, BindResource: req.BindResource, Context: req.Context,
		PredecessorID: req.PredecessorBindingID, CreatedAt: b.clock.Now(),
	}
	key := bindingKey{req.InstanceID, req.BindingID}
	existing, found, err := b.store.Binding(req.InstanceID, req.BindingID)
	if err != nil {
		return nil, osbapi.BindResponse{}, err
	}
	if found {
		resp, err := repeatedBind(existing, binding, b.bindingWork[key])
		return nil, resp, err
	}
	if req.PredecessorBindingID != "" {
		if err := b.inheritFromPredecessor(&binding, plan); err != nil {
			return nil, osbapi.BindResponse{}, err
		}
	}
	var user *store.BindingUser
	if plan.Bindings != nil {
		u := newBindingUser()
		user = &u
	}
	resp, err := b.bindResponse(plan, inst, user)
	if err != nil {
		return nil, osbapi.BindResponse{}, err
	}
	if binding.Response, err = json.Marshal(resp); err != nil {
		return nil, osbapi.BindResponse{}, err
	}
	binding.User, binding.Creating = user, user != nil
	if err := b.store.PutBinding(binding); err != nil {
		return nil, osbapi.BindResponse{}, err
	}
	if user == nil {
		b.operationEnded(bindKind, binding.ServiceID, binding.PlanID, store.Succeeded, binding.CreatedAt)
		b.log.Info("bound", append([]any{"instance_id", req.InstanceID, "binding_id", req.BindingID, "app_guid", req.AppGUID}, osbapi.RequestAttrs(ctx)...)...)
		return nil, resp, nil
	}
	b.claimBinding(key, "creating its user")
	b.wg.Add(1) // Shutdown waits for the command, which its timeout bounds
	return &pendingBinding{inst: inst, bindings: plan.Bindings, binding: binding, resp: resp}, osbapi.BindResponse{}, nil
}

// repeatedBind answers a bind of a binding that exists: its answer again when the request is
// the same and the binding is made.
func repeatedBind(existing, requested store.Binding, work string) (osbapi.BindResponse, error) {
	switch {
	case existing.AppGUID != requested.AppGUID || !sameJSON(existing.BindResource, requested.BindResource) || existing.PredecessorID != requested.PredecessorID:
		return osbapi.BindResponse{}, osbapi.Conflict("binding %s already exists with a different app, bind_resource or predecessor_binding_id", requested.ID)
	case work != "":
		return osbapi.BindResponse{}, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "binding %s is busy %s; try again in a moment", requested.ID, work)
	case existing.Creating:
		return osbapi.BindResponse{}, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "binding %s was cut short by a broker restart and is being cleaned up; bind again in a minute", requested.ID)
	}
	resp, err := decodeBinding(existing)
	resp.AlreadyExists = true
	return resp, err
}

// inheritFromPredecessor checks a rotation (OSB 2.17 predecessor_binding_id): the plan's
// bindings must be rotatable and the predecessor a made binding of the same instance. The new
// binding is for what the predecessor was for, unless the request says otherwise; the
// predecessor keeps working until it is unbound.
func (b *Broker) inheritFromPredecessor(binding *store.Binding, plan catalog.Plan) error {
	if plan.Bindings == nil {
		return osbapi.BadRequest("predecessor_binding_id: plan %s is not binding_rotatable (its bindings share the instance's credentials)", plan.Name)
	}
	predecessor, found, err := b.store.Binding(binding.InstanceID, binding.PredecessorID)
	if err != nil {
		return err
	}
	if !found || predecessor.Creating {
		return osbapi.BadRequest("predecessor_binding_id: binding %s of instance %s does not exist", binding.PredecessorID, binding.InstanceID)
	}
	if binding.AppGUID == "" && len(binding.BindResource) == 0 {
		binding.AppGUID, binding.BindResource = predecessor.AppGUID, predecessor.BindResource
	}
	return nil
}

// bindResponse is the answer to a bind: the credentials of user (nil: the instance's), the
// endpoints apps must reach, the syslog drain.
func (b *Broker) bindResponse(plan catalog.Plan, inst store.Instance, user *store.BindingUser) (osbapi.BindResponse, error) {
	host := b.host(inst)
	creds, err := credentials.ForBinding(plan, inst, host, user)
	if err != nil {
		return osbapi.BindResponse{}, err
	}
	resp := osbapi.BindResponse{Credentials: creds.JSON(), SyslogDrainURL: credentials.SyslogDrainURL(plan, inst, host)}
	for _, e := range credentials.Endpoints(inst, host) {
		resp.Endpoints = append(resp.Endpoints, osbapi.Endpoint{Host: e.Host, Ports: e.Ports, Protocol: e.Protocol})
	}
	return resp, nil
}

// createUser runs the create command of a recorded binding and answers it. When the command
// fails, the drop command undoes what it may have done and the record goes: a failed bind
// leaves nothing (or, if even the drop fails, a record that housekeeping cleans up). A command
// that never started (the container is not running) did nothing to undo.
func (b *Broker) createUser(ctx context.Context, p *pendingBinding) (osbapi.BindResponse, error) {
	binding := p.binding
	started := false
	err := b.runBindingCommand(ctx, p.inst, p.bindings, "create", *binding.User, func(execID string) error {
		binding.CreateExec = execID
		if err := b.store.PutBinding(binding); err != nil {
			return err
		}
		started = true
		return nil
	})
	if err == nil {
		binding.Creating, binding.CreateExec = false, ""
		if err = b.store.PutBinding(binding); err == nil {
			b.operationEnded(bindKind, binding.ServiceID, binding.PlanID, store.Succeeded, binding.CreatedAt)
			b.log.Info("bound with a user of its own", append([]any{"instance_id", binding.InstanceID, "binding_id", binding.ID, "app_guid", binding.AppGUID, "predecessor_binding_id", binding.PredecessorID}, osbapi.RequestAttrs(ctx)...)...)
			return p.resp, nil
		}
	}
	b.operationEnded(bindKind, binding.ServiceID, binding.PlanID, store.Failed, binding.CreatedAt)
	b.log.Error("creating a binding's user failed; dropping it", "instance_id", binding.InstanceID, "binding_id", binding.ID, "error", err.Error())
	var undo error
	if started {
		undo = b.runBindingCommand(ctx, p.inst, p.bindings, "drop", *binding.User, nil)
	}
	if undo == nil {
		undo = b.store.DeleteBinding(binding.InstanceID, binding.ID)
	}
	if undo != nil {
		b.log.Error("the user of a failed bind could not be dropped; housekeeping tries again", "instance_id", binding.InstanceID, "binding_id", binding.ID, "error", undo.Error())
	}
	undone := undo == nil
	return osbapi.BindResponse{}, &osbapi.Error{Status: http.StatusInternalServerError, Description: bindFailure(err, undone)}
}

// decodeBinding is a stored binding's response.
func decodeBinding(binding store.Binding) (osbapi.BindResponse, error) {
	var resp osbapi.BindResponse
	err := json.Unmarshal(binding.Response, &resp)
	return resp, err
}
