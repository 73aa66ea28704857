package registrar

import (
	"context"
	"fmt"
	"sort"

	"github.com/cloudfoundry/go-cfclient/v3/client"
	"github.com/cloudfoundry/go-cfclient/v3/resource"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// serviceAccess is one service of the broker with its plans, in the catalog's order.
type serviceAccess struct {
	name  string
	plans []*planAccess
}

// planAccess is one plan's access as Cloud Foundry has it, kept up to date as the registrar
// changes it, and whether the config allows the plan.
type planAccess struct {
	name, guid string
	allowed    bool
	public     bool
	orgs       map[string]string // org guid → name, for visibility "organization"
}

// applyAccess makes access to every plan of the broker what the config says, service by
// service: plans that must no longer be public are restricted first, allowed plans are
// enabled (public, or for each listed org), and orgs that must no longer see a plan are
// removed. A plan already as it should be is left alone, and the output says so.
func (r *Registrar) applyAccess(ctx context.Context, brokerGUID string, cat osbclient.Catalog, allowed map[string]bool, orgs []org) error {
	services, err := r.currentAccess(ctx, brokerGUID, cat, allowed)
	if err != nil {
		return err
	}
	wantedOrgs := map[string]bool{}
	for _, o := range orgs {
		wantedOrgs[o.guid] = true
	}
	setType := func(visibility string) func(*planAccess) error {
		return func(p *planAccess) error {
			if _, err := r.cf.ServicePlansVisibility.Update(ctx, p.guid, &resource.ServicePlanVisibility{Type: visibility}); err != nil {
				return err
			}
			p.public, p.orgs = visibility == "public", map[string]string{}
			return nil
		}
	}
	for _, svc := range services {
		var restrict, enable []*planAccess
		for _, p := range svc.plans {
			if p.public && (!p.allowed || len(orgs) > 0) {
				restrict = append(restrict, p)
			}
			if p.allowed {
				enable = append(enable, p)
			}
		}
		always := func(*planAccess) bool { return true }
		if err := r.step(svc, "Disabling", restrict, "", always, setType("admin")); err != nil {
			return err
		}
		if len(orgs) == 0 {
			notPublic := func(p *planAccess) bool { return !p.public }
			if err := r.step(svc, "Enabling", enable, "", notPublic, setType("public")); err != nil {
				return err
			}
		}
		for _, o := range orgs {
			lacksOrg := func(p *planAccess) bool { return p.orgs[o.guid] == "" }
			addOrg := func(p *planAccess) error {
				visibility := &resource.ServicePlanVisibility{Type: "organization", Organizations: []resource.ServicePlanVisibilityRelation{{GUID: o.guid}}}
				if _, err := r.cf.ServicePlansVisibility.Apply(ctx, p.guid, visibility); err != nil {
					return err
				}
				p.orgs[o.guid] = o.name
				return nil
			}
			if err := r.step(svc, "Enabling", enable, o.name, lacksOrg, addOrg); err != nil {
				return err
			}
		}
		// Orgs that see a plan they should not, each with the plans to take from it.
		removals := map[string][]*planAccess{}
		for _, p := range svc.plans {
			for guid := range p.orgs {
				if !p.allowed || !wantedOrgs[guid] {
					removals[guid] = append(removals[guid], p)
				}
			}
		}
		for _, guid := range sortedKeys(removals) {
			plans := removals[guid]
			removeOrg := func(p *planAccess) error {
				if err := r.cf.ServicePlansVisibility.Delete(ctx, p.guid, guid); err != nil {
					return err
				}
				delete(p.orgs, guid)
				return nil
			}
			if err := r.step(svc, "Disabling", plans, plans[0].orgs[guid], always, removeOrg); err != nil {
				return err
			}
		}
	}
	return nil
}

// step announces a change of access to plans of svc, for one org or (orgName "") all orgs:
// one line when it concerns every plan of the service, else one line per plan, each
// followed by OK once change is done for the plans that need it.
func (r *Registrar) step(svc serviceAccess, verb string, plans []*planAccess, orgName string, needs func(*planAccess) bool, change func(*planAccess) error) error {
	if len(plans) == 0 {
		return nil
	}
	perPlan := len(plans) < len(svc.plans)
	groups := [][]*planAccess{plans}
	if perPlan {
		groups = nil
		for _, p := range plans {
			groups = append(groups, []*planAccess{p})
		}
	}
	for _, group := range groups {
		planName := ""
		if perPlan {
			planName = group[0].name
		}
		message := accessMessage(verb, svc.name, planName, orgName, r.as)
		fmt.Fprintln(r.out, message)
		changed := false
		for _, p := range group {
			if !needs(p) {
				continue
			}
			if err := change(p); err != nil {
				return &Error{Action: message, Err: err}
			}
			changed = true
		}
		if changed {
			fmt.Fprintln(r.out, "OK")
		} else {
			fmt.Fprintln(r.out, "OK (already enabled: nothing changed)")
		}
	}
	return nil
}

// accessMessage is the line the cf CLI printed for the same change (cf enable-service-access
// and disable-service-access, CLI v6, as the predecessor's operators saw it).
func accessMessage(verb, service, plan, orgName, as string) string {
	switch {
	case plan == "" && orgName == "":
		return fmt.Sprintf("%s access to all plans of service %s for all orgs as %s...", verb, service, as)
	case plan == "":
		return fmt.Sprintf("%s access to all plans of service %s for the org %s as %s...", verb, service, orgName, as)
	case orgName == "":
		return fmt.Sprintf("%s access of plan %s for service %s as %s...", verb, plan, service, as)
	default:
		return fmt.Sprintf("%s access to plan %s of service %s for the org %s as %s...", verb, plan, service, orgName, as)
	}
}

// currentAccess reads the broker's plans from Cloud Foundry and their visibility, arranged
// by the catalog's services.
func (r *Registrar) currentAccess(ctx context.Context, brokerGUID string, cat osbclient.Catalog, allowed map[string]bool) ([]serviceAccess, error) {
	opts := client.NewServicePlanListOptions()
	opts.ServiceBrokerGUIDs.EqualTo(brokerGUID)
	plans, err := r.cf.ServicePlans.ListAll(ctx, opts)
	if err != nil {
		return nil, &Error{Action: "listing the broker's service plans", Err: err}
	}
	offerings, err := r.brokerOfferings(ctx, brokerGUID)
	if err != nil {
		return nil, err
	}
	byCatalogID := map[string]*resource.ServicePlan{} // service id + "/" + plan id
	for _, p := range plans {
		byCatalogID[offerings[p.Relationships.ServiceOffering.Data.GUID]+"/"+p.BrokerCatalog.ID] = p
	}
	var services []serviceAccess
	for _, svc := range cat.Services {
		access := serviceAccess{name: svc.Name}
		for _, cp := range svc.Plans {
			p := byCatalogID[svc.ID+"/"+cp.ID]
			if p == nil {
				return nil, &Error{Action: "enabling access to service " + svc.Name, Err: fmt.Errorf("no plan %s of service %s in Cloud Foundry: its copy of the catalog is not the broker's", cp.Name, svc.Name)}
			}
			pa := &planAccess{name: p.Name, guid: p.GUID, allowed: allowed[cp.ID], public: p.VisibilityType == "public", orgs: map[string]string{}}
			if p.VisibilityType == "organization" {
				visibility, err := r.cf.ServicePlansVisibility.Get(ctx, p.GUID)
				if err != nil {
					return nil, &Error{Action: "reading the visibility of plan " + p.Name + " of service " + svc.Name, Err: err}
				}
				for _, o := range visibility.Organizations {
					name := o.GUID
					if o.Name != nil {
						name = *o.Name
					}
					pa.orgs[o.GUID] = name
				}
			}
			access.plans = append(access.plans, pa)
		}
		services = append(services, access)
	}
	return services, nil
}

// brokerOfferings maps the broker's service offering GUIDs to their catalog ids.
func (r *Registrar) brokerOfferings(ctx context.Context, brokerGUID string) (map[string]string, error) {
	opts := client.NewServiceOfferingListOptions()
	opts.ServiceBrokerGUIDs.EqualTo(brokerGUID)
	offerings, err := r.cf.ServiceOfferings.ListAll(ctx, opts)
	if err != nil {
		return nil, &Error{Action: "listing the broker's service offerings", Err: err}
	}
	ids := map[string]string{}
	for _, o := range offerings {
		ids[o.GUID] = o.BrokerCatalog.ID
	}
	return ids, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
