package cfstandin

import (
	"encoding/json"
	"time"
)

// state is everything the stand-in knows; Server.mu guards it. Slices keep creation order,
// which is the order Cloud Controller lists resources in by default.
type state struct {
	users      []*user
	orgs       []*org
	spaces     []*space
	orgMembers map[string]map[string]bool // org guid → user guids with an org role
	brokers    []*broker
	offerings  []*offering
	plans      []*plan
	instances  []*instance
	bindings   []*binding
	jobs       map[string]*job
	// dashboardClients are the UAA clients made from catalogs' dashboard_client, by id;
	// codes the authorization codes issued to them and not yet redeemed.
	dashboardClients map[string]dashboardClient
	codes            map[string]authorizationCode
}

func newState() state {
	return state{orgMembers: map[string]map[string]bool{}, jobs: map[string]*job{},
		dashboardClients: map[string]dashboardClient{}, codes: map[string]authorizationCode{}}
}

type user struct {
	guid, name, password string
	admin                bool
	client               bool // a UAA client (client_credentials), not a user
}

type org struct {
	guid, name string
	created    time.Time
}

type space struct {
	guid, name, orgGUID string
	created             time.Time
}

type broker struct {
	guid, name, url    string
	username, password string
	spaceGUID          string // set for a space-scoped broker
	busy               bool   // a job is synchronising or deleting it
	created, updated   time.Time
}

type offering struct {
	guid, brokerGUID, catalogID string
	name, description           string
	tags, requires              []string
	bindable, planUpdateable    bool
	shareable                   bool
	documentationURL            string
	metadata                    json.RawMessage
	created, updated            time.Time
}

// Plan visibility types, as Cloud Controller names them.
const (
	visibilityAdmin        = "admin"
	visibilityPublic       = "public"
	visibilityOrganization = "organization"
	visibilitySpace        = "space"
)

type plan struct {
	guid, offeringGUID, catalogID string
	name, description             string
	free                          bool
	bindable                      *bool
	metadata                      json.RawMessage
	maintenanceInfo               json.RawMessage
	visibility                    string
	orgs                          []string // org guids, for visibility "organization"
	created, updated              time.Time
}

type lastOperation struct {
	Type        string `json:"type"`
	State       string `json:"state"`
	Description string `json:"description"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

type instance struct {
	guid, name, spaceGUID, planGUID string
	tags                            []string
	parameters                      json.RawMessage
	dashboardURL                    string
	// maintenanceInfo is what the instance runs: its plan's when it was created, the version
	// of its last upgrade since.
	maintenanceInfo  json.RawMessage
	lastOp           lastOperation
	created, updated time.Time
}

type binding struct {
	guid, name, instanceGUID string
	credentials              json.RawMessage
	lastOp                   lastOperation
	created, updated         time.Time
}

// Job states.
const (
	jobProcessing = "PROCESSING"
	jobPolling    = "POLLING"
	jobComplete   = "COMPLETE"
	jobFailed     = "FAILED"
)

type job struct {
	guid, operation, state string
	resourceLink           string // the resource the job works on
	errors                 []cfError
	warnings               []string
	created, updated       time.Time
}

func (st *state) addUser(name, password string, admin bool) *user {
	u := &user{guid: newGUID(), name: name, password: password, admin: admin}
	st.users = append(st.users, u)
	return u
}

func (st *state) userByName(name string) *user {
	for _, u := range st.users {
		if u.name == name && !u.client {
			return u
		}
	}
	return nil
}

func (st *state) userByGUID(guid string) *user {
	for _, u := range st.users {
		if u.guid == guid {
			return u
		}
	}
	return nil
}

func (st *state) orgByName(name string) *org {
	for _, o := range st.orgs {
		if o.name == name {
			return o
		}
	}
	return nil
}

func (st *state) org(guid string) *org {
	for _, o := range st.orgs {
		if o.guid == guid {
			return o
		}
	}
	return nil
}

func (st *state) space(guid string) *space {
	for _, sp := range st.spaces {
		if sp.guid == guid {
			return sp
		}
	}
	return nil
}

func (st *state) broker(guid string) *broker {
	for _, b := range st.brokers {
		if b.guid == guid {
			return b
		}
	}
	return nil
}

func (st *state) offering(guid string) *offering {
	for _, o := range st.offerings {
		if o.guid == guid {
			return o
		}
	}
	return nil
}

func (st *state) plan(guid string) *plan {
	for _, p := range st.plans {
		if p.guid == guid {
			return p
		}
	}
	return nil
}

func (st *state) instance(guid string) *instance {
	for _, i := range st.instances {
		if i.guid == guid {
			return i
		}
	}
	return nil
}

func (st *state) binding(guid string) *binding {
	for _, b := range st.bindings {
		if b.guid == guid {
			return b
		}
	}
	return nil
}

// planChain returns a plan's offering and broker.
func (st *state) planChain(p *plan) (*offering, *broker) {
	o := st.offering(p.offeringGUID)
	return o, st.broker(o.brokerGUID)
}

// isMember tells whether u has a role in the org, or is an admin.
func (st *state) isMember(u *user, orgGUID string) bool {
	return u.admin || st.orgMembers[orgGUID][u.guid]
}

// planVisibleInOrg tells whether a plan can be used in a space of the org: public, enabled
// for the org, or from a space-scoped broker whose space is in the org (and is that space,
// when spaceGUID is given).
func (st *state) planVisibleInOrg(p *plan, orgGUID, spaceGUID string) bool {
	switch p.visibility {
	case visibilityPublic:
		return true
	case visibilityOrganization:
		for _, g := range p.orgs {
			if g == orgGUID {
				return true
			}
		}
	case visibilitySpace:
		_, b := st.planChain(p)
		sp := st.space(b.spaceGUID)
		return sp != nil && sp.orgGUID == orgGUID && (spaceGUID == "" || spaceGUID == sp.guid)
	}
	return false
}

// planVisibleTo tells whether u may see a plan at all: admins see every plan, others those
// visible in one of their orgs.
func (st *state) planVisibleTo(u *user, p *plan) bool {
	if u.admin || p.visibility == visibilityPublic {
		return true
	}
	for _, o := range st.orgs {
		if st.orgMembers[o.guid][u.guid] && st.planVisibleInOrg(p, o.guid, "") {
			return true
		}
	}
	return false
}

// instancesOfBroker lists the instances of a broker's plans.
func (st *state) instancesOfBroker(brokerGUID string) []*instance {
	var found []*instance
	for _, i := range st.instances {
		if _, b := st.planChain(st.plan(i.planGUID)); b.guid == brokerGUID {
			found = append(found, i)
		}
	}
	return found
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
