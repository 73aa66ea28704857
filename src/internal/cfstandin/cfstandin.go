// Package cfstandin is a Cloud Foundry stand-in for tests: one HTTPS server (httptest) that
// answers as Cloud Controller (CF API v3) and UAA do, for the subset of the API that the
// broker-registrar (through go-cfclient) and the cf CLI commands of the seed transcript use,
// and that talks to a service broker as Cloud Controller does. Cloud Foundry itself cannot run
// here; this is written from the CF API v3 documentation and cloud_controller_ng's error
// catalogue, and kept as small as those flows need.
//
// Served endpoints (state is in memory; lists paginate with page/per_page):
//
//	GET  /                                    root discovery document (links to v3, uaa, login)
//	GET  /v3, /v3/info                        v3 links; platform info (osbapi_version 2.17)
//	POST /oauth/token                         UAA: password, client_credentials, refresh_token and authorization_code grants; JWT access tokens
//	GET, POST /oauth/authorize                UAA: dashboard single sign-on (a login form, then a code to the dashboard client's redirect_uri)
//	GET  /login                               UAA login info (prompts)
//	GET, POST /v3/organizations[/:guid]       filters names, guids
//	GET, POST /v3/spaces[/:guid]              filters names, guids, organization_guids; include=organization
//	POST /v3/roles                            org and space roles (membership decides what a non-admin sees)
//	GET, POST, PATCH, DELETE /v3/service_brokers[/:guid]       create, update and delete run as jobs
//	GET  /v3/service_offerings[/:guid]        filters names, service_broker_guids/names, space_guids, organization_guids, available; fields[service_broker]
//	GET  /v3/service_plans[/:guid]            filters as offerings plus service_offering_guids/names; include=service_offering, fields[service_offering.service_broker]
//	GET, POST, PATCH /v3/service_plans/:guid/visibility, DELETE .../visibility/:org_guid
//	GET, POST, PATCH, DELETE /v3/service_instances[/:guid]     managed instances; create, upgrade (PATCH maintenance_info) and delete run as jobs
//	GET, POST, DELETE /v3/service_credential_bindings[/:guid], GET .../details   service keys
//	GET  /v3/jobs/:guid
//
// Cloud Controller behaviours reproduced:
//   - Broker create and update (of URL or credentials) fetch the broker's /v2/catalog with
//     basic auth and X-Broker-API-Version: 2.17 in a job, validate it, and synchronise service
//     offerings and plans by catalog id; a failure fails the job with CF's error code, title
//     and detail. New plans of a global broker are visible to admins only; a space-scoped
//     broker's plans are visible in its space only. Deleting a broker with instances is
//     refused (CF-ServiceBrokerNotRemovable).
//   - Plan visibility: a non-admin sees a plan (and its offering) only when it is public or
//     enabled for one of their orgs; the space_guids and organization_guids filters (which
//     cf marketplace uses) keep only plans visible there, for admins too; creating an instance
//     needs a plan visible in the space's org, for admins too.
//   - Create service: PUT to the broker with accepts_incomplete=true, X-Broker-API-Version,
//     X-Broker-API-Originating-Identity "cloudfoundry <base64 {"user_id":...}>", a request
//     identity and a cloudfoundry context (platform, organization and space guid and name,
//     instance_name); a 202 is followed by polling last_operation, honouring Retry-After.
//   - Upgrades (cf upgrade-service): an instance keeps the maintenance_info its plan had when
//     it was created, and the version of each upgrade; upgrade_available says whether that
//     version differs from the plan's, as refreshed from the catalog by a broker update. A
//     PATCH with the plan's maintenance_info version is an OSB update (PATCH, same plan_id,
//     maintenance_info, previous_values) in a job, polled as a create; a version that is
//     neither the plan's nor the instance's is refused (422), as is one for a plan without
//     maintenance_info.
//   - Service keys: PUT binding with bind_resource {credential_client_id} (no app), DELETE
//     binding; credentials are kept and served by .../details.
//   - Delete service: deletes the instance's bindings (DELETE at the broker), then DELETE the
//     instance with accepts_incomplete=true, polled as above (410 counts as gone).
//   - Dashboard SSO: registering a broker creates a UAA client per offering's dashboard_client;
//     /oauth/authorize logs a user in and redirects to its redirect_uri with a code, which the
//     client trades for the user's token with its secret (sso.go).
//   - Brokers are called over HTTP, or over HTTPS verified against the system's CAs and
//     Options.BrokerCACerts (the operator adds the broker's CA to Cloud Controller's trusted
//     certificates): a certificate none of them signed makes the broker unreachable.
//   - Asynchronous operations are jobs: PROCESSING, POLLING while the broker works, then
//     COMPLETE or FAILED with errors; the Location header of the 202 points at the job.
//
// Not reproduced: apps, routes, app bindings, async bindings, instance updates other than
// upgrades (name, tags, parameters, plan), sharing, UAA login sessions and consent, quotas, feature
// flags, audit events, label selectors, ordering.
package cfstandin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// APIVersion is the CF API v3 version the stand-in announces (the root document's
// cloud_controller_v3.meta.version): a Cloud Controller recent enough for cf CLI v8.
const APIVersion = "3.195.0"

// Options configure a stand-in.
type Options struct {
	// AdminUser and AdminPassword log in with the password grant and hold
	// cloud_controller.admin. AdminUser defaults to "admin".
	AdminUser, AdminPassword string
	// AdminClientID and AdminClientSecret, when set, log in with the client_credentials
	// grant as an admin client.
	AdminClientID, AdminClientSecret string
	// PollInterval is how long to wait between last_operation polls when the broker sends
	// no Retry-After (Cloud Controller's default is a minute). Default 200ms.
	PollInterval time.Duration
	// BrokerTimeout bounds each request to a broker (Cloud Controller: 60s). Default 60s.
	BrokerTimeout time.Duration
	// BrokerCACerts are PEM certificates of CAs trusted, besides the system's, when the
	// stand-in calls a broker over HTTPS, as Cloud Controller trusts the CAs of its
	// cc.mutual_tls / trusted certificates: a broker whose certificate none of them signed
	// is unreachable. The stand-in never skips the verification.
	BrokerCACerts []string
	// Logf, when set, receives one line per request to the stand-in and per request it
	// makes to a broker.
	Logf func(format string, args ...any)
}

// Server is a running stand-in.
type Server struct {
	URL string // https://127.0.0.1:port, the API and UAA endpoint

	opts       Options
	httpServer *httptest.Server
	broker     *http.Client // talks to service brokers
	tokenKey   []byte       // signs access tokens

	ctx    context.Context // cancelled by Close: stops running jobs
	cancel context.CancelFunc
	jobs   sync.WaitGroup

	mu sync.Mutex
	st state
}

// Start starts a stand-in on a loopback TLS listener; Close stops it.
func Start(opts Options) *Server {
	if opts.AdminUser == "" {
		opts.AdminUser = "admin"
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	if opts.BrokerTimeout == 0 {
		opts.BrokerTimeout = 60 * time.Second
	}
	s := &Server{opts: opts, tokenKey: randomBytes(32), st: newState()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.st.addUser(opts.AdminUser, opts.AdminPassword, true)
	s.httpServer = httptest.NewTLSServer(s.routes())
	s.URL = s.httpServer.URL
	brokerTLS, err := osbclient.TLSTrusting(opts.BrokerCACerts...)
	if err != nil {
		panic("cfstandin: Options.BrokerCACerts: " + err.Error()) // a mistake of the test that starts it
	}
	s.broker = &http.Client{Timeout: opts.BrokerTimeout, Transport: &http.Transport{TLSClientConfig: brokerTLS}}
	return s
}

// Close stops the server and waits for running jobs to give up.
func (s *Server) Close() {
	s.cancel()
	s.jobs.Wait()
	s.httpServer.Close()
}

// CACertPEM is the PEM certificate of the server's TLS certificate (self-signed): a client
// that trusts it needs no skip_ssl_validation.
func (s *Server) CACertPEM() string {
	return certPEM(s.httpServer.Certificate())
}

// AddUser adds a UAA user without admin rights and returns its GUID.
func (s *Server) AddUser(name, password string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addUser(name, password, false).guid
}

// AddOrgMember gives the user an org role (organization_user) in the named org, as
// `cf set-org-role` would.
func (s *Server) AddOrgMember(orgName, userName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.st.orgByName(orgName)
	u := s.st.userByName(userName)
	if o == nil || u == nil {
		return fmt.Errorf("no org %q or no user %q", orgName, userName)
	}
	s.st.orgMembers[o.guid][u.guid] = true
	return nil
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// routes maps every served endpoint to its handler.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.root)
	mux.HandleFunc("GET /v3", s.v3Root)
	mux.HandleFunc("GET /v3/info", s.info)
	mux.HandleFunc("POST /oauth/token", s.token)
	mux.HandleFunc("GET /oauth/authorize", s.authorize)
	mux.HandleFunc("POST /oauth/authorize", s.authorize)
	mux.HandleFunc("GET /login", s.loginInfo)

	api := func(pattern string, h func(http.ResponseWriter, *http.Request, *user)) {
		mux.HandleFunc(pattern, s.authenticated(h))
	}
	api("GET /v3/organizations", s.listOrgs)
	api("POST /v3/organizations", s.createOrg)
	api("GET /v3/organizations/{guid}", s.getOrg)
	api("GET /v3/spaces", s.listSpaces)
	api("POST /v3/spaces", s.createSpace)
	api("GET /v3/spaces/{guid}", s.getSpace)
	api("POST /v3/roles", s.createRole)

	api("GET /v3/service_brokers", s.listBrokers)
	api("POST /v3/service_brokers", s.createBroker)
	api("GET /v3/service_brokers/{guid}", s.getBroker)
	api("PATCH /v3/service_brokers/{guid}", s.updateBroker)
	api("DELETE /v3/service_brokers/{guid}", s.deleteBroker)

	api("GET /v3/service_offerings", s.listOfferings)
	api("GET /v3/service_offerings/{guid}", s.getOffering)
	api("GET /v3/service_plans", s.listPlans)
	api("GET /v3/service_plans/{guid}", s.getPlan)
	api("GET /v3/service_plans/{guid}/visibility", s.getVisibility)
	api("PATCH /v3/service_plans/{guid}/visibility", s.replaceVisibility)
	api("POST /v3/service_plans/{guid}/visibility", s.appendVisibility)
	api("DELETE /v3/service_plans/{guid}/visibility/{org}", s.deleteOrgVisibility)

	api("GET /v3/service_instances", s.listInstances)
	api("POST /v3/service_instances", s.createInstance)
	api("GET /v3/service_instances/{guid}", s.getInstance)
	api("PATCH /v3/service_instances/{guid}", s.updateInstance)
	api("DELETE /v3/service_instances/{guid}", s.deleteInstance)

	api("GET /v3/service_credential_bindings", s.listBindings)
	api("POST /v3/service_credential_bindings", s.createBinding)
	api("GET /v3/service_credential_bindings/{guid}", s.getBinding)
	api("GET /v3/service_credential_bindings/{guid}/details", s.getBindingDetails)
	api("DELETE /v3/service_credential_bindings/{guid}", s.deleteBinding)

	api("GET /v3/jobs/{guid}", s.getJob)

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, errNotFound, "Unknown request: the stand-in does not serve "+r.Method+" "+r.URL.Path)
	})
	return s.logRequests(mux)
}

// logRequests logs one line per request: method, path and query, status.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.logf("cf: %s %s -> %d", r.Method, r.URL.RequestURI(), rec.status)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// url is an absolute URL of the stand-in for path.
func (s *Server) url(path string) string { return s.URL + path }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// newGUID returns a random version 4 UUID, the shape of every CF GUID.
func newGUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return strings.Join([]string{h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]}, "-")
}
