package osbapi_test

// A black-box conformance suite of the HTTP layer against the OSB API v2.17 contract as
// ../shared/reference/osb-notes.md summarises it (§1.1-1.4, §1.8): real HTTP requests
// through httptest against osbapi.NewHandler with a fake Broker.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

const (
	brokerUser     = "platform-user"
	brokerPassword = "Pw-4f9c2e1b-never-in-a-log"

	provisionBody = `{"service_id":"svc-1","plan_id":"plan-1","organization_guid":"org-1","space_guid":"space-1"}`
	updateBody    = `{"service_id":"svc-1"}`
	bindBody      = `{"service_id":"svc-1","plan_id":"plan-1"}`
)

// ---------------------------------------------------------------------------------------------
// Harness

// harness is a broker API served over real HTTP with a fake Broker and a captured JSON log.
type harness struct {
	t      *testing.T
	url    string
	client *http.Client
	broker *fakeBroker
	admin  *fakeAdmin
	logs   *testenv.LogBuffer
}

// newHarness serves the API with a fake broker that configure (if any) sets up.
func newHarness(t *testing.T, configure ...func(*fakeBroker)) *harness {
	t.Helper()
	b, a, logs := &fakeBroker{}, &fakeAdmin{}, &testenv.LogBuffer{}
	for _, c := range configure {
		if c != nil {
			c(b)
		}
	}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(osbapi.NewHandler(b, a, osbapi.Credentials{Username: brokerUser, Password: brokerPassword}, log))
	t.Cleanup(srv.Close)
	client := srv.Client()
	// A redirect is an answer of the handler like any other: observe it, do not follow it.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &harness{t: t, url: srv.URL, client: client, broker: b, admin: a, logs: logs}
}

type reqOpt func(*http.Request)

func withoutAuth() reqOpt { return func(r *http.Request) { r.Header.Del("Authorization") } }

func withAuth(user, pass string) reqOpt {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

// withVersion sets X-Broker-API-Version; "" removes it.
func withVersion(v string) reqOpt {
	return func(r *http.Request) {
		if v == "" {
			r.Header.Del("X-Broker-API-Version")
			return
		}
		r.Header.Set("X-Broker-API-Version", v)
	}
}

func withHeader(key, value string) reqOpt {
	return func(r *http.Request) { r.Header.Set(key, value) }
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends method path (the path as it goes on the wire, with its query) with body, basic
// auth and X-Broker-API-Version: 2.17 unless opts say otherwise.
func (h *harness) do(method, path, body string, opts ...reqOpt) response {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatalf("building %s %s: %v", method, path, err)
	}
	req.SetBasicAuth(brokerUser, brokerPassword)
	req.Header.Set("X-Broker-API-Version", "2.17")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// logLines returns the captured log, one decoded JSON object per line.
func (h *harness) logLines() []map[string]any {
	h.t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			h.t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// methods returns the names of the broker methods called so far.
func (h *harness) methods() []string {
	var names []string
	for _, c := range h.broker.Calls() {
		names = append(names, c.Method)
	}
	return names
}

// onlyCall returns the single recorded broker call and fails unless it is of method.
func (h *harness) onlyCall(method string) fakeCall {
	h.t.Helper()
	calls := h.broker.Calls()
	if len(calls) != 1 || calls[0].Method != method {
		h.t.Fatalf("broker calls = %v, want exactly one %s", h.methods(), method)
	}
	return calls[0]
}

func (h *harness) assertBrokerNotCalled() {
	h.t.Helper()
	if calls := h.broker.Calls(); len(calls) != 0 {
		h.t.Fatalf("broker was called (%v), want no call", h.methods())
	}
}

// assertJSON fails unless got is JSON equal to want (same fields, same values, no others).
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("body = %s, want %s", got, want)
	}
}

// assertStatus fails unless resp has status want.
func assertStatus(t *testing.T, resp response, want int) {
	t.Helper()
	if resp.Status != want {
		t.Fatalf("status = %d, want %d (body %s)", resp.Status, want, resp.Body)
	}
}

// errorFields decodes an error body and returns its field names, sorted, after checking
// that description is a non-empty string.
func errorFields(t *testing.T, body []byte) (map[string]any, []string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error body %q is not a JSON object: %v", body, err)
	}
	if d, _ := m["description"].(string); d == "" {
		t.Fatalf("error body %s has no description", body)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return m, keys
}

// assertErrorBody fails unless body is an OSB error body with exactly the fields
// "description" and, when code is not empty, "error": code.
func assertErrorBody(t *testing.T, body []byte, code string) {
	t.Helper()
	m, keys := errorFields(t, body)
	want := []string{"description"}
	if code != "" {
		want = []string{"description", "error"}
	}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("error body %s has fields %v, want %v", body, keys, want)
	}
	if code != "" && m["error"] != code {
		t.Fatalf("error = %v, want %q", m["error"], code)
	}
}

func ptr[T any](v T) *T { return &v }

// ---------------------------------------------------------------------------------------------
// The ten endpoints

// endpoint is one of the ten OSB endpoints with a valid request to it.
type endpoint struct {
	name   string
	method string
	// path returns the wire path (with the required query) for an instance and binding id.
	path         func(iid, bid string) string
	body         string
	brokerMethod string
	// ok is the status of a valid request when the fake answers with zero values.
	ok int
	// hasBinding says whether the path carries a binding id.
	hasBinding bool
	// fail makes the broker method of this endpoint return err.
	fail func(b *fakeBroker, err error)
	// ids extracts the ids the broker was called with from its recorded request.
	ids func(req any) (iid, bid string)
}

func (e endpoint) defaultPath() string { return e.path("inst-1", "bind-1") }

func endpoints() []endpoint {
	instance := func(iid string) string { return "/v2/service_instances/" + iid }
	binding := func(iid, bid string) string { return instance(iid) + "/service_bindings/" + bid }
	return []endpoint{
		{
			name: "catalog", method: http.MethodGet, brokerMethod: "Catalog", ok: http.StatusOK,
			path: func(string, string) string { return "/v2/catalog" },
			fail: func(b *fakeBroker, err error) {
				b.catalogFunc = func(context.Context) (json.RawMessage, error) { return nil, err }
			},
		},
		{
			name: "provision", method: http.MethodPut, brokerMethod: "Provision", ok: http.StatusCreated, body: provisionBody,
			path: func(iid, _ string) string { return instance(iid) },
			fail: func(b *fakeBroker, err error) {
				b.provisionFunc = func(context.Context, osbapi.ProvisionRequest) (osbapi.ProvisionResponse, error) {
					return osbapi.ProvisionResponse{}, err
				}
			},
			ids: func(req any) (string, string) { return req.(osbapi.ProvisionRequest).InstanceID, "" },
		},
		{
			name: "get instance", method: http.MethodGet, brokerMethod: "GetInstance", ok: http.StatusOK,
			path: func(iid, _ string) string { return instance(iid) },
			fail: func(b *fakeBroker, err error) {
				b.getInstanceFunc = func(context.Context, string) (osbapi.InstanceResponse, error) {
					return osbapi.InstanceResponse{}, err
				}
			},
			ids: func(req any) (string, string) { return req.(instanceRef).InstanceID, "" },
		},
		{
			name: "update", method: http.MethodPatch, brokerMethod: "Update", ok: http.StatusOK, body: updateBody,
			path: func(iid, _ string) string { return instance(iid) },
			fail: func(b *fakeBroker, err error) {
				b.updateFunc = func(context.Context, osbapi.UpdateRequest) (osbapi.OperationResponse, error) {
					return osbapi.OperationResponse{}, err
				}
			},
			ids: func(req any) (string, string) { return req.(osbapi.UpdateRequest).InstanceID, "" },
		},
		{
			name: "deprovision", method: http.MethodDelete, brokerMethod: "Deprovision", ok: http.StatusOK,
			path: func(iid, _ string) string { return instance(iid) + "?service_id=svc-1&plan_id=plan-1" },
			fail: func(b *fakeBroker, err error) {
				b.deprovisionFunc = func(context.Context, osbapi.DeprovisionRequest) (osbapi.OperationResponse, error) {
					return osbapi.OperationResponse{}, err
				}
			},
			ids: func(req any) (string, string) { return req.(osbapi.DeprovisionRequest).InstanceID, "" },
		},
		{
			name: "last operation", method: http.MethodGet, brokerMethod: "LastOperation", ok: http.StatusOK,
			path: func(iid, _ string) string { return instance(iid) + "/last_operation" },
			fail: func(b *fakeBroker, err error) {
				b.lastOperationFunc = func(context.Context, osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error) {
					return osbapi.LastOperationResponse{}, err
				}
			},
			ids: func(req any) (string, string) { return req.(osbapi.LastOperationRequest).InstanceID, "" },
		},
		{
			name: "bind", method: http.MethodPut, brokerMethod: "Bind", ok: http.StatusCreated, body: bindBody, hasBinding: true,
			path: binding,
			fail: func(b *fakeBroker, err error) {
				b.bindFunc = func(context.Context, osbapi.BindRequest) (osbapi.BindResponse, error) {
					return osbapi.BindResponse{}, err
				}
			},
			ids: func(req any) (string, string) {
				r := req.(osbapi.BindRequest)
				return r.InstanceID, r.BindingID
			},
		},
		{
			name: "get binding", method: http.MethodGet, brokerMethod: "GetBinding", ok: http.StatusOK, hasBinding: true,
			path: binding,
			fail: func(b *fakeBroker, err error) {
				b.getBindingFunc = func(context.Context, string, string) (osbapi.BindResponse, error) {
					return osbapi.BindResponse{}, err
				}
			},
			ids: func(req any) (string, string) {
				r := req.(instanceRef)
				return r.InstanceID, r.BindingID
			},
		},
		{
			name: "unbind", method: http.MethodDelete, brokerMethod: "Unbind", ok: http.StatusOK, hasBinding: true,
			path: func(iid, bid string) string { return binding(iid, bid) + "?service_id=svc-1&plan_id=plan-1" },
			fail: func(b *fakeBroker, err error) {
				b.unbindFunc = func(context.Context, osbapi.UnbindRequest) error { return err }
			},
			ids: func(req any) (string, string) {
				r := req.(osbapi.UnbindRequest)
				return r.InstanceID, r.BindingID
			},
		},
		{
			name: "binding last operation", method: http.MethodGet, brokerMethod: "BindingLastOperation", ok: http.StatusOK, hasBinding: true,
			path: func(iid, bid string) string { return binding(iid, bid) + "/last_operation" },
			fail: func(b *fakeBroker, err error) {
				b.bindingLastOperationFunc = func(context.Context, osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error) {
					return osbapi.LastOperationResponse{}, err
				}
			},
			ids: func(req any) (string, string) {
				r := req.(osbapi.LastOperationRequest)
				return r.InstanceID, r.BindingID
			},
		},
	}
}

func endpointNamed(t *testing.T, name string) endpoint {
	t.Helper()
	for _, e := range endpoints() {
		if e.name == name {
			return e
		}
	}
	t.Fatalf("no endpoint %q", name)
	return endpoint{}
}

// ---------------------------------------------------------------------------------------------
// §1.2: every endpoint answers a valid request, calling its broker method once

func TestEveryEndpointServesAValidRequest(t *testing.T) {
	for _, e := range endpoints() {
		t.Run(e.name, func(t *testing.T) {
			h := newHarness(t)
			resp := h.do(e.method, e.defaultPath(), e.body)
			assertStatus(t, resp, e.ok)
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if !json.Valid(resp.Body) {
				t.Errorf("body %q is not JSON", resp.Body)
			}
			call := h.onlyCall(e.brokerMethod)
			if e.ids != nil {
				iid, bid := e.ids(call.Req)
				wantBid := ""
				if e.hasBinding {
					wantBid = "bind-1"
				}
				if iid != "inst-1" || bid != wantBid {
					t.Errorf("broker got ids (%q, %q), want (inst-1, %q)", iid, bid, wantBid)
				}
			}
		})
	}
}

func TestUnknownEndpointIs404(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/v2/no_such_thing", "/v2/service_instances/inst-1/nothing", "/v3/catalog", "/"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			resp := h.do(method, path, "")
			assertStatus(t, resp, http.StatusNotFound)
			assertErrorBody(t, resp.Body, "")
			if allow, ok := resp.Header["Allow"]; ok {
				t.Errorf("%s %s: 404 with Allow %q", method, path, allow)
			}
		}
	}
	h.assertBrokerNotCalled()
}

// A method an endpoint does not have is 405 with Allow naming the ones it has (RFC 9110
// §15.5.6), on the OSB endpoints under /v2 as on the operator's.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	cases := []struct {
		path    string
		methods []string
		allow   string
	}{
		{"/v2/catalog", []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead}, "GET"},
		{"/v2/service_instances/inst-1", []string{http.MethodPost, "OPTIONS"}, "DELETE, GET, PATCH, PUT"},
		{"/v2/service_instances/inst-1/last_operation", []string{http.MethodPut, http.MethodDelete}, "GET"},
		{"/v2/service_instances/inst-1/service_bindings/bind-1", []string{http.MethodPost, http.MethodPatch}, "DELETE, GET, PUT"},
		{"/v2/service_instances/inst-1/service_bindings/bind-1/last_operation", []string{http.MethodPost}, "GET"},
		{"/admin/reconciliation", []string{http.MethodPost, http.MethodDelete}, "GET"},
		{"/admin/orphans", []string{http.MethodPost, http.MethodDelete}, "GET"},
		{"/admin/instances", []string{http.MethodPost, http.MethodPatch}, "GET"},
		{"/admin/lock", []string{http.MethodGet, http.MethodPost}, "DELETE, PUT"},
		{"/admin/backup/instances/inst-1", []string{http.MethodPut, http.MethodDelete}, "GET"},
		{"/admin/restore/state", []string{http.MethodGet, http.MethodPost}, "PUT"},
	}
	for _, c := range cases {
		for _, method := range c.methods {
			t.Run(method+" "+c.path, func(t *testing.T) {
				h := newHarness(t)
				resp := h.do(method, c.path, provisionBody)
				assertStatus(t, resp, http.StatusMethodNotAllowed)
				if got := resp.Header.Get("Allow"); got != c.allow {
					t.Errorf("Allow = %q, want %q", got, c.allow)
				}
				if method != http.MethodHead {
					assertErrorBody(t, resp.Body, "")
				}
				h.assertBrokerNotCalled()
				if h.admin.Calls() != 0 {
					t.Error("admin was called")
				}
				// It is a request like any other: logged, with its status.
				var logged bool
				for _, l := range h.logLines() {
					logged = logged || l["msg"] == "request" && l["method"] == method && l["status"] == float64(http.StatusMethodNotAllowed)
				}
				if !logged {
					t.Errorf("no request log line with status 405: %s", h.logs.String())
				}
			})
		}
	}
	// Nothing about the endpoints for a caller without the broker's credentials.
	t.Run("unauthenticated", func(t *testing.T) {
		h := newHarness(t)
		for _, path := range []string{"/v2/catalog", "/v2/no_such_thing"} {
			resp := h.do(http.MethodPost, path, "", withoutAuth())
			assertStatus(t, resp, http.StatusUnauthorized)
			if allow := resp.Header.Get("Allow"); allow != "" {
				t.Errorf("POST %s without credentials: Allow %q", path, allow)
			}
		}
	})
}

// ---------------------------------------------------------------------------------------------
// GET /v2/catalog

func TestCatalogIsServedVerbatim(t *testing.T) {
	// Odd spacing, key order and a trailing newline: the bytes must come through unchanged.
	catalog := "{\"services\" : [ {\"name\":\"redis\",\"id\":\"6f1c\",\"description\":\"Redis\",\"bindable\":true,\"x-vendor\":{\"a\":1},\n\"plans\":[{\"id\":\"p1\",\"name\":\"small\",\"description\":\"s\"}]} ]}\n"
	h := newHarness(t, func(b *fakeBroker) {
		b.catalogFunc = func(context.Context) (json.RawMessage, error) { return json.RawMessage(catalog), nil }
	})
	resp := h.do(http.MethodGet, "/v2/catalog", "")
	assertStatus(t, resp, http.StatusOK)
	if string(resp.Body) != catalog {
		t.Errorf("catalog body = %q, want verbatim %q", resp.Body, catalog)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

// ---------------------------------------------------------------------------------------------
// §1.1 / §1.8: X-Broker-API-Version

func TestAPIVersionHeader(t *testing.T) {
	rejected := []string{"", "1.0", "1.17", "3.0", "2", "2.", ".17", "2.x", "2.17.1", "2,17", "v2.17", "two.seventeen", "2.-1", "2.1a", "22.17"}
	accepted := []string{"2.0", "2.13", "2.14", "2.17", "2.99", "2.100"}
	for _, e := range endpoints() {
		t.Run(e.name, func(t *testing.T) {
			for _, v := range rejected {
				h := newHarness(t)
				resp := h.do(e.method, e.defaultPath(), e.body, withVersion(v))
				if resp.Status != http.StatusPreconditionFailed {
					t.Errorf("X-Broker-API-Version %q: status %d, want 412", v, resp.Status)
					continue
				}
				assertErrorBody(t, resp.Body, "")
				h.assertBrokerNotCalled()
			}
			for _, v := range accepted {
				h := newHarness(t)
				resp := h.do(e.method, e.defaultPath(), e.body, withVersion(v))
				if resp.Status != e.ok {
					t.Errorf("X-Broker-API-Version %q: status %d, want %d (body %s)", v, resp.Status, e.ok, resp.Body)
					continue
				}
				h.onlyCall(e.brokerMethod)
			}
		})
	}
}

// The operator's endpoint is not an OSB endpoint: it needs no version header.
func TestAdminEndpointNeedsNoVersionHeader(t *testing.T) {
	h := newHarness(t)
	h.admin.reconciliationFunc = func(context.Context) (any, error) {
		return map[string]any{"containers_without_records": []string{"cf-x"}}, nil
	}
	resp := h.do(http.MethodGet, "/admin/reconciliation", "", withVersion(""))
	assertStatus(t, resp, http.StatusOK)
	assertJSON(t, resp.Body, `{"containers_without_records":["cf-x"]}`)

	resp = h.do(http.MethodGet, "/admin/orphans", "", withVersion(""))
	assertStatus(t, resp, http.StatusOK)
	assertJSON(t, resp.Body, `{"at":"0001-01-01T00:00:00Z","containers_without_record":["cf-lost"],"directories_without_record":[],"records_without_container":[]}`)

	h.admin.reconciliationFunc = func(context.Context) (any, error) { return nil, errors.New("bolt: database locked at /var/vcap/store") }
	resp = h.do(http.MethodGet, "/admin/reconciliation", "")
	assertStatus(t, resp, http.StatusInternalServerError)
	if bytes.Contains(resp.Body, []byte("bolt")) {
		t.Errorf("500 body leaks the internal error: %s", resp.Body)
	}
}

// GET /admin/instances lists what the broker's ListInstances returns, an empty list as [],
// and hides an internal error as any endpoint does.
func TestAdminInstancesListsTheBrokersInstances(t *testing.T) {
	h := newHarness(t)
	resp := h.do(http.MethodGet, "/admin/instances", "", withVersion(""))
	assertStatus(t, resp, http.StatusOK)
	assertJSON(t, resp.Body, `{"instances":[]}`)

	h.admin.listInstancesFunc = func(context.Context) ([]osbapi.AdminInstance, error) {
		return []osbapi.AdminInstance{
			{ID: "i1", ServiceID: "s1", PlanID: "p1", MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "1.0.1"}, Provisioned: true,
				LastOperation: osbapi.AdminLastOperation{Type: "update", State: "succeeded"}},
			{ID: "i2", ServiceID: "s1", PlanID: "p1", LastOperation: osbapi.AdminLastOperation{Type: "provision", State: "in progress"}},
		}, nil
	}
	resp = h.do(http.MethodGet, "/admin/instances", "")
	assertStatus(t, resp, http.StatusOK)
	assertJSON(t, resp.Body, `{"instances":[
		{"id":"i1","service_id":"s1","plan_id":"p1","maintenance_info":{"version":"1.0.1"},"provisioned":true,"last_operation":{"type":"update","state":"succeeded"}},
		{"id":"i2","service_id":"s1","plan_id":"p1","provisioned":false,"last_operation":{"type":"provision","state":"in progress"}}]}`)

	h.admin.listInstancesFunc = func(context.Context) ([]osbapi.AdminInstance, error) { return nil, errors.New("bolt: database locked") }
	resp = h.do(http.MethodGet, "/admin/instances", "")
	assertStatus(t, resp, http.StatusInternalServerError)
	if bytes.Contains(resp.Body, []byte("bolt")) {
		t.Errorf("500 body leaks the internal error: %s", resp.Body)
	}
}

// ---------------------------------------------------------------------------------------------
// §1.1: basic auth

func TestBasicAuth(t *testing.T) {
	bad := []struct {
		name string
		opt  reqOpt
	}{
		{"missing", withoutAuth()},
		{"wrong user", withAuth("someone-else", brokerPassword)},
		{"wrong password", withAuth(brokerUser, "wrong-password")},
		{"password prefix", withAuth(brokerUser, brokerPassword[:len(brokerPassword)-1])},
		{"password with suffix", withAuth(brokerUser, brokerPassword+"x")},
		{"user and password swapped", withAuth(brokerPassword, brokerUser)},
		{"empty user and password", withAuth("", "")},
		{"user case differs", withAuth(strings.ToUpper(brokerUser), brokerPassword)},
		{"bearer token", withHeader("Authorization", "Bearer "+brokerPassword)},
		{"malformed basic", withHeader("Authorization", "Basic !!!not-base64")},
		{"basic without colon", withHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(brokerUser+brokerPassword)))},
	}
	type target struct{ name, method, path, body string }
	var targets []target
	for _, e := range endpoints() {
		targets = append(targets, target{e.name, e.method, e.defaultPath(), e.body})
	}
	targets = append(targets, target{"admin reconciliation", http.MethodGet, "/admin/reconciliation", ""},
		target{"admin orphans", http.MethodGet, "/admin/orphans", ""},
		target{"admin instances", http.MethodGet, "/admin/instances", ""},
		target{"admin lock", http.MethodPut, "/admin/lock", ""},
		target{"admin backup of an instance", http.MethodGet, "/admin/backup/instances/i-1", ""},
		target{"admin restore of the state", http.MethodPut, "/admin/restore/state", "state"})

	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			for _, c := range bad {
				h := newHarness(t)
				resp := h.do(tg.method, tg.path, tg.body, c.opt)
				if resp.Status != http.StatusUnauthorized {
					t.Errorf("%s credentials: status %d, want 401", c.name, resp.Status)
					continue
				}
				if wa := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Basic ") {
					t.Errorf("%s credentials: WWW-Authenticate = %q, want a Basic challenge", c.name, wa)
				}
				assertErrorBody(t, resp.Body, "")
				h.assertBrokerNotCalled()
				if h.admin.Calls() != 0 {
					t.Errorf("%s credentials: admin was called", c.name)
				}
			}
			// The same request with the right credentials gets through.
			h := newHarness(t)
			if resp := h.do(tg.method, tg.path, tg.body); resp.Status == http.StatusUnauthorized {
				t.Errorf("valid credentials: 401")
			}
		})
	}
}

// ---------------------------------------------------------------------------------------------
// §1.1: request identity and originating identity

func TestRequestIdentityIsEchoed(t *testing.T) {
	const id = "e26cea8e-3e7d-4c8b-9a54-0d1f9a7e7e11"
	cases := []struct {
		name   string
		method string
		path   string
		body   string
		opts   []reqOpt
		status int
	}{
		{"success", http.MethodGet, "/v2/catalog", "", nil, http.StatusOK},
		{"created", http.MethodPut, "/v2/service_instances/inst-1", provisionBody, nil, http.StatusCreated},
		{"bad request", http.MethodPut, "/v2/service_instances/inst-1", "{", nil, http.StatusBadRequest},
		{"bad id", http.MethodGet, "/v2/service_instances/.hidden", "", nil, http.StatusBadRequest},
		{"unauthorized", http.MethodGet, "/v2/catalog", "", []reqOpt{withoutAuth()}, http.StatusUnauthorized},
		{"wrong version", http.MethodGet, "/v2/catalog", "", []reqOpt{withVersion("1.0")}, http.StatusPreconditionFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			resp := h.do(c.method, c.path, c.body, append(c.opts, withHeader("X-Broker-API-Request-Identity", id))...)
			assertStatus(t, resp, c.status)
			if got := resp.Header.Get("X-Broker-API-Request-Identity"); got != id {
				t.Errorf("X-Broker-API-Request-Identity = %q, want %q echoed", got, id)
			}
		})
	}
	t.Run("absent when not sent", func(t *testing.T) {
		h := newHarness(t)
		resp := h.do(http.MethodGet, "/v2/catalog", "")
		if _, ok := resp.Header["X-Broker-Api-Request-Identity"]; ok {
			t.Errorf("X-Broker-API-Request-Identity set although the request had none")
		}
	})
}

// The originating identity is the platform's to fill: only the platform and the user's id
// (CF user_id; Kubernetes username and uid) may reach the log, whatever else it carries.
func TestOriginatingIdentityLogsOnlyPlatformAndUser(t *testing.T) {
	const secret = "Identity-Secret-7d1e9f"
	const requestID = "7b5f3d1c-0d55-4a8f-8d3e-2f6e5b8e0c11"
	encode := func(platform, identity string) string {
		return platform + " " + base64.StdEncoding.EncodeToString([]byte(identity))
	}
	cases := []struct {
		name, header string
		want         map[string]any // every origin_* attribute logged
	}{
		{"cloudfoundry", encode("cloudfoundry", `{"user_id":"683ea748-3092-4ff4-b656-39cacc4d5360","password":"`+secret+`"}`),
			map[string]any{"origin_platform": "cloudfoundry", "origin_user_id": "683ea748-3092-4ff4-b656-39cacc4d5360"}},
		{"kubernetes", encode("kubernetes", `{"username":"duke","uid":"c2dde242-5ce4-11e7-988c-000c2946f14f","groups":["admin","`+secret+`"],"extra":{"token":["`+secret+`"]}}`),
			map[string]any{"origin_platform": "kubernetes", "origin_username": "duke", "origin_uid": "c2dde242-5ce4-11e7-988c-000c2946f14f"}},
		{"kubernetes without uid", encode("kubernetes", `{"username":"duke","user_id":"`+secret+`"}`),
			map[string]any{"origin_platform": "kubernetes", "origin_username": "duke"}},
		{"user id not a string", encode("cloudfoundry", `{"user_id":{"name":"`+secret+`"}}`),
			map[string]any{"origin_platform": "cloudfoundry"}},
		{"other platform", encode("my-platform", `{"user_id":"`+secret+`","username":"`+secret+`"}`),
			map[string]any{"origin_platform": "my-platform"}},
		{"not an object", encode("cloudfoundry", `["`+secret+`"]`), map[string]any{"origin_platform": "cloudfoundry"}},
		{"not base64", "cloudfoundry !!!" + secret, map[string]any{"origin_platform": "cloudfoundry"}},
		{"base64 of non-JSON", encode("cloudfoundry", "user_id="+secret), map[string]any{"origin_platform": "cloudfoundry"}},
	}
	origin := func(m map[string]any) map[string]any {
		got := map[string]any{}
		for k, v := range m {
			if strings.HasPrefix(k, "origin_") {
				got[k] = v
			}
		}
		return got
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			resp := h.do(http.MethodPut, "/v2/service_instances/inst-1", provisionBody,
				withHeader("X-Broker-API-Originating-Identity", c.header),
				withHeader("X-Broker-API-Request-Identity", requestID))
			assertStatus(t, resp, http.StatusCreated)

			var found bool
			for _, l := range h.logLines() {
				if l["msg"] != "request" {
					continue
				}
				found = true
				if got := origin(l); !reflect.DeepEqual(got, c.want) {
					t.Errorf("logged origin %v, want %v", got, c.want)
				}
				if l["request_identity"] != requestID {
					t.Errorf("logged request_identity %v, want %q", l["request_identity"], requestID)
				}
				if l["method"] != http.MethodPut || l["path"] != "/v2/service_instances/inst-1" || l["status"] != float64(http.StatusCreated) {
					t.Errorf("request log line %v does not describe the request", l)
				}
			}
			if !found {
				t.Fatalf("no request log line in %s", h.logs.String())
			}
			if strings.Contains(h.logs.String(), secret) {
				t.Errorf("a field of the identity other than the user's id reached the log: %s", h.logs.String())
			}

			// The broker gets the same attributes for its own log lines.
			attrs := attrMap(h.onlyCall("Provision").Attrs)
			if got := origin(attrs); !reflect.DeepEqual(got, c.want) || attrs["request_identity"] != requestID {
				t.Errorf("RequestAttrs = %v, want origin %v and request identity %q", attrs, c.want, requestID)
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		h := newHarness(t)
		h.do(http.MethodGet, "/v2/catalog", "")
		for _, l := range h.logLines() {
			if got := origin(l); len(got) > 0 {
				t.Errorf("origin logged without the header: %v", l)
			}
		}
	})
}

func attrMap(attrs []any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(attrs); i += 2 {
		if k, ok := attrs[i].(string); ok {
			m[k] = attrs[i+1]
		}
	}
	return m
}

func TestSecretsNeverReachTheLog(t *testing.T) {
	const internal = "dial unix /var/run/docker.sock: connection refused"
	h := newHarness(t, func(b *fakeBroker) {
		b.provisionFunc = func(context.Context, osbapi.ProvisionRequest) (osbapi.ProvisionResponse, error) {
			return osbapi.ProvisionResponse{}, errors.New(internal)
		}
	})
	wrongPassword := "wrong-" + brokerPassword
	token := "eyJhbGciOiJSUzI1NiJ9.secret-token"
	h.do(http.MethodGet, "/v2/catalog", "")
	h.do(http.MethodGet, "/v2/catalog", "", withAuth(brokerUser, wrongPassword))
	h.do(http.MethodGet, "/v2/catalog", "", withHeader("Authorization", "Bearer "+token))
	h.do(http.MethodGet, "/v2/catalog", "", withVersion(""))
	identitySecret := "identity-field-" + brokerPassword
	h.do(http.MethodPut, "/v2/service_instances/inst-1", provisionBody,
		withHeader("X-Broker-API-Originating-Identity", "cloudfoundry "+base64.StdEncoding.EncodeToString([]byte(`{"user_id":"u1","token":"`+identitySecret+`"}`))))
	h.do(http.MethodPut, "/v2/service_instances/inst-1", "{")
	h.do(http.MethodGet, "/v2/service_instances/..", "")

	logs := h.logs.String()
	if len(h.logLines()) < 7 {
		t.Fatalf("expected a log line per request, got %s", logs)
	}
	for _, secret := range []string{
		brokerPassword,
		wrongPassword,
		token,
		identitySecret,
		base64.StdEncoding.EncodeToString([]byte(brokerUser + ":" + brokerPassword)),
		base64.StdEncoding.EncodeToString([]byte(brokerUser + ":" + wrongPassword)),
		"Basic ",
		"Bearer ",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
	// The internal error the platform does not see is where the operator finds it.
	if !strings.Contains(logs, internal) {
		t.Errorf("the 500's internal error is not in the log:\n%s", logs)
	}
}

// ---------------------------------------------------------------------------------------------
// §1.2 / §1.4: the broker's answers and errors map to the spec's status codes and bodies

// statusRow is one row of an endpoint's status matrix: what the broker answers (through
// setup) and what the platform must see.
type statusRow struct {
	name   string
	setup  func(b *fakeBroker)
	status int
	body   string // exact JSON; empty: an error body checked with code
	code   string
}

func errRow(name string, e endpoint, err error, status int, code string) statusRow {
	return statusRow{name: name, setup: func(b *fakeBroker) { e.fail(b, err) }, status: status, code: code}
}

func runStatusRows(t *testing.T, e endpoint, query string, rows []statusRow) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			h := newHarness(t, r.setup)
			path := e.defaultPath()
			if query != "" {
				sep := "?"
				if strings.Contains(path, "?") {
					sep = "&"
				}
				path += sep + query
			}
			resp := h.do(e.method, path, e.body)
			assertStatus(t, resp, r.status)
			if r.body != "" {
				assertJSON(t, resp.Body, r.body)
			} else {
				assertErrorBody(t, resp.Body, r.code)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			h.onlyCall(e.brokerMethod)
		})
	}
}

func TestProvisionStatusCodes(t *testing.T) {
	e := endpointNamed(t, "provision")
	answer := func(resp osbapi.ProvisionResponse) func(*fakeBroker) {
		return func(b *fakeBroker) {
			b.provisionFunc = func(context.Context, osbapi.ProvisionRequest) (osbapi.ProvisionResponse, error) { return resp, nil }
		}
	}
	runStatusRows(t, e, "accepts_incomplete=true", []statusRow{
		{name: "201 created synchronously", setup: answer(osbapi.ProvisionResponse{DashboardURL: "https://dash/1"}), status: http.StatusCreated, body: `{"dashboard_url":"https://dash/1"}`},
		{name: "201 without dashboard", setup: answer(osbapi.ProvisionResponse{}), status: http.StatusCreated, body: `{}`},
		{name: "202 in progress with operation and dashboard", setup: answer(osbapi.ProvisionResponse{Async: true, Operation: "op-1", DashboardURL: "https://dash/1"}), status: http.StatusAccepted, body: `{"operation":"op-1","dashboard_url":"https://dash/1"}`},
		{name: "200 identical instance exists", setup: answer(osbapi.ProvisionResponse{AlreadyExists: true, DashboardURL: "https://dash/1"}), status: http.StatusOK, body: `{"dashboard_url":"https://dash/1"}`},
		// §1.4: a re-sent PUT while provisioning is in progress MUST get 202, never 200.
		{name: "202 identical re-PUT still in progress", setup: answer(osbapi.ProvisionResponse{Async: true, AlreadyExists: true, Operation: "op-1"}), status: http.StatusAccepted, body: `{"operation":"op-1"}`},
		errRow("400 invalid data", e, osbapi.BadRequest("plan %s is not in the catalog", "nope"), http.StatusBadRequest, ""),
		errRow("409 exists with different attributes", e, osbapi.Conflict("instance exists with another plan"), http.StatusConflict, ""),
		errRow("422 AsyncRequired", e, osbapi.Unprocessable(osbapi.CodeAsyncRequired, "needs accepts_incomplete"), http.StatusUnprocessableEntity, osbapi.CodeAsyncRequired),
		errRow("422 MaintenanceInfoConflict", e, osbapi.Unprocessable(osbapi.CodeMaintenanceInfoConflict, "stale"), http.StatusUnprocessableEntity, osbapi.CodeMaintenanceInfoConflict),
		errRow("422 ConcurrencyError", e, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "busy"), http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError),
		errRow("422 quota without code", e, osbapi.Unprocessable("", "Service capacity has been reached"), http.StatusUnprocessableEntity, ""),
	})
}

func TestGetInstanceStatusCodes(t *testing.T) {
	e := endpointNamed(t, "get instance")
	runStatusRows(t, e, "", []statusRow{
		{name: "200 with the instance", setup: func(b *fakeBroker) {
			b.getInstanceFunc = func(context.Context, string) (osbapi.InstanceResponse, error) {
				return osbapi.InstanceResponse{ServiceID: "svc-1", PlanID: "plan-1", DashboardURL: "https://dash/1",
					Parameters: json.RawMessage(`{"maxmemory":"64mb"}`), MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "1.2.3"}}, nil
			}
		}, status: http.StatusOK, body: `{"service_id":"svc-1","plan_id":"plan-1","dashboard_url":"https://dash/1","parameters":{"maxmemory":"64mb"},"maintenance_info":{"version":"1.2.3"}}`},
		errRow("404 unknown or still provisioning", e, osbapi.NotFound("no instance inst-1"), http.StatusNotFound, ""),
		errRow("422 ConcurrencyError while updating", e, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "being updated"), http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError),
	})
}

func TestUpdateStatusCodes(t *testing.T) {
	e := endpointNamed(t, "update")
	answer := func(resp osbapi.OperationResponse) func(*fakeBroker) {
		return func(b *fakeBroker) {
			b.updateFunc = func(context.Context, osbapi.UpdateRequest) (osbapi.OperationResponse, error) { return resp, nil }
		}
	}
	runStatusRows(t, e, "accepts_incomplete=true", []statusRow{
		{name: "200 applied", setup: answer(osbapi.OperationResponse{}), status: http.StatusOK, body: `{}`},
		{name: "200 with new dashboard", setup: answer(osbapi.OperationResponse{DashboardURL: "https://dash/2"}), status: http.StatusOK, body: `{"dashboard_url":"https://dash/2"}`},
		{name: "202 in progress", setup: answer(osbapi.OperationResponse{Async: true, Operation: "op-2"}), status: http.StatusAccepted, body: `{"operation":"op-2"}`},
		errRow("400", e, osbapi.BadRequest("parameters violate the plan's schema"), http.StatusBadRequest, ""),
		errRow("422 plan change unsupported", e, osbapi.Unprocessable("PlanChangeNotSupported", "plan_updateable is false"), http.StatusUnprocessableEntity, "PlanChangeNotSupported"),
		errRow("422 AsyncRequired", e, osbapi.Unprocessable(osbapi.CodeAsyncRequired, "x"), http.StatusUnprocessableEntity, osbapi.CodeAsyncRequired),
		errRow("422 MaintenanceInfoConflict", e, osbapi.Unprocessable(osbapi.CodeMaintenanceInfoConflict, "x"), http.StatusUnprocessableEntity, osbapi.CodeMaintenanceInfoConflict),
		errRow("422 ConcurrencyError", e, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "x"), http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError),
		{name: "failure with instance_usable and update_repeatable", setup: func(b *fakeBroker) {
			err := osbapi.Unprocessable("", "quota exceeded")
			err.InstanceUsable, err.UpdateRepeatable = ptr(true), ptr(false)
			e.fail(b, err)
		}, status: http.StatusUnprocessableEntity, body: `{"description":"quota exceeded","instance_usable":true,"update_repeatable":false}`},
	})
}

func TestDeprovisionStatusCodes(t *testing.T) {
	e := endpointNamed(t, "deprovision")
	answer := func(resp osbapi.OperationResponse) func(*fakeBroker) {
		return func(b *fakeBroker) {
			b.deprovisionFunc = func(context.Context, osbapi.DeprovisionRequest) (osbapi.OperationResponse, error) { return resp, nil }
		}
	}
	runStatusRows(t, e, "accepts_incomplete=true", []statusRow{
		{name: "200 deleted", setup: answer(osbapi.OperationResponse{}), status: http.StatusOK, body: `{}`},
		{name: "202 in progress", setup: answer(osbapi.OperationResponse{Async: true, Operation: "op-3"}), status: http.StatusAccepted, body: `{"operation":"op-3"}`},
		errRow("410 gone", e, osbapi.Gone("no instance inst-1"), http.StatusGone, ""),
		errRow("422 AsyncRequired", e, osbapi.Unprocessable(osbapi.CodeAsyncRequired, "x"), http.StatusUnprocessableEntity, osbapi.CodeAsyncRequired),
		errRow("422 ConcurrencyError", e, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "x"), http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError),
		{name: "failure with instance_usable", setup: func(b *fakeBroker) {
			err := osbapi.Unprocessable("", "container would not stop")
			err.InstanceUsable = ptr(false)
			e.fail(b, err)
		}, status: http.StatusUnprocessableEntity, body: `{"description":"container would not stop","instance_usable":false}`},
	})
}

func TestLastOperationStatusCodes(t *testing.T) {
	for _, name := range []string{"last operation", "binding last operation"} {
		t.Run(name, func(t *testing.T) {
			e := endpointNamed(t, name)
			answer := func(resp osbapi.LastOperationResponse) func(*fakeBroker) {
				return func(b *fakeBroker) {
					f := func(context.Context, osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error) {
						return resp, nil
					}
					b.lastOperationFunc, b.bindingLastOperationFunc = f, f
				}
			}
			runStatusRows(t, e, "operation=op-1", []statusRow{
				{name: "200 in progress", setup: answer(osbapi.LastOperationResponse{State: "in progress", Description: "creating container"}), status: http.StatusOK, body: `{"state":"in progress","description":"creating container"}`},
				{name: "200 succeeded", setup: answer(osbapi.LastOperationResponse{State: "succeeded"}), status: http.StatusOK, body: `{"state":"succeeded"}`},
				{name: "200 failed with flags", setup: answer(osbapi.LastOperationResponse{State: "failed", Description: "image pull failed", InstanceUsable: ptr(true), UpdateRepeatable: ptr(true)}), status: http.StatusOK, body: `{"state":"failed","description":"image pull failed","instance_usable":true,"update_repeatable":true}`},
				errRow("400", e, osbapi.BadRequest("bad query"), http.StatusBadRequest, ""),
				errRow("404 unknown", e, osbapi.NotFound("no such instance"), http.StatusNotFound, ""),
				errRow("410 gone after async delete", e, osbapi.Gone("deleted"), http.StatusGone, ""),
			})
		})
	}
}

func TestBindStatusCodes(t *testing.T) {
	e := endpointNamed(t, "bind")
	creds := json.RawMessage(`{"host":"10.0.0.5","port":32768,"password":"p"}`)
	answer := func(resp osbapi.BindResponse) func(*fakeBroker) {
		return func(b *fakeBroker) {
			b.bindFunc = func(context.Context, osbapi.BindRequest) (osbapi.BindResponse, error) { return resp, nil }
		}
	}
	endpointsField := []osbapi.Endpoint{{Host: "10.0.0.5", Ports: []string{"32768"}, Protocol: "tcp"}}
	runStatusRows(t, e, "", []statusRow{
		{name: "201 created", setup: answer(osbapi.BindResponse{Credentials: creds, Endpoints: endpointsField}), status: http.StatusCreated,
			body: `{"credentials":{"host":"10.0.0.5","port":32768,"password":"p"},"endpoints":[{"host":"10.0.0.5","ports":["32768"],"protocol":"tcp"}]}`},
		// §1.4: an identical re-PUT gets 200 with the same credentials.
		{name: "200 identical binding exists", setup: answer(osbapi.BindResponse{AlreadyExists: true, Credentials: creds}), status: http.StatusOK,
			body: `{"credentials":{"host":"10.0.0.5","port":32768,"password":"p"}}`},
		errRow("400", e, osbapi.BadRequest("unknown plan"), http.StatusBadRequest, ""),
		errRow("409 same id, different parameters", e, osbapi.Conflict("binding exists with other parameters"), http.StatusConflict, ""),
		errRow("422 RequiresApp", e, osbapi.Unprocessable(osbapi.CodeRequiresApp, "x"), http.StatusUnprocessableEntity, osbapi.CodeRequiresApp),
		errRow("422 ConcurrencyError", e, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "x"), http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError),
		errRow("422 AsyncRequired", e, osbapi.Unprocessable(osbapi.CodeAsyncRequired, "x"), http.StatusUnprocessableEntity, osbapi.CodeAsyncRequired),
	})
}

func TestGetBindingStatusCodes(t *testing.T) {
	e := endpointNamed(t, "get binding")
	runStatusRows(t, e, "", []statusRow{
		{name: "200 with credentials", setup: func(b *fakeBroker) {
			b.getBindingFunc = func(context.Context, string, string) (osbapi.BindResponse, error) {
				return osbapi.BindResponse{Credentials: json.RawMessage(`{"uri":"redis://x"}`), SyslogDrainURL: "syslog://d", Parameters: json.RawMessage(`{"role":"ro"}`)}, nil
			}
		}, status: http.StatusOK, body: `{"credentials":{"uri":"redis://x"},"syslog_drain_url":"syslog://d","parameters":{"role":"ro"}}`},
		errRow("404 unknown or in progress", e, osbapi.NotFound("no binding"), http.StatusNotFound, ""),
	})
}

func TestUnbindStatusCodes(t *testing.T) {
	e := endpointNamed(t, "unbind")
	runStatusRows(t, e, "accepts_incomplete=true", []statusRow{
		{name: "200 deleted", setup: nil, status: http.StatusOK, body: `{}`},
		errRow("410 gone", e, osbapi.Gone("no binding"), http.StatusGone, ""),
		errRow("422 AsyncRequired", e, osbapi.Unprocessable(osbapi.CodeAsyncRequired, "x"), http.StatusUnprocessableEntity, osbapi.CodeAsyncRequired),
		errRow("422 ConcurrencyError", e, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "x"), http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError),
	})
}

func TestCatalogStatusCodes(t *testing.T) {
	e := endpointNamed(t, "catalog")
	runStatusRows(t, e, "", []statusRow{
		errRow("an *Error from the broker keeps its status", e, osbapi.NotFound("x"), http.StatusNotFound, ""),
	})
}

// Every error body has exactly the spec's fields: error only with a code, description,
// instance_usable/update_repeatable only when set.
func TestErrorBodiesHaveExactlyTheSpecFields(t *testing.T) {
	cases := []struct {
		name string
		err  *osbapi.Error
		want string
	}{
		{"plain", osbapi.Gone("gone"), `{"description":"gone"}`},
		{"with code", osbapi.Unprocessable(osbapi.CodeConcurrencyError, "busy"), `{"error":"ConcurrencyError","description":"busy"}`},
		{"usable false", &osbapi.Error{Status: http.StatusUnprocessableEntity, Description: "d", InstanceUsable: ptr(false)}, `{"description":"d","instance_usable":false}`},
		{"repeatable false", &osbapi.Error{Status: http.StatusUnprocessableEntity, Description: "d", UpdateRepeatable: ptr(false)}, `{"description":"d","update_repeatable":false}`},
		{"everything", &osbapi.Error{Status: http.StatusUnprocessableEntity, Code: "X", Description: "d", InstanceUsable: ptr(true), UpdateRepeatable: ptr(true)}, `{"error":"X","description":"d","instance_usable":true,"update_repeatable":true}`},
	}
	for _, e := range endpoints() {
		for _, c := range cases {
			t.Run(e.name+"/"+c.name, func(t *testing.T) {
				h := newHarness(t, func(b *fakeBroker) { e.fail(b, c.err) })
				resp := h.do(e.method, e.defaultPath(), e.body)
				assertStatus(t, resp, c.err.Status)
				assertJSON(t, resp.Body, c.want)
			})
		}
	}
}

// A non-*Error error from the broker is a 500 that does not show its text; a wrapped *Error
// keeps its status.
func TestInternalErrorsAre500WithoutDetails(t *testing.T) {
	const secret = "open /var/vcap/store/docker-broker/inst-1/redis.conf: permission denied"
	for _, e := range endpoints() {
		t.Run(e.name, func(t *testing.T) {
			h := newHarness(t, func(b *fakeBroker) { e.fail(b, errors.New(secret)) })
			resp := h.do(e.method, e.defaultPath(), e.body)
			assertStatus(t, resp, http.StatusInternalServerError)
			assertErrorBody(t, resp.Body, "")
			for _, leak := range []string{secret, "/var/vcap", "permission denied"} {
				if bytes.Contains(resp.Body, []byte(leak)) {
					t.Errorf("500 body %s contains %q", resp.Body, leak)
				}
			}
			if !strings.Contains(h.logs.String(), secret) {
				t.Errorf("internal error not logged: %s", h.logs.String())
			}

			h = newHarness(t, func(b *fakeBroker) {
				e.fail(b, fmt.Errorf("in the store: %w", osbapi.Unprocessable(osbapi.CodeConcurrencyError, "busy")))
			})
			resp = h.do(e.method, e.defaultPath(), e.body)
			assertStatus(t, resp, http.StatusUnprocessableEntity)
			assertJSON(t, resp.Body, `{"error":"ConcurrencyError","description":"busy"}`)
		})
	}
}

// ---------------------------------------------------------------------------------------------
// §1.3: async operations

func TestAcceptsIncompleteIsPassedThrough(t *testing.T) {
	flags := []struct {
		query string
		want  bool
	}{
		{"", false},
		{"accepts_incomplete=true", true},
		{"accepts_incomplete=false", false},
		{"accepts_incomplete=", false},
		{"accepts_incomplete=yes", false},
	}
	type getter func(req any) bool
	targets := []struct {
		endpoint string
		get      getter
	}{
		{"provision", func(r any) bool { return r.(osbapi.ProvisionRequest).AcceptsIncomplete }},
		{"update", func(r any) bool { return r.(osbapi.UpdateRequest).AcceptsIncomplete }},
		{"deprovision", func(r any) bool { return r.(osbapi.DeprovisionRequest).AcceptsIncomplete }},
		{"bind", func(r any) bool { return r.(osbapi.BindRequest).AcceptsIncomplete }},
		{"unbind", func(r any) bool { return r.(osbapi.UnbindRequest).AcceptsIncomplete }},
	}
	for _, tg := range targets {
		e := endpointNamed(t, tg.endpoint)
		for _, f := range flags {
			t.Run(tg.endpoint+"/"+f.query, func(t *testing.T) {
				h := newHarness(t)
				path := e.defaultPath()
				if f.query != "" {
					if strings.Contains(path, "?") {
						path += "&" + f.query
					} else {
						path += "?" + f.query
					}
				}
				assertStatus(t, h.do(e.method, path, e.body), e.ok)
				if got := tg.get(h.onlyCall(e.brokerMethod).Req); got != f.want {
					t.Errorf("AcceptsIncomplete = %v, want %v", got, f.want)
				}
			})
		}
	}
}

// A broker that can only work asynchronously: 202 when the platform accepts incomplete
// answers, 422 AsyncRequired with the spec's body otherwise. The HTTP layer must carry the
// flag in and both answers out.
func TestAsyncOnlyWithAcceptsIncomplete(t *testing.T) {
	asyncOnly := func(b *fakeBroker) {
		b.provisionFunc = func(_ context.Context, req osbapi.ProvisionRequest) (osbapi.ProvisionResponse, error) {
			if !req.AcceptsIncomplete {
				return osbapi.ProvisionResponse{}, osbapi.Unprocessable(osbapi.CodeAsyncRequired, "This service plan requires client support for asynchronous service operations.")
			}
			return osbapi.ProvisionResponse{Async: true, Operation: "provision-1"}, nil
		}
	}
	h := newHarness(t, asyncOnly)
	resp := h.do(http.MethodPut, "/v2/service_instances/inst-1", provisionBody)
	assertStatus(t, resp, http.StatusUnprocessableEntity)
	assertJSON(t, resp.Body, `{"error":"AsyncRequired","description":"This service plan requires client support for asynchronous service operations."}`)

	resp = h.do(http.MethodPut, "/v2/service_instances/inst-1?accepts_incomplete=true", provisionBody)
	assertStatus(t, resp, http.StatusAccepted)
	assertJSON(t, resp.Body, `{"operation":"provision-1"}`)
}

func TestRetryAfterHeader(t *testing.T) {
	cases := []struct {
		retry time.Duration
		want  string // "" = no header
	}{
		{0, ""},
		{-5 * time.Second, ""},
		{30 * time.Second, "30"},
		{time.Second, "1"},
		{1500 * time.Millisecond, "2"}, // rounded up: never poll earlier than asked
		{time.Millisecond, "1"},
		{10 * time.Minute, "600"},
	}
	for _, name := range []string{"last operation", "binding last operation"} {
		e := endpointNamed(t, name)
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%s", name, c.retry), func(t *testing.T) {
				h := newHarness(t, func(b *fakeBroker) {
					f := func(context.Context, osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error) {
						return osbapi.LastOperationResponse{State: "in progress", RetryAfter: c.retry}, nil
					}
					b.lastOperationFunc, b.bindingLastOperationFunc = f, f
				})
				resp := h.do(e.method, e.defaultPath(), "")
				assertStatus(t, resp, http.StatusOK)
				got, present := resp.Header.Get("Retry-After"), len(resp.Header.Values("Retry-After")) > 0
				if c.want == "" && present {
					t.Errorf("Retry-After = %q, want none", got)
				}
				if c.want != "" && got != c.want {
					t.Errorf("Retry-After = %q, want %q", got, c.want)
				}
				// RetryAfter is a header, never a body field.
				assertJSON(t, resp.Body, `{"state":"in progress"}`)
			})
		}
	}
}

// ---------------------------------------------------------------------------------------------
// The broker receives what the platform sent

func TestProvisionRequestIsDecoded(t *testing.T) {
	h := newHarness(t)
	body := `{"service_id":"svc-1","plan_id":"plan-1","organization_guid":"org-1","space_guid":"space-1",
		"context":{"platform":"cloudfoundry","instance_name":"my-redis"},
		"parameters":{"maxmemory":"64mb","nested":{"a":[1,2]}},
		"maintenance_info":{"version":"1.2.3","description":"patch"},
		"x-vendor-extension":{"anything":true},"unknown_top_level":[1,"two",null]}`
	assertStatus(t, h.do(http.MethodPut, "/v2/service_instances/inst-1?accepts_incomplete=true", body), http.StatusCreated)
	got := h.onlyCall("Provision").Req.(osbapi.ProvisionRequest)
	want := osbapi.ProvisionRequest{
		InstanceID: "inst-1", AcceptsIncomplete: true,
		ServiceID: "svc-1", PlanID: "plan-1", OrganizationGUID: "org-1", SpaceGUID: "space-1",
		MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "1.2.3", Description: "patch"},
	}
	assertJSON(t, got.Context, `{"platform":"cloudfoundry","instance_name":"my-redis"}`)
	assertJSON(t, got.Parameters, `{"maxmemory":"64mb","nested":{"a":[1,2]}}`)
	got.Context, got.Parameters = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Provision got %+v, want %+v", got, want)
	}
}

func TestUpdateRequestIsDecoded(t *testing.T) {
	h := newHarness(t)
	body := `{"service_id":"svc-1","plan_id":"plan-2","parameters":{"maxmemory":"128mb"},"context":{"platform":"cloudfoundry"},
		"maintenance_info":{"version":"2.0.0"},
		"previous_values":{"service_id":"svc-1","plan_id":"plan-1","organization_id":"org-1","space_id":"space-1","maintenance_info":{"version":"1.0.0"}},
		"x-unknown":1}`
	assertStatus(t, h.do(http.MethodPatch, "/v2/service_instances/inst-1?accepts_incomplete=true", body), http.StatusOK)
	got := h.onlyCall("Update").Req.(osbapi.UpdateRequest)
	assertJSON(t, got.Parameters, `{"maxmemory":"128mb"}`)
	assertJSON(t, got.Context, `{"platform":"cloudfoundry"}`)
	got.Parameters, got.Context = nil, nil
	want := osbapi.UpdateRequest{
		InstanceID: "inst-1", AcceptsIncomplete: true, ServiceID: "svc-1", PlanID: "plan-2",
		MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "2.0.0"},
		PreviousValues: &osbapi.PreviousValues{ServiceID: "svc-1", PlanID: "plan-1", OrganizationID: "org-1", SpaceID: "space-1",
			MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "1.0.0"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Update got %+v, want %+v", got, want)
	}

	// Absent plan_id and parameters mean "do not change them": they reach the broker empty.
	h = newHarness(t)
	assertStatus(t, h.do(http.MethodPatch, "/v2/service_instances/inst-1", updateBody), http.StatusOK)
	got = h.onlyCall("Update").Req.(osbapi.UpdateRequest)
	if got.PlanID != "" || got.Parameters != nil || got.MaintenanceInfo != nil || got.PreviousValues != nil {
		t.Errorf("Update without plan_id/parameters got %+v, want them unset", got)
	}
}

func TestBindRequestIsDecoded(t *testing.T) {
	h := newHarness(t)
	body := `{"service_id":"svc-1","plan_id":"plan-1","app_guid":"app-1",
		"bind_resource":{"app_guid":"app-1","space_guid":"space-1"},"context":{"platform":"cloudfoundry"},
		"parameters":{"role":"ro"},"predecessor_binding_id":"bind-0","x-extra":"ignored"}`
	assertStatus(t, h.do(http.MethodPut, "/v2/service_instances/inst-1/service_bindings/bind-1?accepts_incomplete=true", body), http.StatusCreated)
	got := h.onlyCall("Bind").Req.(osbapi.BindRequest)
	assertJSON(t, got.BindResource, `{"app_guid":"app-1","space_guid":"space-1"}`)
	assertJSON(t, got.Context, `{"platform":"cloudfoundry"}`)
	assertJSON(t, got.Parameters, `{"role":"ro"}`)
	got.BindResource, got.Context, got.Parameters = nil, nil, nil
	want := osbapi.BindRequest{InstanceID: "inst-1", BindingID: "bind-1", AcceptsIncomplete: true,
		ServiceID: "svc-1", PlanID: "plan-1", AppGUID: "app-1", PredecessorBindingID: "bind-0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Bind got %+v, want %+v", got, want)
	}
}

func TestDeleteQueriesAreDecoded(t *testing.T) {
	h := newHarness(t)
	assertStatus(t, h.do(http.MethodDelete, "/v2/service_instances/inst-1?service_id=svc%2F1&plan_id=plan+1&accepts_incomplete=true", ""), http.StatusOK)
	if got, want := h.onlyCall("Deprovision").Req, (osbapi.DeprovisionRequest{InstanceID: "inst-1", ServiceID: "svc/1", PlanID: "plan 1", AcceptsIncomplete: true}); got != want {
		t.Errorf("Deprovision got %+v, want %+v", got, want)
	}
	h = newHarness(t)
	assertStatus(t, h.do(http.MethodDelete, "/v2/service_instances/inst-1/service_bindings/bind-1?plan_id=plan-1&service_id=svc-1", ""), http.StatusOK)
	if got, want := h.onlyCall("Unbind").Req, (osbapi.UnbindRequest{InstanceID: "inst-1", BindingID: "bind-1", ServiceID: "svc-1", PlanID: "plan-1"}); got != want {
		t.Errorf("Unbind got %+v, want %+v", got, want)
	}
}

func TestGetRequestsCarryTheirIDs(t *testing.T) {
	h := newHarness(t)
	assertStatus(t, h.do(http.MethodGet, "/v2/service_instances/inst-9?service_id=svc-1&plan_id=plan-1", ""), http.StatusOK)
	if got := h.onlyCall("GetInstance").Req; got != (instanceRef{InstanceID: "inst-9"}) {
		t.Errorf("GetInstance got %+v", got)
	}
	h = newHarness(t)
	assertStatus(t, h.do(http.MethodGet, "/v2/service_instances/inst-9/service_bindings/bind-9", ""), http.StatusOK)
	if got := h.onlyCall("GetBinding").Req; got != (instanceRef{InstanceID: "inst-9", BindingID: "bind-9"}) {
		t.Errorf("GetBinding got %+v", got)
	}
}

// §1.8: operation is the broker's own token or whatever the platform sends (osb-checker sends
// "provision"); the HTTP layer passes it through unvalidated, with service_id and plan_id.
func TestLastOperationQueryIsPassedThroughUnvalidated(t *testing.T) {
	long := strings.Repeat("x", 10000)
	cases := []struct {
		query string
		want  osbapi.LastOperationRequest
	}{
		{"", osbapi.LastOperationRequest{}},
		{"operation=provision", osbapi.LastOperationRequest{Operation: "provision"}},
		{"operation=update", osbapi.LastOperationRequest{Operation: "update"}},
		{"operation=deprovision&service_id=svc-1&plan_id=plan-1", osbapi.LastOperationRequest{Operation: "deprovision", ServiceID: "svc-1", PlanID: "plan-1"}},
		{"operation=op%2F1%20with%26odd%3Dchars", osbapi.LastOperationRequest{Operation: "op/1 with&odd=chars"}},
		{"operation=%E2%9C%93%F0%9F%90%B3", osbapi.LastOperationRequest{Operation: "✓🐳"}},
		{"operation=" + long, osbapi.LastOperationRequest{Operation: long}},
		{"operation=..%2F..%2Fetc%2Fpasswd", osbapi.LastOperationRequest{Operation: "../../etc/passwd"}},
	}
	for _, name := range []string{"last operation", "binding last operation"} {
		e := endpointNamed(t, name)
		for i, c := range cases {
			t.Run(fmt.Sprintf("%s/%d", name, i), func(t *testing.T) {
				h := newHarness(t)
				path := e.defaultPath()
				if c.query != "" {
					path += "?" + c.query
				}
				assertStatus(t, h.do(e.method, path, ""), http.StatusOK)
				got := h.onlyCall(e.brokerMethod).Req.(osbapi.LastOperationRequest)
				want := c.want
				want.InstanceID = "inst-1"
				if e.hasBinding {
					want.BindingID = "bind-1"
				}
				if got != want {
					t.Errorf("broker got %+v, want %+v", got, want)
				}
			})
		}
	}
}

// ---------------------------------------------------------------------------------------------
// §1.8: malformed and incomplete requests are 400s that never reach the broker

func TestMalformedBodiesAre400(t *testing.T) {
	bodies := map[string]string{
		"empty":                           "",
		"truncated":                       `{"service_id":"svc-1","plan_id":`,
		"not JSON":                        `service_id=svc-1&plan_id=plan-1`,
		"array":                           `[{"service_id":"svc-1"}]`,
		"string":                          `"svc-1"`,
		"number":                          `42`,
		"wrong type for service_id":       `{"service_id":1,"plan_id":"plan-1","organization_guid":"o","space_guid":"s"}`,
		"wrong type for maintenance_info": `{"service_id":"svc-1","plan_id":"plan-1","organization_guid":"o","space_guid":"s","maintenance_info":"1.0"}`,
		"trailing garbage":                `{"service_id":"svc-1","plan_id":"plan-1","organization_guid":"o","space_guid":"s"} trailing`,
		"two objects":                     `{"service_id":"svc-1","plan_id":"plan-1","organization_guid":"o","space_guid":"s"}{"service_id":"evil"}`,
		"invalid UTF-8 escape":            `{"service_id":"svc-1\x","plan_id":"plan-1"}`,
	}
	for _, name := range []string{"provision", "update", "bind"} {
		e := endpointNamed(t, name)
		for bname, body := range bodies {
			if name == "bind" && strings.Contains(bname, "maintenance_info") {
				continue // bind has no maintenance_info: for it, an unknown field
			}
			t.Run(name+"/"+bname, func(t *testing.T) {
				h := newHarness(t)
				var opts []reqOpt
				if body == "" {
					opts = append(opts, withHeader("Content-Type", "application/json"))
				}
				resp := h.do(e.method, e.defaultPath(), body, opts...)
				assertStatus(t, resp, http.StatusBadRequest)
				assertErrorBody(t, resp.Body, "")
				h.assertBrokerNotCalled()
			})
		}
	}
}

func TestMissingRequiredFieldsAre400NamingTheField(t *testing.T) {
	cases := []struct {
		endpoint string
		field    string
		body     string
	}{
		{"provision", "service_id", `{"plan_id":"plan-1","organization_guid":"org-1","space_guid":"space-1"}`},
		{"provision", "plan_id", `{"service_id":"svc-1","organization_guid":"org-1","space_guid":"space-1"}`},
		{"provision", "organization_guid", `{"service_id":"svc-1","plan_id":"plan-1","space_guid":"space-1"}`},
		{"provision", "space_guid", `{"service_id":"svc-1","plan_id":"plan-1","organization_guid":"org-1"}`},
		{"provision", "space_guid", `{"service_id":"svc-1","plan_id":"plan-1","organization_guid":"org-1","space_guid":""}`},
		{"provision", "organization_guid", `{"service_id":"svc-1","plan_id":"plan-1","organization_guid":null,"space_guid":"space-1"}`},
		// Context carrying the GUIDs does not replace the still REQUIRED top-level fields.
		{"provision", "organization_guid", `{"service_id":"svc-1","plan_id":"plan-1","context":{"platform":"cloudfoundry","organization_guid":"org-1","space_guid":"space-1"}}`},
		{"update", "service_id", `{"plan_id":"plan-1"}`},
		{"update", "service_id", `{}`},
		{"bind", "service_id", `{"plan_id":"plan-1"}`},
		{"bind", "plan_id", `{"service_id":"svc-1"}`},
		{"bind", "plan_id", `{"service_id":"svc-1","plan_id":""}`},
	}
	for _, c := range cases {
		t.Run(c.endpoint+"/"+c.field, func(t *testing.T) {
			e := endpointNamed(t, c.endpoint)
			h := newHarness(t)
			resp := h.do(e.method, e.defaultPath(), c.body)
			assertStatus(t, resp, http.StatusBadRequest)
			assertErrorBody(t, resp.Body, "")
			m, _ := errorFields(t, resp.Body)
			if d := m["description"].(string); !strings.Contains(d, c.field) {
				t.Errorf("description %q does not name %s", d, c.field)
			}
			h.assertBrokerNotCalled()
		})
	}
}

func TestDeleteWithoutServiceOrPlanIs400(t *testing.T) {
	paths := map[string]string{
		"deprovision": "/v2/service_instances/inst-1",
		"unbind":      "/v2/service_instances/inst-1/service_bindings/bind-1",
	}
	queries := []struct{ query, field string }{
		{"", "service_id"},
		{"?plan_id=plan-1", "service_id"},
		{"?service_id=svc-1", "plan_id"},
		{"?service_id=&plan_id=plan-1", "service_id"},
		{"?service_id=svc-1&plan_id=", "plan_id"},
		{"?accepts_incomplete=true", "service_id"},
	}
	for name, path := range paths {
		for _, q := range queries {
			t.Run(name+q.query, func(t *testing.T) {
				h := newHarness(t)
				resp := h.do(http.MethodDelete, path+q.query, "")
				assertStatus(t, resp, http.StatusBadRequest)
				assertErrorBody(t, resp.Body, "")
				m, _ := errorFields(t, resp.Body)
				if d := m["description"].(string); !strings.Contains(d, q.field) {
					t.Errorf("description %q does not name %s", d, q.field)
				}
				h.assertBrokerNotCalled()
			})
		}
	}
}

func TestNonObjectParametersContextAndBindResourceAre400(t *testing.T) {
	nonObjects := []string{`[]`, `[{"a":1}]`, `"x"`, `1`, `true`, `false`}
	fields := []struct {
		endpoint, field, base string
	}{
		{"provision", "parameters", provisionBody},
		{"provision", "context", provisionBody},
		{"update", "parameters", updateBody},
		{"update", "context", updateBody},
		{"bind", "parameters", bindBody},
		{"bind", "context", bindBody},
		{"bind", "bind_resource", bindBody},
	}
	with := func(base, field, value string) string {
		return strings.TrimSuffix(base, "}") + `,"` + field + `":` + value + "}"
	}
	for _, f := range fields {
		e := endpointNamed(t, f.endpoint)
		for _, v := range nonObjects {
			t.Run(f.endpoint+"/"+f.field+"="+v, func(t *testing.T) {
				h := newHarness(t)
				resp := h.do(e.method, e.defaultPath(), with(f.base, f.field, v))
				assertStatus(t, resp, http.StatusBadRequest)
				assertErrorBody(t, resp.Body, "")
				m, _ := errorFields(t, resp.Body)
				if d := m["description"].(string); !strings.Contains(d, f.field) {
					t.Errorf("description %q does not name %s", d, f.field)
				}
				h.assertBrokerNotCalled()
			})
		}
		// Objects, empty objects and null are fine.
		for _, v := range []string{`{}`, `{"a":{"b":[1,2,3]}}`, `null`} {
			t.Run(f.endpoint+"/"+f.field+"="+v, func(t *testing.T) {
				h := newHarness(t)
				assertStatus(t, h.do(e.method, e.defaultPath(), with(f.base, f.field, v)), e.ok)
				h.onlyCall(e.brokerMethod)
			})
		}
	}
}

func TestUnknownFieldsAreIgnored(t *testing.T) {
	extra := `"x-vendor":{"deep":[{"a":null}]},"unknown":123,"also_unknown":"s","plan_updateable":true`
	for _, name := range []string{"provision", "update", "bind"} {
		e := endpointNamed(t, name)
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			body := `{` + extra + `,` + strings.TrimPrefix(e.body, "{")
			assertStatus(t, h.do(e.method, e.defaultPath(), body), e.ok)
			h.onlyCall(e.brokerMethod)
		})
	}
}

// ---------------------------------------------------------------------------------------------
// Request body size

func TestBodyOver1MiBIs413(t *testing.T) {
	const limit = 1 << 20
	// A valid provision body padded, inside a parameter value, to the given size.
	padded := func(size int) string {
		head := `{"service_id":"svc-1","plan_id":"plan-1","organization_guid":"org-1","space_guid":"space-1","parameters":{"pad":"`
		tail := `"}}`
		return head + strings.Repeat("a", size-len(head)-len(tail)) + tail
	}
	for _, e := range []endpoint{endpointNamed(t, "provision"), endpointNamed(t, "update"), endpointNamed(t, "bind")} {
		t.Run(e.name, func(t *testing.T) {
			for _, body := range []string{
				padded(limit + 1),
				padded(limit + 64<<10),
				// A small valid object followed by whitespace: still a body over the limit.
				e.body + strings.Repeat(" ", limit),
			} {
				h := newHarness(t)
				resp := h.do(e.method, e.defaultPath(), body)
				assertStatus(t, resp, http.StatusRequestEntityTooLarge)
				assertErrorBody(t, resp.Body, "")
				h.assertBrokerNotCalled()
			}
		})
	}
	t.Run("just under the limit", func(t *testing.T) {
		h := newHarness(t)
		assertStatus(t, h.do(http.MethodPut, "/v2/service_instances/inst-1", padded(limit)), http.StatusCreated)
		h.onlyCall("Provision")
	})
}

// ---------------------------------------------------------------------------------------------
// Instance and binding ids

// badIDs are path segments, as sent on the wire, that must never reach the broker as an id:
// they could escape a directory or break a container name.
var badIDs = []string{
	"..",
	".",
	".hidden",
	"%2E%2E",
	"a%2Fb",
	"a%2F..%2F..%2Fetc",
	"..%2F..%2Fetc",
	"a%5Cb",
	"-x",
	"_x",
	"a%20b",
	"a%00b",
	"a%0Ab",
	"a:b",
	"a~b",
	"a@b",
	"%C3%A9t%C3%A9", // été
	"caf%C3%A9",     // café
	"%F0%9F%90%B3",  // 🐳
	"a%E2%80%8Bb",   // zero-width space
	"%FF",           // not UTF-8
	strings.Repeat("a", 129),
	strings.Repeat("a", 200),
}

// goodIDs are ids as sent on the wire and as the broker must receive them.
var goodIDs = []struct{ wire, id string }{
	{"6d9c0b5e-2f1a-4c53-9a2b-3f1e0a7c9d10", "6d9c0b5e-2f1a-4c53-9a2b-3f1e0a7c9d10"},
	{"a", "a"},
	{"0", "0"},
	{"A.b_c-d", "A.b_c-d"},
	{"inst..1", "inst..1"},
	{"x.", "x."},
	{strings.Repeat("z", 128), strings.Repeat("z", 128)},
	// Percent-encoded unreserved characters are the same id (RFC 3986 §6.2.2.2).
	{"a%2Db", "a-b"},
}

func TestUnsafeIDsAre400(t *testing.T) {
	for _, e := range endpoints() {
		if e.ids == nil {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			for _, bad := range badIDs {
				paths := []string{e.path(bad, "bind-1")}
				if e.hasBinding {
					paths = append(paths, e.path("inst-1", bad))
				}
				for _, p := range paths {
					h := newHarness(t)
					resp := h.do(e.method, p, e.body)
					if resp.Status != http.StatusBadRequest {
						t.Errorf("%s %s: status %d, want 400 (body %s)", e.method, p, resp.Status, resp.Body)
					} else {
						assertErrorBody(t, resp.Body, "")
					}
					if calls := h.broker.Calls(); len(calls) != 0 {
						t.Errorf("%s %s: broker called: %+v", e.method, p, calls)
					}
				}
			}
		})
	}
}

func TestOrdinaryIDsPass(t *testing.T) {
	for _, e := range endpoints() {
		if e.ids == nil {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			for _, good := range goodIDs {
				h := newHarness(t)
				bid := "bind-1"
				if e.hasBinding {
					bid = good.wire
				}
				resp := h.do(e.method, e.path(good.wire, bid), e.body)
				if resp.Status != e.ok {
					t.Errorf("id %q: status %d, want %d (body %s)", good.wire, resp.Status, e.ok, resp.Body)
					continue
				}
				iid, gotBid := e.ids(h.onlyCall(e.brokerMethod).Req)
				wantBid := ""
				if e.hasBinding {
					wantBid = good.id
				}
				if iid != good.id || gotBid != wantBid {
					t.Errorf("id %q: broker got (%q, %q), want (%q, %q)", good.wire, iid, gotBid, good.id, wantBid)
				}
			}
		})
	}
}

// An encoded slash in an instance id must not turn a request into another endpoint's: a PUT
// of instance "a/service_bindings/b" is not a bind, a DELETE of it is not an unbind.
func TestEncodedSlashesDoNotReroute(t *testing.T) {
	cases := []struct{ method, path, body string }{
		{http.MethodPut, "/v2/service_instances/a%2Fservice_bindings%2Fb", provisionBody},
		{http.MethodDelete, "/v2/service_instances/a%2Fservice_bindings%2Fb?service_id=svc-1&plan_id=plan-1", ""},
		{http.MethodGet, "/v2/service_instances/a%2Flast_operation", ""},
		{http.MethodGet, "/v2/service_instances/a%2Fservice_bindings%2Fb%2Flast_operation", ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			h := newHarness(t)
			resp := h.do(c.method, c.path, c.body)
			assertStatus(t, resp, http.StatusBadRequest)
			h.assertBrokerNotCalled()
		})
	}
}
