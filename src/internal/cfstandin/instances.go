package cfstandin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// presentInstance is an instance as Cloud Controller shows it. upgrade_available says, as
// there, whether the maintenance_info version of the instance differs from its plan's: the
// broker published a new version (and the platform's catalog was refreshed) since the instance
// was created or last upgraded. Caller holds s.mu.
func (s *Server) presentInstance(i *instance) map[string]any {
	var dashboard any
	if i.dashboardURL != "" {
		dashboard = i.dashboardURL
	}
	upgradeAvailable := maintenanceVersion(i.maintenanceInfo) != maintenanceVersion(s.st.plan(i.planGUID).maintenanceInfo)
	return map[string]any{
		"guid": i.guid, "name": i.name, "type": "managed", "tags": nonNil(i.tags),
		"dashboard_url": dashboard, "upgrade_available": upgradeAvailable, "maintenance_info": rawOrEmpty(i.maintenanceInfo),
		"last_operation": i.lastOp,
		"created_at":     timestamp(i.created), "updated_at": timestamp(i.updated),
		"relationships": map[string]any{"space": relationship(i.spaceGUID), "service_plan": relationship(i.planGUID)},
		"metadata":      emptyMetadata(),
		"links": s.links("self", "/v3/service_instances/"+i.guid, "space", "/v3/spaces/"+i.spaceGUID,
			"service_plan", "/v3/service_plans/"+i.planGUID,
			"service_credential_bindings", "/v3/service_credential_bindings?service_instance_guids="+i.guid),
	}
}

func newLastOperation(kind, state, description string) lastOperation {
	now := timestamp(time.Now())
	return lastOperation{Type: kind, State: state, Description: description, CreatedAt: now, UpdatedAt: now}
}

// setLastOperation records the state of an instance's (or binding's) operation.
func (s *Server) setLastOperation(op *lastOperation, state, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op.State, op.Description, op.UpdatedAt = state, description, timestamp(time.Now())
}

func (s *Server) instanceVisibleTo(u *user, i *instance) bool {
	sp := s.st.space(i.spaceGUID)
	return sp != nil && s.st.isMember(u, sp.orgGUID)
}

// listInstances is GET /v3/service_instances, with the fields[] includes cf services and
// cf service ask for.
func (s *Server) listInstances(w http.ResponseWriter, r *http.Request, u *user) {
	q := query{r.URL.Query()}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []any
	var matched []*instance
	for _, i := range s.st.instances {
		sp := s.st.space(i.spaceGUID)
		p := s.st.plan(i.planGUID)
		if !s.instanceVisibleTo(u, i) || !q.matches("names", i.name) || !q.matches("guids", i.guid) ||
			!q.matches("space_guids", i.spaceGUID) || !q.matches("organization_guids", sp.orgGUID) ||
			!q.matches("service_plan_guids", p.guid) || !q.matches("service_plan_names", p.name) || !q.matches("type", "managed") {
			continue
		}
		found = append(found, s.presentInstance(i))
		matched = append(matched, i)
	}
	s.writeList(w, r, found, s.instanceIncludes(q, matched))
}

// instanceIncludes answers the fields[] parameters of an instance list: the instances'
// spaces, orgs, plans, offerings and brokers, each with the fields asked for.
func (s *Server) instanceIncludes(q query, instances []*instance) map[string][]any {
	included := map[string][]any{}
	seen := map[string]bool{}
	add := func(key, guid string, present func() map[string]any) {
		fields := q.list("fields[" + key + "]")
		if fields == nil || seen[key+guid] {
			return
		}
		seen[key+guid] = true
		name := map[string]string{"space": "spaces", "space.organization": "organizations", "service_plan": "service_plans",
			"service_plan.service_offering": "service_offerings", "service_plan.service_offering.service_broker": "service_brokers"}[key]
		included[name] = append(included[name], selectFields(present(), fields))
	}
	for _, i := range instances {
		sp := s.st.space(i.spaceGUID)
		p := s.st.plan(i.planGUID)
		o, b := s.st.planChain(p)
		add("space", sp.guid, func() map[string]any { return s.presentSpace(sp) })
		add("space.organization", sp.orgGUID, func() map[string]any { return s.presentOrg(s.st.org(sp.orgGUID)) })
		add("service_plan", p.guid, func() map[string]any { return s.presentPlan(p) })
		add("service_plan.service_offering", o.guid, func() map[string]any { return s.presentOffering(o) })
		add("service_plan.service_offering.service_broker", b.guid, func() map[string]any { return s.presentBroker(b) })
	}
	return included
}

// visibleInstance is the instance the request's path names if u may see it; otherwise it
// answers 404, as Cloud Controller does for an instance of another space, and returns nil.
// The caller holds s.mu.
func (s *Server) visibleInstance(w http.ResponseWriter, r *http.Request, u *user) *instance {
	i := s.st.instance(r.PathValue("guid"))
	if i == nil || !s.instanceVisibleTo(u, i) {
		notFound(w, "Service instance")
		return nil
	}
	return i
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.visibleInstance(w, r, u)
	if i == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.presentInstance(i))
}

// createInstance is POST /v3/service_instances for a managed instance: recorded at once with
// a "create in progress" last operation; a job provisions it at the broker.
func (s *Server) createInstance(w http.ResponseWriter, r *http.Request, u *user) {
	var req struct {
		Type          string          `json:"type"`
		Name          string          `json:"name"`
		Tags          []string        `json:"tags"`
		Parameters    json.RawMessage `json:"parameters"`
		Relationships struct {
			Space       struct{ Data struct{ GUID string } } `json:"space"`
			ServicePlan struct{ Data struct{ GUID string } } `json:"service_plan"`
		} `json:"relationships"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.st.space(req.Relationships.Space.Data.GUID)
	p := s.st.plan(req.Relationships.ServicePlan.Data.GUID)
	switch {
	case req.Type != "managed":
		unprocessable(w, "The stand-in serves managed service instances only")
		return
	case req.Name == "":
		unprocessable(w, "Name can't be blank")
		return
	case sp == nil || !s.st.isMember(u, sp.orgGUID):
		unprocessable(w, "Invalid space. Ensure that the space exists and you have access to it.")
		return
	case p == nil || !s.st.planVisibleInOrg(p, sp.orgGUID, sp.guid):
		unprocessable(w, "Invalid service plan. Ensure that the service plan exists, is available, and you have access to it.")
		return
	}
	for _, other := range s.st.instances {
		if other.spaceGUID == sp.guid && other.name == req.Name {
			unprocessable(w, "The service instance name is taken: %s.", req.Name)
			return
		}
	}
	now := time.Now()
	i := &instance{guid: newGUID(), name: req.Name, spaceGUID: sp.guid, planGUID: p.guid, tags: req.Tags, parameters: req.Parameters,
		maintenanceInfo: p.maintenanceInfo, lastOp: newLastOperation("create", "in progress", ""), created: now, updated: now}
	s.st.instances = append(s.st.instances, i)
	o, b := s.st.planChain(p)
	spaceOrg := s.st.org(sp.orgGUID)
	body := map[string]any{
		"service_id": o.catalogID, "plan_id": p.catalogID,
		"organization_guid": spaceOrg.guid, "space_guid": sp.guid, "context": cloudfoundryContext(spaceOrg, sp, i),
	}
	if len(req.Parameters) > 0 {
		body["parameters"] = req.Parameters
	}
	if len(p.maintenanceInfo) > 0 {
		body["maintenance_info"] = p.maintenanceInfo
	}
	call := brokerCall{broker: endpointOf(b), method: http.MethodPut, path: "/v2/service_instances/" + i.guid + "?accepts_incomplete=true", body: body, identity: u.guid}
	ids := url.Values{"service_id": {o.catalogID}, "plan_id": {p.catalogID}}
	j := s.startJob("service_instance.create", "/v3/service_instances/"+i.guid, func(ctx context.Context, j *job) *cfError {
		return s.instanceOperation(ctx, j, i, call, ids, func(description string) cfError {
			return errProvisionFailed.with("The service broker reported an error during provisioning: %s", description)
		})
	})
	s.accepted(w, j)
}

// cloudfoundryContext is the OSB context Cloud Controller sends with an instance's requests.
func cloudfoundryContext(o *org, sp *space, i *instance) map[string]any {
	return map[string]any{
		"platform":          "cloudfoundry",
		"organization_guid": o.guid, "organization_name": o.name, "organization_annotations": map[string]string{},
		"space_guid": sp.guid, "space_name": sp.name, "space_annotations": map[string]string{},
		"instance_name": i.name, "instance_annotations": map[string]string{},
	}
}

// instanceOperation runs the broker's side of a create or an update: call (PUT or PATCH),
// then last_operation polling for a 202, keeping the instance's last operation up to date.
// failed is Cloud Controller's error for a broker that reports the operation failed.
func (s *Server) instanceOperation(ctx context.Context, j *job, i *instance, call brokerCall, ids url.Values, failed func(description string) cfError) *cfError {
	fail := func(e *cfError) *cfError {
		s.setLastOperation(&i.lastOp, "failed", e.Detail)
		return e
	}
	resp, err := s.call(ctx, call)
	if err != nil {
		return fail(err)
	}
	var answer struct {
		DashboardURL *string `json:"dashboard_url"`
		Operation    string  `json:"operation"`
	}
	_ = json.Unmarshal(resp.body, &answer)
	if answer.DashboardURL != nil {
		s.mu.Lock()
		i.dashboardURL = *answer.DashboardURL
		s.mu.Unlock()
	}
	switch resp.status {
	case http.StatusOK, http.StatusCreated:
		s.setLastOperation(&i.lastOp, "succeeded", "")
		return nil
	case http.StatusAccepted:
	default:
		return fail(resp.badResponse(call))
	}
	s.setJobState(j, jobPolling)
	if answer.Operation != "" {
		ids.Set("operation", answer.Operation)
	}
	poll := brokerCall{broker: call.broker, method: http.MethodGet, path: "/v2/service_instances/" + i.guid + "/last_operation?" + ids.Encode(), identity: call.identity}
	state, description, _, err := s.pollLastOperation(ctx, poll, func(state, description string) {
		s.setLastOperation(&i.lastOp, state, description)
	})
	if err != nil {
		return fail(err)
	}
	if state != "succeeded" {
		e := failed(description)
		return fail(&e)
	}
	return nil
}

// maintenanceVersion is the version of a maintenance_info object; "" when there is none.
func maintenanceVersion(raw json.RawMessage) string {
	var info struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(raw, &info)
	return info.Version
}

// updateInstance is PATCH /v3/service_instances/:guid for what `cf upgrade-service` sends:
// {"maintenance_info": {"version": ...}}. As Cloud Controller, it refuses a version that is
// neither the plan's nor the instance's, and a plan without maintenance_info; the instance's
// own version changes nothing and answers at once; the plan's is sent to the broker as an
// update in a job (plan_id unchanged, maintenance_info and previous_values), polled as a
// create is, and recorded as the instance's once the broker succeeded.
func (s *Server) updateInstance(w http.ResponseWriter, r *http.Request, u *user) {
	var req map[string]json.RawMessage
	if !decode(w, r, &req) {
		return
	}
	var info struct {
		Version string `json:"version"`
	}
	for key, value := range req {
		if key != "maintenance_info" {
			unprocessable(w, "The stand-in updates an instance's maintenance_info only, not %s", key)
			return
		}
		if err := json.Unmarshal(value, &info); err != nil {
			writeError(w, http.StatusBadRequest, errMessageParse, "Request invalid due to parse error: maintenance_info: "+err.Error())
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.visibleInstance(w, r, u)
	if i == nil {
		return
	}
	p := s.st.plan(i.planGUID)
	current := maintenanceVersion(i.maintenanceInfo)
	switch {
	case i.lastOp.State == "in progress":
		writeError(w, http.StatusConflict, errOperationInProgress, "An operation for service instance "+i.name+" is in progress.")
		return
	case info.Version != "" && len(p.maintenanceInfo) == 0:
		unprocessable(w, "The service broker does not support upgrades for service instances created from this plan.")
		return
	case info.Version != "" && info.Version != maintenanceVersion(p.maintenanceInfo) && info.Version != current:
		unprocessable(w, "maintenance_info.version requested is invalid. Please ensure the catalog is up to date and you are providing a version supported by this service plan.")
		return
	case info.Version == "" || info.Version == current:
		// Nothing for the broker to do: Cloud Controller updates such an instance at once.
		i.lastOp, i.updated = newLastOperation("update", "succeeded", ""), time.Now()
		writeJSON(w, http.StatusOK, s.presentInstance(i))
		return
	}
	o, b := s.st.planChain(p)
	sp := s.st.space(i.spaceGUID)
	previous := map[string]any{"plan_id": p.catalogID, "service_id": o.catalogID, "organization_id": sp.orgGUID, "space_id": sp.guid}
	if len(i.maintenanceInfo) > 0 {
		previous["maintenance_info"] = map[string]string{"version": current}
	}
	upgraded := map[string]string{"version": info.Version}
	body := map[string]any{
		"service_id": o.catalogID, "plan_id": p.catalogID, "previous_values": previous,
		"maintenance_info": upgraded, "context": cloudfoundryContext(s.st.org(sp.orgGUID), sp, i),
	}
	i.lastOp, i.updated = newLastOperation("update", "in progress", ""), time.Now()
	call := brokerCall{broker: endpointOf(b), method: http.MethodPatch, path: "/v2/service_instances/" + i.guid + "?accepts_incomplete=true", body: body, identity: u.guid}
	ids := url.Values{"service_id": {o.catalogID}, "plan_id": {p.catalogID}}
	j := s.startJob("service_instance.update", "/v3/service_instances/"+i.guid, func(ctx context.Context, j *job) *cfError {
		if err := s.instanceOperation(ctx, j, i, call, ids, func(description string) cfError {
			return errUnableToPerform.with("update could not be completed: %s", description)
		}); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		// Cloud Controller keeps the version alone of an upgrade, as the request gave it.
		i.maintenanceInfo, _ = json.Marshal(upgraded)
		return nil
	})
	s.accepted(w, j)
}

// deleteInstance is DELETE /v3/service_instances/:guid: a job deletes the instance's
// bindings at the broker, then the instance itself.
func (s *Server) deleteInstance(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.visibleInstance(w, r, u)
	if i == nil {
		return
	}
	if i.lastOp.State == "in progress" {
		writeError(w, http.StatusConflict, errOperationInProgress, "An operation for service instance "+i.name+" is in progress.")
		return
	}
	p := s.st.plan(i.planGUID)
	o, b := s.st.planChain(p)
	i.lastOp = newLastOperation("delete", "in progress", "")
	ids := url.Values{"service_id": {o.catalogID}, "plan_id": {p.catalogID}}
	endpoint := endpointOf(b)
	var keys []*binding
	for _, k := range s.st.bindings {
		if k.instanceGUID == i.guid {
			keys = append(keys, k)
		}
	}
	j := s.startJob("service_instance.delete", "/v3/service_instances/"+i.guid, func(ctx context.Context, j *job) *cfError {
		for _, k := range keys {
			if err := s.unbind(ctx, endpoint, i, k, ids, u.guid); err != nil {
				s.setLastOperation(&i.lastOp, "failed", err.Detail)
				return err
			}
		}
		return s.deprovision(ctx, j, endpoint, i, ids, u.guid)
	})
	s.accepted(w, j)
}

// deprovision runs the broker's side of a delete: DELETE, then polling for a 202.
func (s *Server) deprovision(ctx context.Context, j *job, endpoint brokerEndpoint, i *instance, ids url.Values, identity string) *cfError {
	fail := func(e *cfError) *cfError {
		s.setLastOperation(&i.lastOp, "failed", e.Detail)
		return e
	}
	query := url.Values{"accepts_incomplete": {"true"}}
	for k, v := range ids {
		query[k] = v
	}
	call := brokerCall{broker: endpoint, method: http.MethodDelete, path: "/v2/service_instances/" + i.guid + "?" + query.Encode(), identity: identity}
	resp, err := s.call(ctx, call)
	if err != nil {
		return fail(err)
	}
	switch resp.status {
	case http.StatusOK, http.StatusGone:
	case http.StatusAccepted:
		s.setJobState(j, jobPolling)
		var answer struct {
			Operation string `json:"operation"`
		}
		_ = json.Unmarshal(resp.body, &answer)
		if answer.Operation != "" {
			ids.Set("operation", answer.Operation)
		}
		poll := brokerCall{broker: endpoint, method: http.MethodGet, path: "/v2/service_instances/" + i.guid + "/last_operation?" + ids.Encode(), identity: identity}
		state, description, gone, err := s.pollLastOperation(ctx, poll, func(state, description string) {
			s.setLastOperation(&i.lastOp, state, description)
		})
		if err != nil {
			return fail(err)
		}
		if !gone && state != "succeeded" {
			e := errDeprovisionFailed.with("The service broker reported an error during deprovisioning: %s", description)
			return fail(&e)
		}
	default:
		e := errDeprovisionFailed.with("The service broker reported an error during deprovisioning: %s", resp.description())
		return fail(&e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.instances = removeItem(s.st.instances, i)
	return nil
}

func removeItem[T comparable](list []T, item T) []T {
	kept := make([]T, 0, len(list))
	for _, v := range list {
		if v != item {
			kept = append(kept, v)
		}
	}
	return kept
}
