package cfstandin

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

func (s *Server) presentOffering(o *offering) map[string]any {
	return map[string]any{
		"guid": o.guid, "name": o.name, "description": o.description, "available": true,
		"tags": nonNil(o.tags), "requires": nonNil(o.requires), "shareable": o.shareable,
		"documentation_url": o.documentationURL,
		"created_at":        timestamp(o.created), "updated_at": timestamp(o.updated),
		"broker_catalog": map[string]any{
			"id": o.catalogID, "metadata": rawOrEmpty(o.metadata),
			"features": map[string]bool{"plan_updateable": o.planUpdateable, "bindable": o.bindable,
				"instances_retrievable": false, "bindings_retrievable": false, "allow_context_updates": false},
		},
		"relationships": map[string]any{"service_broker": relationship(o.brokerGUID)},
		"metadata":      emptyMetadata(),
		"links": s.links("self", "/v3/service_offerings/"+o.guid, "service_plans", "/v3/service_plans?service_offering_guids="+o.guid,
			"service_broker", "/v3/service_brokers/"+o.brokerGUID),
	}
}

func (s *Server) presentPlan(p *plan) map[string]any {
	o := s.st.offering(p.offeringGUID)
	bindable := o.bindable
	if p.bindable != nil {
		bindable = *p.bindable
	}
	noSchema := map[string]any{"parameters": map[string]any{}}
	return map[string]any{
		"guid": p.guid, "name": p.name, "description": p.description,
		"visibility_type": p.visibility, "available": true, "free": p.free,
		"costs": planCosts(p.metadata), "maintenance_info": rawOrEmpty(p.maintenanceInfo),
		"created_at": timestamp(p.created), "updated_at": timestamp(p.updated),
		"broker_catalog": map[string]any{
			"id": p.catalogID, "metadata": rawOrEmpty(p.metadata), "maximum_polling_duration": nil,
			"features": map[string]bool{"plan_updateable": o.planUpdateable, "bindable": bindable},
		},
		"schemas": map[string]any{
			"service_instance": map[string]any{"create": noSchema, "update": noSchema},
			"service_binding":  map[string]any{"create": noSchema},
		},
		"relationships": map[string]any{"service_offering": relationship(p.offeringGUID)},
		"metadata":      emptyMetadata(),
		"links": s.links("self", "/v3/service_plans/"+p.guid, "service_offering", "/v3/service_offerings/"+p.offeringGUID,
			"visibility", "/v3/service_plans/"+p.guid+"/visibility"),
	}
}

// planCosts turns the OSB plan metadata costs ([{amount:{usd:0}, unit}]) into v3 costs.
func planCosts(metadata json.RawMessage) []map[string]any {
	var m struct {
		Costs []struct {
			Amount map[string]float64 `json:"amount"`
			Unit   string             `json:"unit"`
		} `json:"costs"`
	}
	costs := []map[string]any{}
	_ = json.Unmarshal(metadata, &m)
	for _, c := range m.Costs {
		for currency, amount := range c.Amount {
			costs = append(costs, map[string]any{"amount": amount, "currency": strings.ToUpper(currency), "unit": c.Unit})
		}
	}
	return costs
}

func metadataFlag(metadata json.RawMessage, key string) bool {
	var m map[string]any
	_ = json.Unmarshal(metadata, &m)
	v, _ := m[key].(bool)
	return v
}

func metadataString(metadata json.RawMessage, key string) string {
	var m map[string]any
	_ = json.Unmarshal(metadata, &m)
	v, _ := m[key].(string)
	return v
}

func rawOrEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}")
	}
	return raw
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// planMatches applies the service_plans (and, through them, service_offerings) filters:
// visibility to the user, availability, and visibility in the given spaces or orgs.
func (s *Server) planMatches(q query, u *user, p *plan) bool {
	_, b := s.st.planChain(p)
	if !s.st.planVisibleTo(u, p) || q.values.Get("available") == "false" ||
		!q.matches("service_broker_guids", b.guid) || !q.matches("service_broker_names", b.name) {
		return false
	}
	if spaces := q.list("space_guids"); spaces != nil && !s.visibleInAny(p, spaces, true) {
		return false
	}
	if orgs := q.list("organization_guids"); orgs != nil && !s.visibleInAny(p, orgs, false) {
		return false
	}
	return true
}

// visibleInAny tells whether a plan can be used in one of the spaces (or orgs).
func (s *Server) visibleInAny(p *plan, guids []string, spaces bool) bool {
	for _, g := range guids {
		orgGUID, spaceGUID := g, ""
		if spaces {
			sp := s.st.space(g)
			if sp == nil {
				continue
			}
			orgGUID, spaceGUID = sp.orgGUID, sp.guid
		}
		if s.st.planVisibleInOrg(p, orgGUID, spaceGUID) {
			return true
		}
	}
	return false
}

// listOfferings is GET /v3/service_offerings: offerings with at least one plan that passes
// the filters.
func (s *Server) listOfferings(w http.ResponseWriter, r *http.Request, u *user) {
	q := query{r.URL.Query()}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []any
	brokers := map[string]bool{}
	for _, o := range s.st.offerings {
		if !q.matches("names", o.name) {
			continue
		}
		for _, p := range s.st.plans {
			if p.offeringGUID == o.guid && s.planMatches(q, u, p) {
				found = append(found, s.presentOffering(o))
				brokers[o.brokerGUID] = true
				break
			}
		}
	}
	included := map[string][]any{}
	if fields := q.list("fields[service_broker]"); fields != nil {
		included["service_brokers"] = s.includedBrokers(brokers, fields)
	}
	s.writeList(w, r, found, included)
}

func (s *Server) getOffering(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.st.offering(r.PathValue("guid"))
	if o != nil {
		for _, p := range s.st.plans {
			if p.offeringGUID == o.guid && s.st.planVisibleTo(u, p) {
				writeJSON(w, http.StatusOK, s.presentOffering(o))
				return
			}
		}
	}
	notFound(w, "Service offering")
}

// listPlans is GET /v3/service_plans, with include=service_offering and
// fields[service_offering.service_broker] as cf marketplace asks.
func (s *Server) listPlans(w http.ResponseWriter, r *http.Request, u *user) {
	q := query{r.URL.Query()}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []any
	offerings, brokers := map[string]bool{}, map[string]bool{}
	for _, p := range s.st.plans {
		o := s.st.offering(p.offeringGUID)
		if !q.matches("names", p.name) || !q.matches("service_offering_guids", o.guid) || !q.matches("service_offering_names", o.name) ||
			!s.planUsedBy(q, p) || !s.planMatches(q, u, p) {
			continue
		}
		found = append(found, s.presentPlan(p))
		offerings[o.guid], brokers[o.brokerGUID] = true, true
	}
	included := map[string][]any{}
	if q.matches("include", "service_offering") && q.list("include") != nil {
		included["service_offerings"] = []any{}
		for _, o := range s.st.offerings {
			if offerings[o.guid] {
				included["service_offerings"] = append(included["service_offerings"], s.presentOffering(o))
			}
		}
	}
	if fields := q.list("fields[service_offering.service_broker]"); fields != nil {
		included["service_brokers"] = s.includedBrokers(brokers, fields)
	}
	s.writeList(w, r, found, included)
}

// planUsedBy applies the service_instance_guids filter.
func (s *Server) planUsedBy(q query, p *plan) bool {
	guids := q.list("service_instance_guids")
	if guids == nil {
		return true
	}
	for _, g := range guids {
		if i := s.st.instance(g); i != nil && i.planGUID == p.guid {
			return true
		}
	}
	return false
}

// includedBrokers presents the brokers with only the requested fields (name, guid).
func (s *Server) includedBrokers(guids map[string]bool, fields []string) []any {
	included := []any{}
	for _, b := range s.st.brokers {
		if guids[b.guid] {
			included = append(included, selectFields(s.presentBroker(b), fields))
		}
	}
	return included
}

// selectFields keeps the named top-level fields of a presented resource, as the fields[]
// query parameter asks.
func selectFields(resource map[string]any, fields []string) map[string]any {
	selected := map[string]any{}
	for _, f := range fields {
		if top, _, nested := strings.Cut(f, "."); nested {
			selected[top] = resource[top]
		} else if v, ok := resource[f]; ok {
			selected[f] = v
		}
	}
	return selected
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request, u *user) {
	s.servePlan(w, r, u, s.presentPlan)
}

// servePlan answers a GET of the plan in the path, as present shows it, to a user who may see it.
func (s *Server) servePlan(w http.ResponseWriter, r *http.Request, u *user, present func(*plan) map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.st.plan(r.PathValue("guid"))
	if p == nil || !s.st.planVisibleTo(u, p) {
		notFound(w, "Service plan")
		return
	}
	writeJSON(w, http.StatusOK, present(p))
}

// presentVisibility is a plan's visibility object.
func (s *Server) presentVisibility(p *plan) map[string]any {
	v := map[string]any{"type": p.visibility}
	switch p.visibility {
	case visibilityOrganization:
		orgs := []map[string]string{}
		for _, g := range p.orgs {
			if o := s.st.org(g); o != nil {
				orgs = append(orgs, map[string]string{"guid": o.guid, "name": o.name})
			}
		}
		v["organizations"] = orgs
	case visibilitySpace:
		_, b := s.st.planChain(p)
		if sp := s.st.space(b.spaceGUID); sp != nil {
			v["space"] = map[string]string{"guid": sp.guid, "name": sp.name}
		}
	}
	return v
}

func (s *Server) getVisibility(w http.ResponseWriter, r *http.Request, u *user) {
	s.servePlan(w, r, u, s.presentVisibility)
}

// visibilityRequest is the body of PATCH and POST .../visibility.
type visibilityRequest struct {
	Type          string `json:"type"`
	Organizations []struct {
		GUID string `json:"guid"`
	} `json:"organizations"`
}

// replaceVisibility is PATCH /v3/service_plans/:guid/visibility: the type, and for
// "organization" the complete list of orgs.
func (s *Server) replaceVisibility(w http.ResponseWriter, r *http.Request, u *user) {
	s.changeVisibility(w, r, u, false)
}

// appendVisibility is POST /v3/service_plans/:guid/visibility: like PATCH, but orgs are
// added to those the plan is already enabled for.
func (s *Server) appendVisibility(w http.ResponseWriter, r *http.Request, u *user) {
	s.changeVisibility(w, r, u, true)
}

func (s *Server) changeVisibility(w http.ResponseWriter, r *http.Request, u *user, appending bool) {
	if !u.admin {
		forbidden(w)
		return
	}
	var req visibilityRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.st.plan(r.PathValue("guid"))
	if p == nil {
		notFound(w, "Service plan")
		return
	}
	if p.visibility == visibilitySpace {
		unprocessable(w, "cannot update plans with visibility type 'space'")
		return
	}
	switch req.Type {
	case visibilityPublic, visibilityAdmin:
		if len(req.Organizations) > 0 {
			unprocessable(w, "Organizations can only be specified for type organization")
			return
		}
		p.visibility, p.orgs = req.Type, nil
	case visibilityOrganization:
		if len(req.Organizations) == 0 {
			unprocessable(w, "Organizations must be specified for type organization")
			return
		}
		var guids, missing []string
		for _, o := range req.Organizations {
			if s.st.org(o.GUID) == nil {
				missing = append(missing, o.GUID)
			}
			guids = append(guids, o.GUID)
		}
		if missing != nil {
			unprocessable(w, "Could not find orgs: [\"%s\"]", strings.Join(missing, "\", \""))
			return
		}
		if appending && p.visibility == visibilityOrganization {
			guids = append(append([]string{}, p.orgs...), guids...)
		}
		p.visibility, p.orgs = visibilityOrganization, dedupe(guids)
	default:
		unprocessable(w, "Type must be one of 'public', 'admin', 'organization'")
		return
	}
	p.updated = time.Now()
	writeJSON(w, http.StatusOK, s.presentVisibility(p))
}

// deleteOrgVisibility is DELETE /v3/service_plans/:guid/visibility/:org_guid.
func (s *Server) deleteOrgVisibility(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.admin {
		forbidden(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.st.plan(r.PathValue("guid"))
	if p == nil {
		notFound(w, "Service plan")
		return
	}
	if p.visibility != visibilityOrganization {
		unprocessable(w, "Cannot delete organization visibility for plans with visibility type '%s'", p.visibility)
		return
	}
	orgGUID := r.PathValue("org")
	kept := p.orgs[:0]
	for _, g := range p.orgs {
		if g != orgGUID {
			kept = append(kept, g)
		}
	}
	if len(kept) == len(p.orgs) {
		notFound(w, "Service plan visibility")
		return
	}
	p.orgs, p.updated = kept, time.Now()
	w.WriteHeader(http.StatusNoContent)
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range list {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
