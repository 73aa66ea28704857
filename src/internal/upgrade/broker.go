package upgrade

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// Broker is the Platform of a broker that no platform knows of: the instances come from the
// broker's GET /admin/instances and are upgraded with OSB updates, as Cloud Controller would.
// A platform that does know the broker keeps its own record of each instance's version: use
// the platform's side there, or its record goes stale.
type Broker struct {
	Client *osbclient.Client
}

// Outdated lists the broker's provisioned instances whose maintenance_info version is not
// their plan's in its catalog. An instance still being provisioned, or whose provision
// failed, cannot be updated and is left out.
func (b Broker) Outdated(ctx context.Context) ([]Instance, error) {
	cat, err := b.Client.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	type plan struct{ service, name, version string }
	plans := map[[2]string]plan{} // service id, plan id
	for _, s := range cat.Services {
		for _, p := range s.Plans {
			if p.MaintenanceInfo != nil {
				plans[[2]string{s.ID, p.ID}] = plan{service: s.Name, name: p.Name, version: p.MaintenanceInfo.Version}
			}
		}
	}
	list, err := b.Client.Instances(ctx)
	if err != nil {
		return nil, err
	}
	var outdated []Instance
	for _, i := range list {
		p, ok := plans[[2]string{i.ServiceID, i.PlanID}]
		if !ok || !i.Provisioned {
			continue
		}
		var from string
		if i.MaintenanceInfo != nil {
			from = i.MaintenanceInfo.Version
		}
		if from != p.version {
			outdated = append(outdated, Instance{ID: i.ID, Name: i.ID, Service: p.service, Plan: p.name,
				ServiceID: i.ServiceID, PlanID: i.PlanID, From: from, To: p.version})
		}
	}
	return outdated, nil
}

// Upgrade sends the update Cloud Controller sends for `cf upgrade-service` (the plan's
// maintenance_info, the previous values) and follows it to its end. A broker busy with
// another operation on the instance (422 ConcurrencyError) or not answering is retryable.
func (b Broker) Upgrade(ctx context.Context, inst Instance) error {
	previous := &osbapi.PreviousValues{ServiceID: inst.ServiceID, PlanID: inst.PlanID}
	if inst.From != "" {
		previous.MaintenanceInfo = &osbapi.MaintenanceInfo{Version: inst.From}
	}
	err := b.Client.Update(ctx, osbapi.UpdateRequest{
		InstanceID: inst.ID, ServiceID: inst.ServiceID, PlanID: inst.PlanID,
		MaintenanceInfo: &osbapi.MaintenanceInfo{Version: inst.To}, PreviousValues: previous,
	})
	var answer *osbclient.Error
	var unreachable *url.Error
	switch {
	case errors.As(err, &answer) && (answer.Code == osbapi.CodeConcurrencyError || answer.Status >= http.StatusInternalServerError):
		return Retryable(err)
	case errors.As(err, &unreachable) && ctx.Err() == nil:
		return Retryable(err)
	}
	return err
}
