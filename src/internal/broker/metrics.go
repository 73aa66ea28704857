package broker

import (
	"context"

	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// MetricsState is the fleet as a metrics scrape reports it (metrics.State): the state file's
// instances, bindings and quota usage, the engine's containers of this broker and, on an
// engine of several machines, each machine with its instances. It takes no lock: a scrape must
// not wait for, or hold up, an admission.
func (b *Broker) MetricsState(ctx context.Context) (metrics.Snapshot, error) {
	all, err := b.store.Instances()
	if err != nil {
		return metrics.Snapshot{}, err
	}
	bindings, err := b.store.BindingCounts()
	if err != nil {
		return metrics.Snapshot{}, err
	}
	var snap metrics.Snapshot
	snap.Capacity = metrics.Capacity{Limit: b.cfg.MaxContainers}
	snap.Capacity.Used, _ = usage(all, "", "")
	for _, service := range b.cfg.Catalog.Services {
		for _, plan := range service.Plans {
			_, used := usage(all, plan.ID, "")
			snap.Plans = append(snap.Plans, metrics.Plan{Service: service.Name, Plan: plan.Name, Capacity: metrics.Capacity{Used: used, Limit: plan.MaxContainers}})
		}
	}
	snap.Nodes, snap.NodesErr = b.fleetNodes(ctx, all)
	nodes := nodesByID(snap.Nodes)
	for _, inst := range all {
		service, plan := b.planNames(inst.ServiceID, inst.PlanID)
		snap.Instances = append(snap.Instances, metrics.Instance{Service: service, Plan: plan, State: instanceStateOn(inst, nodes), Bindings: bindings[inst.ID]})
	}
	containers, err := b.engine.ListContainers(ctx, map[string]string{LabelBroker: b.cfg.Name})
	if err != nil {
		snap.EngineErr = err
		return snap, nil
	}
	for _, c := range containers {
		service, plan := b.planNames(c.Labels[LabelServiceID], c.Labels[LabelPlanID])
		snap.Containers = append(snap.Containers, metrics.Container{Service: service, Plan: plan, State: c.State, Health: c.Health})
	}
	return snap, nil
}

// instanceState is what metrics call the state of an instance: the operation in progress, else
// ready, or failed when its provision failed or its last operation left it unusable.
func instanceState(inst store.Instance) string {
	op := inst.Operation
	if op.InProgress() {
		switch op.Kind {
		case store.Provision:
			return "provisioning"
		case store.Update:
			return "updating"
		default:
			return "deprovisioning"
		}
	}
	if !inst.Provisioned || (op.State == store.Failed && op.InstanceUsable != nil && !*op.InstanceUsable) {
		return "failed"
	}
	return "ready"
}
