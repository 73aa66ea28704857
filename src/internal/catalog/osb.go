package catalog

import "encoding/json"

// The OSB v2.17 catalog objects (osb-notes.md §1.5). They are the whole of what the platform
// learns about a plan: containers, credentials and health checks stay private.

type osbCatalog struct {
	Services []osbService `json:"services"`
}

type osbService struct {
	ID                   string              `json:"id"`
	Name                 string              `json:"name"`
	Description          string              `json:"description"`
	Tags                 []string            `json:"tags,omitempty"`
	Requires             []string            `json:"requires,omitempty"`
	Bindable             bool                `json:"bindable"`
	InstancesRetrievable bool                `json:"instances_retrievable"`
	BindingsRetrievable  bool                `json:"bindings_retrievable"`
	AllowContextUpdates  bool                `json:"allow_context_updates,omitempty"`
	PlanUpdateable       bool                `json:"plan_updateable"`
	Metadata             map[string]any      `json:"metadata,omitempty"`
	DashboardClient      *osbDashboardClient `json:"dashboard_client,omitempty"`
	Plans                []osbPlan           `json:"plans"`
}

type osbDashboardClient struct {
	ID          string `json:"id"`
	Secret      string `json:"secret"`
	RedirectURI string `json:"redirect_uri"`
}

type osbPlan struct {
	ID                     string              `json:"id"`
	Name                   string              `json:"name"`
	Description            string              `json:"description"`
	Metadata               map[string]any      `json:"metadata,omitempty"`
	Free                   bool                `json:"free"`
	Bindable               *bool               `json:"bindable,omitempty"`
	BindingRotatable       bool                `json:"binding_rotatable,omitempty"`
	PlanUpdateable         *bool               `json:"plan_updateable,omitempty"`
	Schemas                json.RawMessage     `json:"schemas,omitempty"`
	MaintenanceInfo        *osbMaintenanceInfo `json:"maintenance_info,omitempty"`
	MaximumPollingDuration int                 `json:"maximum_polling_duration,omitempty"`
}

type osbMaintenanceInfo struct {
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

// MarshalOSB renders the body of GET /v2/catalog: {"services":[...]}. The same catalog always
// gives the same bytes (encoding/json sorts map keys), so the platform sees no spurious change.
func (c *Catalog) MarshalOSB() ([]byte, error) {
	out := osbCatalog{Services: make([]osbService, 0, len(c.Services))}
	for _, s := range c.Services {
		service := osbService{
			ID:          s.ID,
			Name:        s.Name,
			Description: s.Description,
			Tags:        s.Tags,
			Requires:    s.Requires,
			Bindable:    s.Bindable,
			// The broker keeps its instances and bindings, so it can always answer GET for them.
			InstancesRetrievable: true,
			BindingsRetrievable:  true,
			AllowContextUpdates:  s.AllowContextUpdates,
			PlanUpdateable:       s.PlanUpdateable,
			Metadata:             s.Metadata,
			Plans:                make([]osbPlan, 0, len(s.Plans)),
		}
		if d := s.DashboardClient; d != nil && d.ID != "" && d.Secret != "" && d.RedirectURI != "" {
			service.DashboardClient = &osbDashboardClient{ID: d.ID, Secret: d.Secret, RedirectURI: d.RedirectURI}
		}
		for _, p := range s.Plans {
			plan := osbPlan{
				ID:          p.ID,
				Name:        p.Name,
				Description: p.Description,
				Metadata:    p.Metadata,
				Free:        p.Free,
				Bindable:    p.Bindable,
				// A binding of its own can be rotated: the new one is another user, and the
				// predecessor keeps working until it is unbound.
				BindingRotatable:       p.Bindings != nil,
				PlanUpdateable:         p.PlanUpdateable,
				Schemas:                p.Schemas,
				MaximumPollingDuration: p.MaximumPollingDuration,
			}
			if m := p.MaintenanceInfo; m != nil {
				plan.MaintenanceInfo = &osbMaintenanceInfo{Version: m.Version, Description: m.Description}
			}
			service.Plans = append(service.Plans, plan)
		}
		out.Services = append(out.Services, service)
	}
	return json.Marshal(out)
}
