package cfstandin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

func (s *Server) presentBinding(k *binding) map[string]any {
	return map[string]any{
		"guid": k.guid, "name": k.name, "type": "key",
		"last_operation": k.lastOp,
		"created_at":     timestamp(k.created), "updated_at": timestamp(k.updated),
		"relationships": map[string]any{"service_instance": relationship(k.instanceGUID)},
		"metadata":      emptyMetadata(),
		"links": s.links("self", "/v3/service_credential_bindings/"+k.guid, "details", "/v3/service_credential_bindings/"+k.guid+"/details",
			"service_instance", "/v3/service_instances/"+k.instanceGUID),
	}
}

func (s *Server) bindingVisibleTo(u *user, k *binding) bool {
	i := s.st.instance(k.instanceGUID)
	return i != nil && s.instanceVisibleTo(u, i)
}

// listBindings is GET /v3/service_credential_bindings (service keys only: there are no apps).
func (s *Server) listBindings(w http.ResponseWriter, r *http.Request, u *user) {
	q := query{r.URL.Query()}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []any
	for _, k := range s.st.bindings {
		i := s.st.instance(k.instanceGUID)
		if s.bindingVisibleTo(u, k) && q.matches("names", k.name) && q.matches("service_instance_guids", k.instanceGUID) &&
			q.matches("service_instance_names", i.name) && q.matches("type", "key") && q.list("app_guids") == nil {
			found = append(found, s.presentBinding(k))
		}
	}
	s.writeList(w, r, found, nil)
}

func (s *Server) getBinding(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.st.binding(r.PathValue("guid"))
	if k == nil || !s.bindingVisibleTo(u, k) {
		notFound(w, "Service credential binding")
		return
	}
	writeJSON(w, http.StatusOK, s.presentBinding(k))
}

// getBindingDetails is GET /v3/service_credential_bindings/:guid/details: the credentials
// the broker returned.
func (s *Server) getBindingDetails(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.st.binding(r.PathValue("guid"))
	if k == nil || !s.bindingVisibleTo(u, k) || k.lastOp.State != "succeeded" {
		notFound(w, "Service credential binding")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"credentials": rawOrEmpty(k.credentials)})
}

// createBinding is POST /v3/service_credential_bindings for a service key: recorded at once,
// bound at the broker by a job.
func (s *Server) createBinding(w http.ResponseWriter, r *http.Request, u *user) {
	var req struct {
		Type          string          `json:"type"`
		Name          string          `json:"name"`
		Parameters    json.RawMessage `json:"parameters"`
		Relationships struct {
			ServiceInstance struct{ Data struct{ GUID string } } `json:"service_instance"`
		} `json:"relationships"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.st.instance(req.Relationships.ServiceInstance.Data.GUID)
	switch {
	case req.Type != "key":
		unprocessable(w, "The stand-in serves service keys (type key) only")
		return
	case req.Name == "":
		unprocessable(w, "Name can't be blank")
		return
	case i == nil || !s.instanceVisibleTo(u, i):
		unprocessable(w, "The service instance could not be found: %s", req.Relationships.ServiceInstance.Data.GUID)
		return
	case i.lastOp.State != "succeeded":
		unprocessable(w, "There is an operation in progress for the service instance.")
		return
	}
	p := s.st.plan(i.planGUID)
	o, b := s.st.planChain(p)
	if bindable := o.bindable; (p.bindable == nil && !bindable) || (p.bindable != nil && !*p.bindable) {
		unprocessable(w, "Service plan does not allow bindings.")
		return
	}
	for _, other := range s.st.bindings {
		if other.instanceGUID == i.guid && other.name == req.Name {
			unprocessable(w, "The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with name '%s'.", req.Name)
			return
		}
	}
	now := time.Now()
	k := &binding{guid: newGUID(), name: req.Name, instanceGUID: i.guid, lastOp: newLastOperation("create", "in progress", ""), created: now, updated: now}
	s.st.bindings = append(s.st.bindings, k)
	sp := s.st.space(i.spaceGUID)
	spaceOrg := s.st.org(sp.orgGUID)
	body := map[string]any{
		"service_id": o.catalogID, "plan_id": p.catalogID,
		"bind_resource": map[string]string{"credential_client_id": clientIDOf(r)},
		"context": map[string]any{
			"platform":          "cloudfoundry",
			"organization_guid": spaceOrg.guid, "organization_name": spaceOrg.name,
			"space_guid": sp.guid, "space_name": sp.name,
		},
	}
	if len(req.Parameters) > 0 {
		body["parameters"] = req.Parameters
	}
	call := brokerCall{broker: endpointOf(b), method: http.MethodPut, path: "/v2/service_instances/" + i.guid + "/service_bindings/" + k.guid + "?accepts_incomplete=true", body: body, identity: u.guid}
	j := s.startJob("service_bindings.create", "/v3/service_credential_bindings/"+k.guid, func(ctx context.Context, _ *job) *cfError {
		return s.bind(ctx, k, call)
	})
	s.accepted(w, j)
}

// bind runs the broker's side of a service key: PUT, keeping the credentials it returns.
func (s *Server) bind(ctx context.Context, k *binding, call brokerCall) *cfError {
	resp, err := s.call(ctx, call)
	if err == nil {
		switch resp.status {
		case http.StatusOK, http.StatusCreated:
			var answer struct {
				Credentials json.RawMessage `json:"credentials"`
			}
			if json.Unmarshal(resp.body, &answer) == nil {
				s.mu.Lock()
				k.credentials = answer.Credentials
				s.mu.Unlock()
				s.setLastOperation(&k.lastOp, "succeeded", "")
				return nil
			}
			e := errBrokerMalformed.with("The service broker returned an invalid response: expected valid JSON object in body.")
			err = &e
		case http.StatusAccepted:
			e := errBindingFailed.with("The service broker answered the binding asynchronously, which the stand-in does not reproduce")
			err = &e
		default:
			err = resp.badResponse(call)
		}
	}
	s.setLastOperation(&k.lastOp, "failed", err.Detail)
	return err
}

// deleteBinding is DELETE /v3/service_credential_bindings/:guid: a job unbinds at the broker.
func (s *Server) deleteBinding(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.st.binding(r.PathValue("guid"))
	if k == nil || !s.bindingVisibleTo(u, k) {
		notFound(w, "Service credential binding")
		return
	}
	i := s.st.instance(k.instanceGUID)
	p := s.st.plan(i.planGUID)
	o, b := s.st.planChain(p)
	k.lastOp = newLastOperation("delete", "in progress", "")
	ids := url.Values{"service_id": {o.catalogID}, "plan_id": {p.catalogID}}
	endpoint := endpointOf(b)
	j := s.startJob("service_bindings.delete", "/v3/service_credential_bindings/"+k.guid, func(ctx context.Context, _ *job) *cfError {
		return s.unbind(ctx, endpoint, i, k, ids, u.guid)
	})
	s.accepted(w, j)
}

// unbind deletes a binding at the broker (a 410 means it is already gone) and then here.
func (s *Server) unbind(ctx context.Context, endpoint brokerEndpoint, i *instance, k *binding, ids url.Values, identity string) *cfError {
	query := url.Values{"accepts_incomplete": {"true"}, "service_id": ids["service_id"], "plan_id": ids["plan_id"]}
	call := brokerCall{broker: endpoint, method: http.MethodDelete, path: "/v2/service_instances/" + i.guid + "/service_bindings/" + k.guid + "?" + query.Encode(), identity: identity}
	resp, err := s.call(ctx, call)
	if err == nil && resp.status != http.StatusOK && resp.status != http.StatusGone {
		e := errUnableToPerform.with("unbind could not be completed: %s", resp.badResponse(call).Detail)
		err = &e
	}
	if err != nil {
		s.setLastOperation(&k.lastOp, "failed", err.Detail)
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.bindings = removeItem(s.st.bindings, k)
	return nil
}
