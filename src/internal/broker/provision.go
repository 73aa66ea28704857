package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/credentials"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// Provision is PUT /v2/service_instances/:id: record the instance, then create its container.
func (b *Broker) Provision(ctx context.Context, req osbapi.ProvisionRequest) (osbapi.ProvisionResponse, error) {
	resp, err := b.provision(ctx, req)
	if err == nil {
		resp.DashboardURL = b.dashboardURL(req.PlanID, req.InstanceID)
	}
	return resp, err
}

func (b *Broker) provision(ctx context.Context, req osbapi.ProvisionRequest) (osbapi.ProvisionResponse, error) {
	service, plan, ok := b.cfg.Catalog.Plan(req.ServiceID, req.PlanID)
	if !ok {
		return osbapi.ProvisionResponse{}, osbapi.BadRequest("service_id %q with plan_id %q is not in this broker's catalog", req.ServiceID, req.PlanID)
	}
	if err := checkMaintenanceInfo(plan, req.MaintenanceInfo); err != nil {
		return osbapi.ProvisionResponse{}, err
	}
	params, err := validParameters(plan, req.Parameters, false)
	if err != nil {
		return osbapi.ProvisionResponse{}, err
	}

	op, resp, err := b.admitProvision(ctx, req, service, plan, params)
	if err != nil || op == nil {
		return resp, err
	}
	if req.AcceptsIncomplete {
		return osbapi.ProvisionResponse{Async: true, Operation: op.id}, nil
	}
	if err := b.waitSync(op, "provisioning"); err != nil {
		// A failed synchronous provision leaves nothing: the platform sees the failure now
		// and has no operation to poll.
		b.forget(req.InstanceID)
		return osbapi.ProvisionResponse{}, err
	}
	return osbapi.ProvisionResponse{}, nil
}

// admitProvision checks a provision against what exists and the quotas, records the instance
// and starts its provisioning. It returns no operation when the answer needs none: the
// instance exists already, or is being provisioned.
func (b *Broker) admitProvision(ctx context.Context, req osbapi.ProvisionRequest, service catalog.Service, plan catalog.Plan, params json.RawMessage) (*operation, osbapi.ProvisionResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.refuseWhileLocked(); err != nil {
		return nil, osbapi.ProvisionResponse{}, err
	}
	existing, found, err := b.store.Instance(req.InstanceID)
	if err != nil {
		return nil, osbapi.ProvisionResponse{}, err
	}
	inst := store.Instance{
		ID: req.InstanceID, ServiceID: req.ServiceID, PlanID: req.PlanID,
		OrganizationGUID: req.OrganizationGUID, SpaceGUID: req.SpaceGUID,
		Context: req.Context, Parameters: params, MaintenanceInfo: planVersion(plan),
		Credentials: newCredentials(plan), CreatedAt: b.clock.Now(),
	}
	if found {
		if !sameProvision(existing, inst) {
			return nil, osbapi.ProvisionResponse{}, osbapi.Conflict("instance %s already exists with a different service, plan, organization, space or parameters", req.InstanceID)
		}
		op := existing.Operation
		switch {
		case op.Kind == store.Provision && op.InProgress():
			if !req.AcceptsIncomplete {
				return nil, osbapi.ProvisionResponse{}, osbapi.Unprocessable(osbapi.CodeAsyncRequired, "instance %s is still being provisioned; poll it with accepts_incomplete=true", req.InstanceID)
			}
			return nil, osbapi.ProvisionResponse{Async: true, Operation: op.ID}, nil
		case op.InProgress():
			return nil, osbapi.ProvisionResponse{}, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "instance %s is busy with a %s operation", req.InstanceID, op.Kind)
		case existing.Provisioned:
			return nil, osbapi.ProvisionResponse{AlreadyExists: true}, nil
		case b.running[req.InstanceID] != nil:
			return nil, osbapi.ProvisionResponse{}, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "the failed provision of instance %s is still being cleaned up; try again in a minute", req.InstanceID)
		}
		// An identical request for an instance whose provision failed tries again, with the
		// instance's credentials and ports.
		inst.Credentials, inst.Ports, inst.CreatedAt, inst.Leftovers = existing.Credentials, existing.Ports, existing.CreatedAt, existing.Leftovers
	}
	if err := b.checkQuota(plan, ""); err != nil {
		return nil, osbapi.ProvisionResponse{}, err
	}
	inst.Operation = store.Operation{ID: newOperationID(store.Provision), Kind: store.Provision, State: store.InProgress, StartedAt: b.clock.Now(), Attempts: 1}
	if err := b.store.PutInstance(inst); err != nil {
		return nil, osbapi.ProvisionResponse{}, err
	}
	b.log.Info("provisioning", append([]any{"instance_id", inst.ID, "service", service.Name, "plan", plan.Name, "operation", inst.Operation.ID}, osbapi.RequestAttrs(ctx)...)...)
	op := b.startLocked(inst.ID, inst.Operation, func(ctx context.Context) error {
		return b.provisionWork(ctx, inst.ID)
	})

	return op, osbapi.ProvisionResponse{}, nil
}

// provisionWork creates and starts the instance's container. On failure it removes what it
// created and records the failure; the platform then deprovisions (orphan mitigation).
func (b *Broker) provisionWork(ctx context.Context, instanceID string) error {
	inst, service, plan, err := b.loadWithPlan(instanceID, "")
	if err != nil {
		return err
	}
	if inst.Leftovers {
		// A retry of a provision whose clean-up is pending starts from nothing, not from the
		// half-initialised data of the failed attempt.
		if err = b.cleanUp(instanceID); err == nil {
			inst.Leftovers = false
		}
	}
	if err == nil {
		err = b.runContainer(ctx, &inst, service, plan)
	}
	if left(ctx) {
		return context.Cause(ctx)
	}
	if err != nil {
		description := describe(ctx, inst.Operation, err)
		b.log.Error("provision failed", "instance_id", instanceID, "operation", inst.Operation.ID, "error", err.Error(), "description", description)
		if cerr := b.cleanUp(instanceID); cerr != nil {
			// Housekeeping tries again until the engine answers (a dockerd that died
			// mid-provision leaves a container that restarts with it).
			inst.Leftovers = true
			b.log.Error("cleaning up a failed provision failed; housekeeping tries again", "instance_id", instanceID, "error", cerr.Error())
		}
		if ferr := b.finish(&inst, store.Failed, description); ferr != nil {
			return ferr
		}
		return osbapi.Unprocessable("", "provisioning failed: %s", description)
	}
	inst.Provisioned = true
	b.log.Info("provisioned", "instance_id", instanceID, "operation", inst.Operation.ID)
	return b.finish(&inst, store.Succeeded, "")
}

// cleanUp removes the container and the directories of an instance whose provision failed.
func (b *Broker) cleanUp(instanceID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.StopGrace+time.Minute)
	defer cancel()
	if err := b.removeContainer(ctx, containerName(instanceID)); err != nil {
		return err
	}
	if err := b.disk.Remove(ctx, instanceID); err != nil {
		return fmt.Errorf("removing the directories of a failed provision: %w", err)
	}
	return nil
}

// forget drops the record of an instance whose synchronous provision failed, leaving no
// tombstone: as far as the platform knows, the instance never existed.
func (b *Broker) forget(instanceID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	inst, found, err := b.store.Instance(instanceID)
	if err != nil || !found || inst.Provisioned || inst.Leftovers {
		return // a record with leftovers stays until housekeeping has removed them
	}
	if err := b.store.DeleteInstance(instanceID, nil); err != nil {
		b.log.Error("forgetting a failed synchronous provision", "instance_id", instanceID, "error", err.Error())
	}
}

// newCredentials makes the instance's secrets: the plan's fixed values, else random ones.
func newCredentials(plan catalog.Plan) store.Credentials {
	pick := func(f *catalog.CredentialField, generate func() string) string {
		switch {
		case f == nil:
			return ""
		case f.Value != "":
			return f.Value
		default:
			return generate()
		}
	}
	return store.Credentials{
		Username: pick(plan.Credentials.Username, func() string { return credentials.Identifier(16) }),
		Password: pick(plan.Credentials.Password, func() string { return credentials.Random(24) }),
		DBName:   pick(plan.Credentials.DBName, func() string { return credentials.Identifier(16) }),
	}
}

// sameProvision says whether a repeated provision asks for what the instance already is.
func sameProvision(a, b store.Instance) bool {
	return a.ServiceID == b.ServiceID && a.PlanID == b.PlanID &&
		a.OrganizationGUID == b.OrganizationGUID && a.SpaceGUID == b.SpaceGUID &&
		sameJSON(a.Parameters, b.Parameters)
}

// sameJSON compares two JSON values by meaning (key order and spacing aside); absent, null
// and {} are the same.
func sameJSON(a, b json.RawMessage) bool {
	norm := func(raw json.RawMessage) []byte {
		var v any
		if len(raw) == 0 || json.Unmarshal(raw, &v) != nil || v == nil {
			return []byte("{}")
		}
		out, _ := json.Marshal(v) // maps marshal with sorted keys
		return out
	}
	return bytes.Equal(norm(a), norm(b))
}
