package cfstandin

import (
	"net/http"
	"time"
)

func (s *Server) presentOrg(o *org) map[string]any {
	return map[string]any{
		"guid": o.guid, "name": o.name, "suspended": false,
		"created_at": timestamp(o.created), "updated_at": timestamp(o.created),
		"relationships": map[string]any{"quota": relationship("")},
		"metadata":      emptyMetadata(),
		"links":         s.links("self", "/v3/organizations/"+o.guid),
	}
}

func (s *Server) presentSpace(sp *space) map[string]any {
	return map[string]any{
		"guid": sp.guid, "name": sp.name,
		"created_at": timestamp(sp.created), "updated_at": timestamp(sp.created),
		"relationships": map[string]any{"organization": relationship(sp.orgGUID), "quota": relationship("")},
		"metadata":      emptyMetadata(),
		"links":         s.links("self", "/v3/spaces/"+sp.guid, "organization", "/v3/organizations/"+sp.orgGUID),
	}
}

func emptyMetadata() map[string]any {
	return map[string]any{"labels": map[string]string{}, "annotations": map[string]string{}}
}

// listOrgs is GET /v3/organizations: the orgs the user has a role in (all for admins).
func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request, u *user) {
	q := query{r.URL.Query()}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []any
	for _, o := range s.st.orgs {
		if s.st.isMember(u, o.guid) && q.matches("names", o.name) && q.matches("guids", o.guid) {
			found = append(found, s.presentOrg(o))
		}
	}
	s.writeList(w, r, found, nil)
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.st.org(r.PathValue("guid"))
	if o == nil || !s.st.isMember(u, o.guid) {
		notFound(w, "Organization")
		return
	}
	writeJSON(w, http.StatusOK, s.presentOrg(o))
}

// createOrg is POST /v3/organizations (admins only: user_org_creation is off).
func (s *Server) createOrg(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.admin {
		forbidden(w)
		return
	}
	var req struct {
		Name string `json:"name"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Name == "" {
		unprocessable(w, "Name can't be blank")
		return
	}
	if s.st.orgByName(req.Name) != nil {
		unprocessable(w, "Organization '%s' already exists.", req.Name)
		return
	}
	o := &org{guid: newGUID(), name: req.Name, created: time.Now()}
	s.st.orgs = append(s.st.orgs, o)
	s.st.orgMembers[o.guid] = map[string]bool{}
	writeJSON(w, http.StatusCreated, s.presentOrg(o))
}

// listSpaces is GET /v3/spaces: spaces of the orgs the user has a role in.
func (s *Server) listSpaces(w http.ResponseWriter, r *http.Request, u *user) {
	q := query{r.URL.Query()}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []any
	orgs := map[string]bool{}
	for _, sp := range s.st.spaces {
		if s.st.isMember(u, sp.orgGUID) && q.matches("names", sp.name) && q.matches("guids", sp.guid) && q.matches("organization_guids", sp.orgGUID) {
			found = append(found, s.presentSpace(sp))
			orgs[sp.orgGUID] = true
		}
	}
	var included map[string][]any
	if q.matches("include", "organization") && q.list("include") != nil {
		included = map[string][]any{"organizations": {}}
		for _, o := range s.st.orgs {
			if orgs[o.guid] {
				included["organizations"] = append(included["organizations"], s.presentOrg(o))
			}
		}
	}
	s.writeList(w, r, found, included)
}

func (s *Server) getSpace(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.st.space(r.PathValue("guid"))
	if sp == nil || !s.st.isMember(u, sp.orgGUID) {
		notFound(w, "Space")
		return
	}
	body := s.presentSpace(sp)
	if r.URL.Query().Get("include") == "organization" {
		body["included"] = map[string][]any{"organizations": {s.presentOrg(s.st.org(sp.orgGUID))}}
	}
	writeJSON(w, http.StatusOK, body)
}

// createSpace is POST /v3/spaces (admins only here).
func (s *Server) createSpace(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.admin {
		forbidden(w)
		return
	}
	var req struct {
		Name          string `json:"name"`
		Relationships struct {
			Organization struct {
				Data struct {
					GUID string `json:"guid"`
				} `json:"data"`
			} `json:"organization"`
		} `json:"relationships"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	orgGUID := req.Relationships.Organization.Data.GUID
	if s.st.org(orgGUID) == nil {
		unprocessable(w, "Invalid organization. Ensure the organization exists and you have access to it.")
		return
	}
	if req.Name == "" {
		unprocessable(w, "Name can't be blank")
		return
	}
	for _, sp := range s.st.spaces {
		if sp.orgGUID == orgGUID && sp.name == req.Name {
			unprocessable(w, "Name must be unique per organization")
			return
		}
	}
	sp := &space{guid: newGUID(), name: req.Name, orgGUID: orgGUID, created: time.Now()}
	s.st.spaces = append(s.st.spaces, sp)
	writeJSON(w, http.StatusCreated, s.presentSpace(sp))
}

// createRole is POST /v3/roles, which cf create-org and cf create-space send to make their
// creator a manager. Any role in an org, or in one of its spaces, makes the user a member of
// the org, which is what plan visibility asks.
func (s *Server) createRole(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.admin {
		forbidden(w)
		return
	}
	type to1 struct {
		Data struct {
			GUID     string `json:"guid"`
			Username string `json:"username"`
		} `json:"data"`
	}
	var req struct {
		Type          string `json:"type"`
		Relationships struct {
			User         to1  `json:"user"`
			Organization *to1 `json:"organization"`
			Space        *to1 `json:"space"`
		} `json:"relationships"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	member := s.st.userByGUID(req.Relationships.User.Data.GUID)
	if member == nil {
		member = s.st.userByName(req.Relationships.User.Data.Username)
	}
	if member == nil {
		unprocessable(w, "Invalid user. Ensure that the user exists and you have access to it.")
		return
	}
	orgGUID, spaceGUID := "", ""
	switch {
	case req.Relationships.Organization != nil:
		orgGUID = req.Relationships.Organization.Data.GUID
	case req.Relationships.Space != nil:
		spaceGUID = req.Relationships.Space.Data.GUID
		if sp := s.st.space(spaceGUID); sp != nil {
			orgGUID = sp.orgGUID
		}
	}
	if s.st.org(orgGUID) == nil {
		unprocessable(w, "Invalid organization or space. Ensure that it exists and you have access to it.")
		return
	}
	s.st.orgMembers[orgGUID][member.guid] = true
	rel := map[string]any{"user": relationship(member.guid), "organization": relationship(""), "space": relationship("")}
	if spaceGUID != "" {
		rel["space"] = relationship(spaceGUID)
	} else {
		rel["organization"] = relationship(orgGUID)
	}
	now := timestamp(time.Now())
	writeJSON(w, http.StatusCreated, map[string]any{
		"guid": newGUID(), "type": req.Type, "created_at": now, "updated_at": now, "relationships": rel,
	})
}
