package registrar

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudfoundry/go-cfclient/v3/client"
	"github.com/cloudfoundry/go-cfclient/v3/resource"
)

// ErrInstancesExist is why Deregister refuses: the broker still has service instances and
// purge_instances is off.
var ErrInstancesExist = errors.New("the broker still has service instances")

// instanceInfo is a service instance of the broker as an operator names it, with what an
// upgrade needs: whether Cloud Foundry offers one, the maintenance_info versions of the
// instance and of its plan, and the broker's catalog ids of its service and plan.
type instanceInfo struct {
	guid, name, service, plan, org, space string
	upgradeAvailable                      bool
	version, planVersion                  string
	serviceID, planID                     string
}

func (i instanceInfo) String() string {
	return fmt.Sprintf("%s (service %s, plan %s) in org %s / space %s", i.name, i.service, i.plan, i.org, i.space)
}

// Deregister deletes the broker from Cloud Foundry. While it has service instances it
// refuses, listing them, unless purge_instances is set: then each instance is deleted
// through Cloud Foundry — which unbinds its keys and bindings and calls the broker's DELETE,
// so that the broker removes the container and its data — and the deletions are waited for.
// (The predecessor purged in Cloud Foundry only and left the containers orphaned.)
func (r *Registrar) Deregister(ctx context.Context) error {
	name := r.cfg.Broker.Name
	b, err := r.findBroker(ctx)
	if err != nil {
		return err
	}
	if b == nil {
		fmt.Fprintf(r.out, "Service broker '%s' does not exist - nothing to deregister\n", name)
		return nil
	}
	instances, err := r.brokerInstances(ctx, b.GUID)
	if err != nil {
		return err
	}
	if len(instances) > 0 && !r.cfg.PurgeInstances {
		fmt.Fprintf(r.out, "Service broker '%s' still has %d service instance(s):\n", name, len(instances))
		for _, i := range instances {
			fmt.Fprintf(r.out, "  %s\n", i)
		}
		return &Error{Action: "deregistering service broker " + name, Err: fmt.Errorf(
			"%w: delete them first (cf delete-service), or set purge_instances to delete them and their data", ErrInstancesExist)}
	}
	for _, i := range instances {
		fmt.Fprintf(r.out, "Deleting service instance %s and its bindings as %s...\n", i, r.as)
		jobGUID, err := r.cf.ServiceInstances.Delete(ctx, i.guid)
		if err == nil {
			err = r.waitForJob(ctx, jobGUID)
		}
		if err != nil {
			return &Error{Action: "deleting service instance " + i.name, Err: err}
		}
		fmt.Fprintln(r.out, "OK")
	}
	fmt.Fprintf(r.out, "Deleting service broker %s as %s...\n", name, r.as)
	jobGUID, err := r.cf.ServiceBrokers.Delete(ctx, b.GUID)
	if err == nil {
		err = r.waitForJob(ctx, jobGUID)
	}
	if err != nil {
		return &Error{Action: "deleting service broker " + name, Err: err}
	}
	fmt.Fprintln(r.out, "OK")
	return nil
}

// brokerInstances lists the service instances of the broker's plans, with their service,
// plan, org and space names.
func (r *Registrar) brokerInstances(ctx context.Context, brokerGUID string) ([]instanceInfo, error) {
	planOpts := client.NewServicePlanListOptions()
	planOpts.ServiceBrokerGUIDs.EqualTo(brokerGUID)
	plans, err := r.cf.ServicePlans.ListAll(ctx, planOpts)
	if err != nil {
		return nil, &Error{Action: "listing the broker's service plans", Err: err}
	}
	if len(plans) == 0 {
		return nil, nil
	}
	offeringOpts := client.NewServiceOfferingListOptions()
	offeringOpts.ServiceBrokerGUIDs.EqualTo(brokerGUID)
	offerings, err := r.cf.ServiceOfferings.ListAll(ctx, offeringOpts)
	if err != nil {
		return nil, &Error{Action: "listing the broker's service offerings", Err: err}
	}
	offeringsByGUID := map[string]*resource.ServiceOffering{}
	for _, o := range offerings {
		offeringsByGUID[o.GUID] = o
	}
	plansByGUID := map[string]*resource.ServicePlan{}
	var planGUIDs []string
	for _, p := range plans {
		planGUIDs = append(planGUIDs, p.GUID)
		plansByGUID[p.GUID] = p
	}
	instanceOpts := client.NewServiceInstanceListOptions()
	instanceOpts.ServicePlanGUIDs.EqualTo(planGUIDs...)
	instances, err := r.cf.ServiceInstances.ListAll(ctx, instanceOpts)
	if err != nil {
		return nil, &Error{Action: "listing the broker's service instances", Err: err}
	}
	var infos []instanceInfo
	for _, i := range instances {
		plan := plansByGUID[i.Relationships.ServicePlan.Data.GUID]
		offering := offeringsByGUID[plan.Relationships.ServiceOffering.Data.GUID]
		info := instanceInfo{guid: i.GUID, name: i.Name, service: offering.Name, plan: plan.Name,
			upgradeAvailable: i.UpgradeAvailable != nil && *i.UpgradeAvailable, planVersion: plan.MaintenanceInfo.Version,
			serviceID: offering.BrokerCatalog.ID, planID: plan.BrokerCatalog.ID}
		if i.MaintenanceInfo != nil {
			info.version = i.MaintenanceInfo.Version
		}
		space, org, err := r.cf.Spaces.GetIncludeOrganization(ctx, i.Relationships.Space.Data.GUID)
		if err != nil {
			return nil, &Error{Action: "looking up the space of service instance " + i.Name, Err: err}
		}
		info.space, info.org = space.Name, org.Name
		infos = append(infos, info)
	}
	return infos, nil
}
