package broker

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/credentials"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dashboard"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
	"github.com/cloudfoundry-community/docker-broker/src/internal/sso"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// The operator's dashboard (dashboard.Source) reads the same records and containers as the
// metrics and the admin endpoints, and takes no lock either: looking must not hold up an
// admission. Everything it hands over that could quote a credential — log lines, operation
// descriptions — is redacted of every credential the broker knows of the instance and its
// bindings.

// dashboardURL is the developer dashboard's page of the instance, for an offering with a
// dashboard_client (single sign-on through it); "" without.
func (b *Broker) dashboardURL(planID, instanceID string) string {
	service, _, found := b.cfg.Catalog.PlanByID(planID)
	if b.cfg.DeveloperDashboard == "" || !found || service.DashboardClient == nil {
		return ""
	}
	return strings.TrimRight(b.cfg.DeveloperDashboard, "/") + "/instances/" + url.PathEscape(instanceID)
}

// DeveloperInstance is the instance as its developer's dashboard shows it, with the
// offering's dashboard_client and the instance's space, which the user must be able to see.
func (b *Broker) DeveloperInstance(ctx context.Context, id string, logLines int) (dashboard.DeveloperView, bool, error) {
	detail, found, err := b.DashboardInstance(ctx, id, logLines)
	if err != nil || !found {
		return dashboard.DeveloperView{}, found, err
	}
	inst, found, err := b.store.Instance(id)
	if err != nil || !found {
		return dashboard.DeveloperView{}, found, err
	}
	view := dashboard.DeveloperView{InstanceDetail: detail, SpaceGUID: inst.SpaceGUID}
	if service, _, ok := b.cfg.Catalog.PlanByID(inst.PlanID); ok && service.DashboardClient != nil {
		c := service.DashboardClient
		view.Client = &sso.Client{ID: c.ID, Secret: c.Secret, RedirectURI: c.RedirectURI}
	}
	return view, true, nil
}

// DashboardInstances lists every instance in the store, in id order, with its container's
// state and health.
func (b *Broker) DashboardInstances(ctx context.Context) ([]dashboard.Instance, error) {
	all, err := b.store.Instances()
	if err != nil {
		return nil, err
	}
	containers := map[string]dockerengine.Container{}
	// Without the engine the list still shows the records, without container state or health
	// (the fleet page says the engine did not answer, from the metrics snapshot).
	if list, err := b.engine.ListContainers(ctx, map[string]string{LabelBroker: b.cfg.Name}); err == nil {
		for _, c := range list {
			containers[c.Labels[LabelInstanceID]] = c
		}
	}
	// Without the machines' list the rows name each machine by its id and mark none down.
	listed, _ := b.fleetNodes(ctx, all)
	nodes := nodesByID(listed)
	rows := make([]dashboard.Instance, 0, len(all))
	for _, inst := range all {
		row, _, err := b.dashboardInstance(inst, containers[inst.ID], nodes)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// DashboardInstance is one instance with the last logLines lines of its container's log.
func (b *Broker) DashboardInstance(ctx context.Context, id string, logLines int) (dashboard.InstanceDetail, bool, error) {
	inst, found, err := b.store.Instance(id)
	if err != nil || !found {
		return dashboard.InstanceDetail{}, false, err
	}
	var detail dashboard.InstanceDetail
	c, inspectErr := b.engine.InspectContainer(ctx, containerName(id))
	listed, _ := b.fleetNodes(ctx, []store.Instance{inst})
	var secrets []string
	detail.Instance, secrets, err = b.dashboardInstance(inst, c, nodesByID(listed))
	if err != nil {
		return dashboard.InstanceDetail{}, false, err
	}
	switch {
	case dockerengine.IsNotFound(inspectErr):
		detail.LogErr = "the instance has no container"
	case inspectErr != nil:
		b.log.Warn("dashboard: inspecting the container failed", "instance_id", id, "error", inspectErr.Error())
		detail.LogErr = "the Docker Engine did not answer; the broker's log says why"
	default:
		logs, err := b.engine.ContainerLogs(ctx, c.ID, logLines)
		if err != nil {
			b.log.Warn("dashboard: reading the container's log failed", "instance_id", id, "error", err.Error())
			detail.LogErr = "the Docker Engine did not hand over the log; the broker's log says why"
			break
		}
		text := strings.TrimRight(credentials.Redact(string(logs), secrets...), "\n")
		if text != "" {
			detail.Log = strings.Split(text, "\n")
		}
	}
	return detail, true, nil
}

// dashboardInstance is inst as the dashboard shows it, with c its container (zero when it has
// none) and nodes the engine's machines by id, and the credentials redacted from it.
func (b *Broker) dashboardInstance(inst store.Instance, c dockerengine.Container, nodes map[string]metrics.Node) (dashboard.Instance, []string, error) {
	bindings, err := b.store.Bindings(inst.ID)
	if err != nil {
		return dashboard.Instance{}, nil, err
	}
	secrets := secretsOf(inst, store.BindingUser{})
	for _, binding := range bindings {
		if binding.User != nil {
			secrets = append(secrets, binding.User.Username, binding.User.Password)
		}
	}
	row := dashboard.Instance{
		ID: inst.ID, Host: b.host(inst), State: instanceStateOn(inst, nodes), Container: c.State, Health: c.Health,
		Running: inst.MaintenanceInfo, Bindings: len(bindings), CreatedAt: inst.CreatedAt,
		Operation: dashboard.Operation{
			Kind: inst.Operation.Kind, State: inst.Operation.State, Description: credentials.Redact(inst.Operation.Description, secrets...),
			StartedAt: inst.Operation.StartedAt, FinishedAt: inst.Operation.FinishedAt,
		},
	}
	if inst.Node != "" {
		row.Node = cmp.Or(nodes[inst.Node].Name, shortNodeID(inst.Node))
	}
	row.Service, row.Plan = b.planNames(inst.ServiceID, inst.PlanID)
	if _, plan, ok := b.cfg.Catalog.PlanByID(inst.PlanID); ok {
		row.Image, row.Latest = plan.Container.ImageRef(), planVersion(plan)
	}
	for _, port := range slices.Sorted(maps.Keys(inst.Ports)) {
		row.Ports = append(row.Ports, dashboard.Port{Container: port, Host: inst.Ports[port]})
	}
	row.Name, row.Org, row.Space = placeOf(inst)
	return row, secrets, nil
}

// placeOf is the instance's name and where it lives, from the OSB context: Cloud Foundry's
// names when it sent them (instance_name, organization_name, space_name), else the GUIDs.
func placeOf(inst store.Instance) (name, org, space string) {
	var ctx struct {
		InstanceName     string `json:"instance_name"`
		OrganizationName string `json:"organization_name"`
		SpaceName        string `json:"space_name"`
		Namespace        string `json:"namespace"` // Kubernetes
	}
	_ = json.Unmarshal(inst.Context, &ctx) // no or another context: the GUIDs
	return ctx.InstanceName, cmp.Or(ctx.OrganizationName, inst.OrganizationGUID), cmp.Or(ctx.SpaceName, ctx.Namespace, inst.SpaceGUID)
}
