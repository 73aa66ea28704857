package cfstandin

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

func (s *Server) presentBroker(b *broker) map[string]any {
	links := s.links("self", "/v3/service_brokers/"+b.guid, "service_offerings", "/v3/service_offerings?service_broker_guids="+b.guid)
	if b.spaceGUID != "" {
		links["space"] = link{Href: s.url("/v3/spaces/" + b.spaceGUID)}
	}
	return map[string]any{
		"guid": b.guid, "name": b.name, "url": b.url,
		"created_at": timestamp(b.created), "updated_at": timestamp(b.updated),
		"relationships": map[string]any{"space": relationship(b.spaceGUID)},
		"metadata":      emptyMetadata(),
		"links":         links,
	}
}

// brokerVisibleTo: admins see every broker; the stand-in has no space developers who could
// see space-scoped ones.
func brokerVisibleTo(u *user) bool { return u.admin }

// listBrokers is GET /v3/service_brokers.
func (s *Server) listBrokers(w http.ResponseWriter, r *http.Request, u *user) {
	q := query{r.URL.Query()}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []any
	for _, b := range s.st.brokers {
		if brokerVisibleTo(u) && q.matches("names", b.name) && q.matches("space_guids", b.spaceGUID) {
			found = append(found, s.presentBroker(b))
		}
	}
	s.writeList(w, r, found, nil)
}

func (s *Server) getBroker(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.st.broker(r.PathValue("guid"))
	if b == nil || !brokerVisibleTo(u) {
		notFound(w, "Service broker")
		return
	}
	writeJSON(w, http.StatusOK, s.presentBroker(b))
}

// brokerAuthentication is the authentication object of create and update requests.
type brokerAuthentication struct {
	Type        string `json:"type"`
	Credentials struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"credentials"`
}

func validBrokerURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// createBroker is POST /v3/service_brokers: the broker is recorded at once and a job
// fetches and synchronises its catalog.
func (s *Server) createBroker(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.admin {
		forbidden(w)
		return
	}
	var req struct {
		Name           string               `json:"name"`
		URL            string               `json:"url"`
		Authentication brokerAuthentication `json:"authentication"`
		Relationships  struct {
			Space *struct {
				Data struct {
					GUID string `json:"guid"`
				} `json:"data"`
			} `json:"space"`
		} `json:"relationships"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case req.Name == "":
		unprocessable(w, "Name must be a string")
		return
	case !validBrokerURL(req.URL):
		unprocessable(w, "Url must be a valid url")
		return
	case req.Authentication.Type != "basic" || req.Authentication.Credentials.Username == "" || req.Authentication.Credentials.Password == "":
		unprocessable(w, "Authentication type must be basic, with a username and a password")
		return
	}
	for _, b := range s.st.brokers {
		if b.name == req.Name {
			unprocessable(w, "Name must be unique")
			return
		}
	}
	now := time.Now()
	b := &broker{guid: newGUID(), name: req.Name, url: req.URL, username: req.Authentication.Credentials.Username,
		password: req.Authentication.Credentials.Password, busy: true, created: now, updated: now}
	if req.Relationships.Space != nil {
		b.spaceGUID = req.Relationships.Space.Data.GUID
		if s.st.space(b.spaceGUID) == nil {
			unprocessable(w, "Invalid space. Ensure that the space exists and you have access to it.")
			return
		}
	}
	s.st.brokers = append(s.st.brokers, b)
	endpoint := endpointOf(b)
	s.accepted(w, s.synchronizeJob("service_broker.catalog.synchronize", b, endpoint, func() {}))
}

// updateBroker is PATCH /v3/service_brokers/:guid. A new URL or new credentials are applied
// by a job, and only once the broker's catalog has been fetched with them; a name alone is
// changed at once.
func (s *Server) updateBroker(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.admin {
		forbidden(w)
		return
	}
	var req struct {
		Name           *string               `json:"name"`
		URL            *string               `json:"url"`
		Authentication *brokerAuthentication `json:"authentication"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.st.broker(r.PathValue("guid"))
	if b == nil {
		notFound(w, "Service broker")
		return
	}
	if b.busy {
		unprocessable(w, "Cannot update a broker when other operation is already in progress")
		return
	}
	if req.URL != nil && !validBrokerURL(*req.URL) {
		unprocessable(w, "Url must be a valid url")
		return
	}
	if a := req.Authentication; a != nil && (a.Type != "basic" || a.Credentials.Username == "" || a.Credentials.Password == "") {
		unprocessable(w, "Authentication type must be basic, with a username and a password")
		return
	}
	if req.Name != nil {
		for _, other := range s.st.brokers {
			if other.name == *req.Name && other != b {
				unprocessable(w, "Name must be unique")
				return
			}
		}
		b.name, b.updated = *req.Name, time.Now()
	}
	if req.URL == nil && req.Authentication == nil {
		writeJSON(w, http.StatusOK, s.presentBroker(b))
		return
	}
	endpoint := endpointOf(b)
	if req.URL != nil {
		endpoint.url = *req.URL
	}
	if req.Authentication != nil {
		endpoint.username, endpoint.password = req.Authentication.Credentials.Username, req.Authentication.Credentials.Password
	}
	b.busy = true
	s.accepted(w, s.synchronizeJob("service_broker.update", b, endpoint, func() {
		b.url, b.username, b.password, b.updated = endpoint.url, endpoint.username, endpoint.password, time.Now()
	}))
}

// synchronizeJob starts the job that fetches b's catalog from endpoint, as Cloud Controller
// does on broker create and update; once the catalog is fetched, apply records what the
// request changes, then the offerings and plans are synchronized with the catalog.
func (s *Server) synchronizeJob(operation string, b *broker, endpoint brokerEndpoint, apply func()) *job {
	return s.startJob(operation, "/v3/service_brokers/"+b.guid, func(ctx context.Context, _ *job) *cfError {
		cat, failure := s.fetchCatalog(ctx, endpoint)
		s.mu.Lock()
		defer s.mu.Unlock()
		b.busy = false
		if failure != nil {
			return failure
		}
		apply()
		s.synchronize(b, cat)
		return nil
	})
}

// deleteBroker is DELETE /v3/service_brokers/:guid, refused while instances of its plans
// exist.
func (s *Server) deleteBroker(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.admin {
		forbidden(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.st.broker(r.PathValue("guid"))
	if b == nil {
		notFound(w, "Service broker")
		return
	}
	if len(s.st.instancesOfBroker(b.guid)) > 0 {
		writeError(w, http.StatusUnprocessableEntity, errBrokerNotRemovable, "Can not remove brokers that have associated service instances: "+b.name)
		return
	}
	if b.busy {
		unprocessable(w, "Cannot delete a broker when other operation is already in progress")
		return
	}
	b.busy = true
	j := s.startJob("service_broker.delete", "/v3/service_brokers/"+b.guid, func(context.Context, *job) *cfError {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.st.removeBroker(b)
		return nil
	})
	s.accepted(w, j)
}

// synchronize makes the broker's offerings and plans those of its catalog, matched by
// catalog id. New plans of a global broker are visible to admins only until an admin
// enables access; a space-scoped broker's plans are visible in its space. Offerings and
// plans gone from the catalog are removed unless instances still use them. Caller holds s.mu.
func (s *Server) synchronize(b *broker, cat catalog) {
	now := time.Now()
	s.st.registerDashboardClients(cat)
	keepOfferings, keepPlans := map[string]bool{}, map[string]bool{}
	for _, svc := range cat.Services {
		o := s.st.offeringByCatalogID(b.guid, svc.ID)
		if o == nil {
			o = &offering{guid: newGUID(), brokerGUID: b.guid, catalogID: svc.ID, created: now}
			s.st.offerings = append(s.st.offerings, o)
		}
		o.name, o.description, o.tags, o.requires = svc.Name, svc.Description, svc.Tags, svc.Requires
		o.bindable, o.planUpdateable, o.metadata, o.updated = svc.Bindable, svc.PlanUpdateable, svc.Metadata, now
		o.shareable, o.documentationURL = metadataFlag(svc.Metadata, "shareable"), metadataString(svc.Metadata, "documentationUrl")
		keepOfferings[o.guid] = true
		for _, cp := range svc.Plans {
			p := s.st.planByCatalogID(o.guid, cp.ID)
			if p == nil {
				p = &plan{guid: newGUID(), offeringGUID: o.guid, catalogID: cp.ID, visibility: visibilityAdmin, created: now}
				if b.spaceGUID != "" {
					p.visibility = visibilitySpace
				}
				s.st.plans = append(s.st.plans, p)
			}
			p.name, p.description, p.bindable, p.metadata, p.maintenanceInfo, p.updated = cp.Name, cp.Description, cp.Bindable, cp.Metadata, cp.MaintenanceInfo, now
			p.free = cp.Free == nil || *cp.Free
			keepPlans[p.guid] = true
		}
	}
	used := map[string]bool{}
	for _, i := range s.st.instances {
		used[i.planGUID] = true
	}
	plans := s.st.plans[:0]
	for _, p := range s.st.plans {
		if o := s.st.offering(p.offeringGUID); o.brokerGUID != b.guid || keepPlans[p.guid] || used[p.guid] {
			plans = append(plans, p)
			keepOfferings[p.offeringGUID] = keepOfferings[p.offeringGUID] || o.brokerGUID == b.guid
		}
	}
	s.st.plans = plans
	offerings := s.st.offerings[:0]
	for _, o := range s.st.offerings {
		if o.brokerGUID != b.guid || keepOfferings[o.guid] {
			offerings = append(offerings, o)
		}
	}
	s.st.offerings = offerings
}

func (st *state) offeringByCatalogID(brokerGUID, id string) *offering {
	for _, o := range st.offerings {
		if o.brokerGUID == brokerGUID && o.catalogID == id {
			return o
		}
	}
	return nil
}

func (st *state) planByCatalogID(offeringGUID, id string) *plan {
	for _, p := range st.plans {
		if p.offeringGUID == offeringGUID && p.catalogID == id {
			return p
		}
	}
	return nil
}

// removeBroker deletes a broker with its offerings and plans (it has no instances).
func (st *state) removeBroker(b *broker) {
	offerings := map[string]bool{}
	keptOfferings := st.offerings[:0]
	for _, o := range st.offerings {
		if o.brokerGUID == b.guid {
			offerings[o.guid] = true
		} else {
			keptOfferings = append(keptOfferings, o)
		}
	}
	st.offerings = keptOfferings
	keptPlans := st.plans[:0]
	for _, p := range st.plans {
		if !offerings[p.offeringGUID] {
			keptPlans = append(keptPlans, p)
		}
	}
	st.plans = keptPlans
	keptBrokers := st.brokers[:0]
	for _, other := range st.brokers {
		if other != b {
			keptBrokers = append(keptBrokers, other)
		}
	}
	st.brokers = keptBrokers
}
