package broker

import (
	"context"
	"encoding/json"

	"github.com/cloudfoundry-community/docker-broker/src/internal/credentials"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// Bind is PUT .../service_bindings/:binding_id: hand out the instance's credentials, and keep
// them with the binding so that a repeated request answers the same.
func (b *Broker) Bind(ctx context.Context, req osbapi.BindRequest) (osbapi.BindResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	inst, found, err := b.store.Instance(req.InstanceID)
	if err != nil {
		return osbapi.BindResponse{}, err
	}
	if !found {
		return osbapi.BindResponse{}, osbapi.NotFound("instance %s does not exist", req.InstanceID)
	}
	if op := inst.Operation; op.InProgress() {
		return osbapi.BindResponse{}, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "instance %s is busy with a %s operation; bind it when that has finished", req.InstanceID, op.Kind)
	}
	if !inst.Provisioned {
		return osbapi.BindResponse{}, osbapi.NotFound("instance %s does not exist: its provision failed", req.InstanceID)
	}
	service, plan, ok := b.cfg.Catalog.Plan(req.ServiceID, req.PlanID)
	if !ok || req.ServiceID != inst.ServiceID || req.PlanID != inst.PlanID {
		return osbapi.BindResponse{}, osbapi.BadRequest("service_id %q and plan_id %q are not those of instance %s", req.ServiceID, req.PlanID, req.InstanceID)
	}
	if !plan.IsBindable(service) {
		return osbapi.BindResponse{}, osbapi.BadRequest("plan %s of service %s is not bindable", plan.Name, service.Name)
	}
	if len(req.Parameters) > 0 && !sameJSON(req.Parameters, nil) {
		return osbapi.BindResponse{}, osbapi.BadRequest("parameters: bindings of this broker take no parameters")
	}
	binding := store.Binding{
		ID: req.BindingID, InstanceID: req.InstanceID, ServiceID: req.ServiceID, PlanID: req.PlanID,
		AppGUID: req.AppGUID, BindResource: req.BindResource, Context: req.Context, CreatedAt: b.clock.Now(),
	}
	existing, found, err := b.store.Binding(req.InstanceID, req.BindingID)
	if err != nil {
		return osbapi.BindResponse{}, err
	}
	if found {
		if existing.AppGUID != binding.AppGUID || !sameJSON(existing.BindResource, binding.BindResource) {
			return osbapi.BindResponse{}, osbapi.Conflict("binding %s already exists with a different app or bind_resource", req.BindingID)
		}
		resp, err := decodeBinding(existing)
		resp.AlreadyExists = true
		return resp, err
	}
	host := b.cfg.ExternalHost
	resp := osbapi.BindResponse{
		Credentials:    credentials.ForBinding(plan, inst, host).JSON(),
		SyslogDrainURL: credentials.SyslogDrainURL(plan, inst, host),
	}
	for _, e := range credentials.Endpoints(inst, host) {
		resp.Endpoints = append(resp.Endpoints, osbapi.Endpoint{Host: e.Host, Ports: e.Ports, Protocol: e.Protocol})
	}
	if binding.Response, err = json.Marshal(resp); err != nil {
		return osbapi.BindResponse{}, err
	}
	if err := b.store.PutBinding(binding); err != nil {
		return osbapi.BindResponse{}, err
	}
	b.log.Info("bound", append([]any{"instance_id", req.InstanceID, "binding_id", req.BindingID, "app_guid", req.AppGUID}, osbapi.RequestAttrs(ctx)...)...)
	return resp, nil
}

// decodeBinding is a stored binding's response.
func decodeBinding(binding store.Binding) (osbapi.BindResponse, error) {
	var resp osbapi.BindResponse
	err := json.Unmarshal(binding.Response, &resp)
	return resp, err
}
