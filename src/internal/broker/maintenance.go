package broker

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// publishMaintenance returns a copy of cat whose plans carry the maintenance_info the broker
// publishes (catalog.Plan.PublishedMaintenance), and records it in the store: a plan whose
// container spec changed since the last start gets a higher version, which the platform offers
// as an upgrade of its instances. cat itself keeps the services file's versions, the floor.
func publishMaintenance(cat *catalog.Catalog, st Store, log *slog.Logger) (*catalog.Catalog, error) {
	published := &catalog.Catalog{Services: slices.Clone(cat.Services)}
	for i := range published.Services {
		service := &published.Services[i]
		service.Plans = slices.Clone(service.Plans)
		for j := range service.Plans {
			plan := &service.Plans[j]
			last, _, err := st.PlanMaintenance(plan.ID)
			if err != nil {
				return nil, err
			}
			digest, info := plan.PublishedMaintenance(last.Digest, last.Version)
			if last.Version != "" && info.Version != last.Version {
				log.Info("plan changed: its instances can be upgraded to a new maintenance_info version", "service", service.Name, "plan", plan.Name,
					"previous_version", last.Version, "version", info.Version, "maintenance_info", info.Description)
			}
			now := store.PlanMaintenance{PlanID: plan.ID, Digest: digest, Version: info.Version}
			if now != last {
				if err := st.PutPlanMaintenance(now); err != nil {
					return nil, fmt.Errorf("recording the maintenance version of plan %s: %w", plan.Name, err)
				}
			}
			plan.MaintenanceInfo = &info
		}
	}
	return published, nil
}
