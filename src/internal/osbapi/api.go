// Package osbapi is the HTTP face of the broker: the Open Service Broker API v2.17 on
// gorilla/mux, one file per endpoint. It checks what every request must carry (basic auth,
// X-Broker-API-Version), decodes and validates the wire format, and maps the Broker's answers
// and errors to status codes and bodies exactly as the spec (../shared/reference/osb-notes.md)
// asks. What an operation means is the Broker's business. The operator's endpoints live here
// too: /admin/... (admin*.go), Prometheus's /metrics (metrics.go) and the dashboard's pages
// (dashboard.go).
package osbapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// Broker is the domain the API serves. Errors of type *Error reach the platform as they are;
// any other error is a 500.
type Broker interface {
	Catalog(ctx context.Context) (json.RawMessage, error)
	Provision(ctx context.Context, req ProvisionRequest) (ProvisionResponse, error)
	GetInstance(ctx context.Context, instanceID string) (InstanceResponse, error)
	Update(ctx context.Context, req UpdateRequest) (OperationResponse, error)
	Deprovision(ctx context.Context, req DeprovisionRequest) (OperationResponse, error)
	LastOperation(ctx context.Context, req LastOperationRequest) (LastOperationResponse, error)
	Bind(ctx context.Context, req BindRequest) (BindResponse, error)
	GetBinding(ctx context.Context, instanceID, bindingID string) (BindResponse, error)
	Unbind(ctx context.Context, req UnbindRequest) error
	BindingLastOperation(ctx context.Context, req LastOperationRequest) (LastOperationResponse, error)
}

// Admin is what the operator's endpoints report.
type Admin interface {
	// Reconciliation returns the last report of how the store and the engine compare.
	Reconciliation(ctx context.Context) (any, error)
	// Orphans compares the records with the engine and the data directory now, changing nothing.
	Orphans(ctx context.Context) (Orphans, error)
	// ListInstances lists every instance the broker keeps, without secrets.
	ListInstances(ctx context.Context) ([]AdminInstance, error)

	// Lock refuses changes from now on and returns once no operation runs (backup, restore).
	Lock(ctx context.Context) error
	// Unlock accepts changes again.
	Unlock(ctx context.Context) error
	// BackupState writes a consistent copy of the broker's records to w.
	BackupState(ctx context.Context, w io.Writer) error
	// BackupInstances lists the instances whose data a backup holds.
	BackupInstances(ctx context.Context) ([]string, error)
	// BackupInstance returns the format of an instance's data in a backup, and what writes it.
	BackupInstance(ctx context.Context, instanceID string) (format string, write func(ctx context.Context, w io.Writer) error, err error)
	// RestoreState replaces the records by a backup's and lists the instances to restore.
	RestoreState(ctx context.Context, snapshot io.Reader) ([]string, error)
	// RestoreInstance brings an instance back with the data of a backup in format.
	RestoreInstance(ctx context.Context, instanceID, format string, data io.Reader) error
}

// Credentials are the basic-auth username and password the platform must present.
type Credentials struct {
	Username string
	Password string
}

// maxBodyBytes bounds request bodies: OSB bodies are small, and an unbounded body is memory
// anyone with the password can make the broker spend.
const maxBodyBytes = 1 << 20

// NewHandler returns the API's HTTP handler.
func NewHandler(b Broker, admin Admin, creds Credentials, log *slog.Logger, options ...Option) http.Handler {
	h := &handler{broker: b, admin: admin, log: log}
	for _, o := range options {
		o(h)
	}
	root := h.newRouter()
	if h.metrics != nil {
		h.routeMetrics(root) // behind credentials of its own
	}
	if h.dashboard != nil {
		h.routeDashboard(root) // behind credentials of its own
	}
	if h.developerDashboard != nil {
		h.routeDeveloperDashboard(root) // behind single sign-on of its own
	}
	// Every route of r takes the broker's credentials.
	r := root.NewRoute().Subrouter()
	r.Use(authenticate(creds, brokerCredentials))

	v2 := r.PathPrefix("/v2").Subrouter()
	v2.Use(requireAPIVersion)
	v2.HandleFunc("/catalog", h.catalog).Methods(http.MethodGet)
	instance := "/service_instances/{instance_id}"
	binding := instance + "/service_bindings/{binding_id}"
	v2.HandleFunc(instance, h.provision).Methods(http.MethodPut)
	v2.HandleFunc(instance, h.getInstance).Methods(http.MethodGet)
	v2.HandleFunc(instance, h.update).Methods(http.MethodPatch)
	v2.HandleFunc(instance, h.deprovision).Methods(http.MethodDelete)
	v2.HandleFunc(instance+"/last_operation", h.lastOperation).Methods(http.MethodGet)
	v2.HandleFunc(binding, h.bind).Methods(http.MethodPut)
	v2.HandleFunc(binding, h.getBinding).Methods(http.MethodGet)
	v2.HandleFunc(binding, h.unbind).Methods(http.MethodDelete)
	v2.HandleFunc(binding+"/last_operation", h.bindingLastOperation).Methods(http.MethodGet)

	r.HandleFunc("/admin/reconciliation", h.reconciliation).Methods(http.MethodGet)
	r.HandleFunc("/admin/orphans", h.orphans).Methods(http.MethodGet)
	r.HandleFunc("/admin/instances", h.instances).Methods(http.MethodGet)
	r.HandleFunc("/admin/lock", h.lock).Methods(http.MethodPut)
	r.HandleFunc("/admin/lock", h.unlock).Methods(http.MethodDelete)
	r.HandleFunc("/admin/backup/state", h.backupState).Methods(http.MethodGet)
	r.HandleFunc("/admin/backup/instances", h.backupInstances).Methods(http.MethodGet)
	r.HandleFunc("/admin/backup/instances/{instance_id}", h.backupInstance).Methods(http.MethodGet)
	r.HandleFunc("/admin/restore/state", h.restoreState).Methods(http.MethodPut)
	r.HandleFunc("/admin/restore/instances/{instance_id}", h.restoreInstance).Methods(http.MethodPut)

	h.routeUnmatched(root, creds)
	return root
}

// newRouter is a router that logs (and observes) every request it routes.
func (h *handler) newRouter() *mux.Router {
	// Match routes on the path as sent, without cleaning it: an id with an encoded slash
	// ("a%2Fservice_bindings%2Fb") must stay one path segment instead of turning into
	// another endpoint's path, and an id of ".." must reach pathIDs (400), not be cleaned
	// into a redirect. pathIDs decodes the ids.
	r := mux.NewRouter().SkipClean(true).UseEncodedPath()
	r.Use(h.logRequests)
	return r
}

// routeUnmatched answers a request no route of r takes, after the same logging, and
// authentication with creds, as any other (mux runs r's middlewares only for a match): 405
// with Allow when its path has other methods, else 404. mux's own tell-apart is not used: in
// gorilla/mux 1.8.1 the routes of a subrouter carry the /v2 prefix matcher, whose match clears
// the method mismatch an earlier route found, so a wrong method on a /v2 path reached
// NotFoundHandler (gorilla/mux#751).
func (h *handler) routeUnmatched(r *mux.Router, creds Credentials) {
	methods := routeMethods(r)
	unrouted := h.logRequests(authenticate(creds, brokerCredentials)(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if allowed := allowedMethods(r, methods, req); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Description: req.Method + " is not a method of this endpoint; it takes " + strings.Join(allowed, ", ")})
			return
		}
		writeError(w, NotFound("no such endpoint"))
	})))
	r.NotFoundHandler = unrouted
	r.MethodNotAllowedHandler = unrouted
}

// routeMethods lists every method some route of r takes, sorted.
func routeMethods(r *mux.Router) []string {
	var methods []string
	_ = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		ms, err := route.GetMethods() // an error: a route for any method (the /v2 prefix)
		if err == nil {
			methods = append(methods, ms...)
		}
		return nil
	})
	slices.Sort(methods)
	return slices.Compact(methods)
}

// allowedMethods lists those of methods that r routes req's path with, sorted.
func allowedMethods(r *mux.Router, methods []string, req *http.Request) []string {
	var allowed []string
	for _, m := range methods {
		probe := req.WithContext(req.Context()) // a shallow copy, whose method may change
		probe.Method = m
		var match mux.RouteMatch
		if r.Match(probe, &match) && match.MatchErr == nil {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

type handler struct {
	broker          Broker
	admin           Admin
	log             *slog.Logger
	observer        RequestObserver // nil: none
	metrics         http.Handler    // nil: no /metrics
	metricsCreds    Credentials
	dashboard       http.Handler // nil: no dashboard
	dashboardPrefix string
	dashboardCreds  Credentials
	// developerDashboard is nil without one.
	developerDashboard http.Handler
	developerPrefix    string
}

// brokerCredentials names the credentials of the OSB and admin endpoints in a 401.
const brokerCredentials = "the broker's username and password"

// authenticate requires HTTP basic auth with creds on every request; a 401 says to use whose
// credentials. Both values are compared in constant time, through their hashes so that not
// even their lengths leak.
func authenticate(creds Credentials, whose string) mux.MiddlewareFunc {
	wantUser, wantPass := sha256.Sum256([]byte(creds.Username)), sha256.Sum256([]byte(creds.Password))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, pass, ok := r.BasicAuth()
			gotUser, gotPass := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
			userOK := subtle.ConstantTimeCompare(gotUser[:], wantUser[:])
			passOK := subtle.ConstantTimeCompare(gotPass[:], wantPass[:])
			if !ok || userOK&passOK != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="docker-broker"`)
				writeJSON(w, http.StatusUnauthorized, errorBody{Description: "authentication required: use " + whose})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func quoteOrMissing(v string) string {
	if v == "" {
		return "missing"
	}
	b, _ := json.Marshal(v)
	return string(b) + " not supported"
}

type ctxKey int

const requestAttrsKey ctxKey = iota

// RequestAttrs returns the log attributes that identify the request ctx belongs to (request
// identity, originating identity), for the broker's own log lines about it.
func RequestAttrs(ctx context.Context) []any {
	attrs, _ := ctx.Value(requestAttrsKey).([]any)
	return attrs
}

// statusRecorder remembers the status code written, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// logRequests logs one line per request — never a body, a header value with a secret or a
// credential — and echoes X-Broker-API-Request-Identity.
func (h *handler) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var attrs []any
		if id := r.Header.Get("X-Broker-API-Request-Identity"); id != "" {
			w.Header().Set("X-Broker-API-Request-Identity", id)
			attrs = append(attrs, "request_identity", id)
		}
		attrs = append(attrs, originatingIdentity(r)...)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestAttrsKey, attrs)))
		took := time.Since(start)
		h.log.Info("request", append([]any{"method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", rec.status, "duration_ms", took.Milliseconds()}, attrs...)...)
		if h.observer != nil {
			method, route := observedRoute(r)
			h.observer.RequestServed(method, route, rec.status, took)
		}
	})
}

// identityFields are the fields of each platform's originating identity (profile.md) that
// name the user, and the only ones logged. The rest is the platform's to fill and may be
// anything: Kubernetes sends the user's groups and "extra", whatever its authenticator put
// there (tokens' claims, for one), and no platform promises to send only what a log may hold.
var identityFields = map[string][]string{
	"cloudfoundry": {"user_id"},
	"kubernetes":   {"username", "uid"},
}

// originatingIdentity reads X-Broker-API-Originating-Identity ("<platform> <base64 JSON>") into
// log attributes: origin_platform, and origin_<field> for each string field of identityFields
// the identity has. Nothing else of the value reaches the log; nor does an undecodable value.
func originatingIdentity(r *http.Request) []any {
	platform, encoded, ok := strings.Cut(r.Header.Get("X-Broker-API-Originating-Identity"), " ")
	if !ok {
		return nil
	}
	attrs := []any{"origin_platform", platform}
	decoded, err := base64.StdEncoding.DecodeString(encoded)
	var identity map[string]json.RawMessage
	if err != nil || json.Unmarshal(decoded, &identity) != nil {
		return attrs
	}
	for _, field := range identityFields[platform] {
		var value string
		if json.Unmarshal(identity[field], &value) == nil && value != "" {
			attrs = append(attrs, "origin_"+field, value)
		}
	}
	return attrs
}

// idPattern is what instance and binding ids may look like: they become container names
// ("cf-<id>") and directory names, so nothing that could escape a directory or break a name.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// pathIDs returns the instance (and binding) id of the request, or an error naming the bad one.
func pathIDs(r *http.Request) (instanceID, bindingID string, err *Error) {
	vars := mux.Vars(r)
	ids := [2]string{}
	for i, name := range []string{"instance_id", "binding_id"} {
		raw := vars[name]
		if name == "binding_id" && raw == "" {
			continue
		}
		// The router matches the encoded path; ids are compared decoded.
		value, decodeErr := url.PathUnescape(raw)
		if decodeErr != nil || !idPattern.MatchString(value) {
			return "", "", BadRequest("%s %q is not usable: ids may hold up to 128 letters, digits, '.', '_' and '-', starting with a letter or digit", name, raw)
		}
		ids[i] = value
	}
	return ids[0], ids[1], nil
}

// acceptsIncomplete reads the accepts_incomplete query parameter.
func acceptsIncomplete(r *http.Request) bool {
	return r.URL.Query().Get("accepts_incomplete") == "true"
}

// decodeBody decodes a JSON request body into dst. Unknown fields are ignored (spec: vendor
// extensions); a body that is not JSON, or too large, is refused with 400.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) *Error {
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	dec := json.NewDecoder(body)
	err := dec.Decode(dst)
	if err == nil {
		// The body is one JSON value: anything but white space after it (a second value,
		// garbage, or padding past the size limit) makes it malformed.
		if _, tokErr := dec.Token(); tokErr != io.EOF {
			err = tokErr
			if err == nil {
				err = errors.New("more than one JSON value")
			}
		}
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Description: "request body larger than 1 MiB"}
		}
		return BadRequest("request body is not valid JSON for this endpoint: %v", err)
	}
	return nil
}

// requireObject checks that an optional JSON field (parameters, context, bind_resource) is an
// object when present. What is inside is the broker's to judge.
func requireObject(field string, raw json.RawMessage) *Error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return ObjectProblem(field, raw, err)
	}
	return nil
}

// ObjectProblem is the 400 for raw, the value of the request's field named field, which
// decoding as an object failed with decodeErr. It says why in the platform's terms: that the
// value is no object, or which number in it (by its path, "parameters.a.b[2]") is out of range
// (decoders turn JSON numbers into 64-bit floats, which end near ±1.8e308), or else what the
// decoder said. A user who sent an object must not be told to send an object.
func ObjectProblem(field string, raw json.RawMessage, decodeErr error) *Error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers stay text, whatever their size
	var value any
	if err := dec.Decode(&value); err != nil {
		return BadRequest("%s: %v", field, err)
	}
	if _, ok := value.(map[string]any); !ok {
		return BadRequest("%s must be a JSON object", field)
	}
	if path, number, found := outOfRangeNumber(field, value); found {
		if len(number) > 40 {
			number = number[:32] + "... (" + strconv.Itoa(len(number)) + " characters)"
		}
		return BadRequest("%s: number %s is out of range", path, number)
	}
	if decodeErr == nil {
		return BadRequest("%s: not a JSON object this broker can decode", field)
	}
	return BadRequest("%s: %v", field, decodeErr)
}

// outOfRangeNumber finds a number in value (decoded with UseNumber; path is its own path) that
// a float64 cannot hold, and returns it with its path. Members are visited in key order. The
// decoder bounds the nesting depth, and with it this recursion.
func outOfRangeNumber(path string, value any) (string, string, bool) {
	switch v := value.(type) {
	case json.Number:
		if _, err := v.Float64(); err != nil {
			return path, string(v), true
		}
	case []any:
		for i, e := range v {
			if p, n, found := outOfRangeNumber(path+"["+strconv.Itoa(i)+"]", e); found {
				return p, n, true
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if p, n, found := outOfRangeNumber(path+memberPath(k), v[k]); found {
				return p, n, true
			}
		}
	}
	return "", "", false
}

// simpleKey is a member name that reads unambiguously after a dot.
var simpleKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// memberPath is the path step to an object's member: ".key", or ["key"] for other names.
func memberPath(key string) string {
	if simpleKey.MatchString(key) {
		return "." + key
	}
	return "[" + strconv.Quote(key) + "]"
}

// firstProblem is the first of the request's problems, in the order the checks are listed.
func firstProblem(problems ...*Error) *Error {
	for _, p := range problems {
		if p != nil {
			return p
		}
	}
	return nil
}

// requireFields answers 400 naming the first required field that is empty.
func requireFields(fields ...[2]string) *Error {
	for _, f := range fields {
		if f[1] == "" {
			return BadRequest("%s is required", f[0])
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"description":"response could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, errorBody{Error: e.Code, Description: e.Description, InstanceUsable: e.InstanceUsable, UpdateRepeatable: e.UpdateRepeatable})
}

// fail answers err: an *Error as it is, anything else as a 500 whose details go to the log
// only (they may name paths and engine internals).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var osbErr *Error
	if errors.As(err, &osbErr) {
		writeError(w, osbErr)
		return
	}
	h.log.Error("request failed", append([]any{"method", r.Method, "path", r.URL.Path, "error", err.Error()}, RequestAttrs(r.Context())...)...)
	writeJSON(w, http.StatusInternalServerError, errorBody{Description: "internal error in the broker; its operator finds the details in the broker's log"})
}
