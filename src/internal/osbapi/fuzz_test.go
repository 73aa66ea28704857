package osbapi_test

// Fuzz tests of request decoding: arbitrary bodies, ids, query strings and headers through
// the real handler (served in-process, without a network) with a fake broker. `go test` runs
// the seeds; `go test -run '^$' -fuzz FuzzX ./src/internal/osbapi/` explores.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// safeID is what an id the broker receives must look like (it becomes a container and a
// directory name).
var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

const maxBody = 1 << 20

// fuzzHandler returns the API's handler over b, logging into logs (or nowhere).
func fuzzHandler(b *fakeBroker, logs io.Writer) http.Handler {
	if logs == nil {
		logs = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	return osbapi.NewHandler(b, &fakeAdmin{}, osbapi.Credentials{Username: brokerUser, Password: brokerPassword}, log)
}

// serveRaw sends method target (a request URI as on the wire) with body and the platform's
// usual headers to h in-process. ok is false when no HTTP server would accept target as a
// request URI, so there is nothing to test.
func serveRaw(h http.Handler, method, target string, body []byte, header http.Header) (rec *httptest.ResponseRecorder, u *url.URL, ok bool) {
	for _, c := range []byte(target) {
		if c <= ' ' || c == 0x7f {
			return nil, nil, false // would not survive the request line
		}
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, nil, false
	}
	req := &http.Request{
		Method: method, URL: u, RequestURI: target, Host: "broker.test",
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
	req.SetBasicAuth(brokerUser, brokerPassword)
	req.Header.Set("X-Broker-API-Version", "2.17")
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	req = req.WithContext(context.Background())
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, u, true
}

// withQuery appends query (without the characters no request line can carry) to path.
func withQuery(path, query string) string {
	query = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || r == '#' {
			return -1
		}
		return r
	}, query)
	if query == "" {
		return path
	}
	return path + "?" + query
}

// checkStatus fails unless the answer's status is one of allowed, and checks that every

// brokerCallFor checks that the handler called the broker exactly when the oracle accepts the
// request (described by what, for messages), and returns the one request the broker got, or
// nil for a refused request.
func brokerCallFor(t *testing.T, b *fakeBroker, accept bool, rec *httptest.ResponseRecorder, what string) any {
	t.Helper()
	calls := b.Calls()
	if !accept {
		if len(calls) != 0 {
			t.Fatalf("broker called with %+v for a request that must be refused (%s)", calls[0].Req, what)
		}
		return nil
	}
	if len(calls) != 1 {
		t.Fatalf("valid request (%s) answered %d %s without calling the broker", what, rec.Code, rec.Body)
	}
	return calls[0].Req
}

// non-2xx answer is an OSB error body without an error code (the fake never sets one).
func checkStatus(t *testing.T, rec *httptest.ResponseRecorder, allowed ...int) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("status %d (a 5xx) for a request the broker never failed: %s", rec.Code, rec.Body)
	}
	found := false
	for _, a := range allowed {
		found = found || rec.Code == a
	}
	if !found {
		t.Fatalf("status %d, want one of %v (body %s)", rec.Code, allowed, rec.Body)
	}
	if rec.Code >= 300 {
		var e map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
			t.Fatalf("error body %q is not a JSON object: %v", rec.Body, err)
		}
		if d, _ := e["description"].(string); d == "" || len(e) != 1 {
			t.Fatalf("error body %s: want exactly a non-empty description", rec.Body)
		}
	}
}

// isObjectOrAbsent reports whether an optional field is absent, null or a JSON object.
func isObjectOrAbsent(raw json.RawMessage) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil
}

// assertSafeIDs fails unless every id the broker received is a safe one.
func assertSafeIDs(t *testing.T, b *fakeBroker) {
	t.Helper()
	for _, c := range b.Calls() {
		var ids []string
		switch r := c.Req.(type) {
		case osbapi.ProvisionRequest:
			ids = []string{r.InstanceID}
		case osbapi.UpdateRequest:
			ids = []string{r.InstanceID}
		case osbapi.DeprovisionRequest:
			ids = []string{r.InstanceID}
		case osbapi.LastOperationRequest:
			ids = []string{r.InstanceID}
			if r.BindingID != "" {
				ids = append(ids, r.BindingID)
			}
		case osbapi.BindRequest:
			ids = []string{r.InstanceID, r.BindingID}
		case osbapi.UnbindRequest:
			ids = []string{r.InstanceID, r.BindingID}
		case instanceRef:
			ids = []string{r.InstanceID}
			if c.Method == "GetBinding" {
				ids = append(ids, r.BindingID)
			}
		}
		for _, id := range ids {
			if !safeID.MatchString(id) {
				t.Fatalf("%s called with unsafe id %q", c.Method, id)
			}
		}
	}
}

// bodySeeds are request bodies for every fuzzer of a body: valid ones, broken ones, and
// the shapes that broke decoders before.
func bodySeeds(valid string) []string {
	return []string{
		valid,
		valid + "\n",
		"  \t" + valid + "  ",
		valid + " trailing",
		valid + valid,
		valid + `{"service_id":"evil"}`,
		valid[:len(valid)/2],
		"",
		"null",
		"[]",
		"[" + valid + "]",
		`"just a string"`,
		"42",
		"{}",
		"{",
		"}",
		"\xef\xbb\xbf" + valid, // byte order mark
		strings.TrimSuffix(valid, "}") + `,"parameters":[]}`,
		strings.TrimSuffix(valid, "}") + `,"parameters":null,"context":null}`,
		strings.TrimSuffix(valid, "}") + `,"parameters":{"a":{"b":{"c":[1,2,{"d":null}]}}}}`,
		strings.TrimSuffix(valid, "}") + `,"context":"cloudfoundry"}`,
		strings.TrimSuffix(valid, "}") + `,"bind_resource":7}`,
		strings.TrimSuffix(valid, "}") + `,"parameters":{"n":1e999999,"m":-0.0e-400,"big":123456789012345678901234567890}}`,
		strings.TrimSuffix(valid, "}") + `,"maintenance_info":{"version":"1.0.0"}}`,
		strings.TrimSuffix(valid, "}") + `,"maintenance_info":"1.0.0"}`,
		strings.TrimSuffix(valid, "}") + `,"previous_values":{"plan_id":"p0"}}`,
		strings.TrimSuffix(valid, "}") + `,"x-vendor":{"deep":[[[[[[[[[[]]]]]]]]]]}}`,
		`{"service_id":123456789012345678901234567890,"plan_id":"p"}`,
		`{"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"s","SERVICE_ID":""}`,
		`{"service_id":"\u00fc\u2713\ud83d\udc33","plan_id":"\u0000","organization_guid":"o\ud800","space_guid":"é"}`,
		`{"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"s\xff\xfe"}`,
		`{"service_id":"s","service_id":"t","plan_id":"p","organization_guid":"o","space_guid":"s"}`,
		strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
		`{"parameters":` + strings.Repeat(`{"a":`, 12000) + "1" + strings.Repeat("}", 12000) + `}`,
		`{"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"s","parameters":{"x":"` + strings.Repeat("\\\"", 1000) + `"}}`,
	}
}

var idSeeds = []string{
	"inst-1", "6d9c0b5e-2f1a-4c53-9a2b-3f1e0a7c9d10", "", "..", ".", ".hidden", "a/b", "a/../../etc",
	"-x", "_x", "a b", "a\x00b", "a\nb", "é", "🐳", "a%2Fb", strings.Repeat("a", 128), strings.Repeat("a", 200),
}

var querySeeds = []string{
	"", "accepts_incomplete=true", "accepts_incomplete=false", "accepts_incomplete=true&accepts_incomplete=false",
	"accepts_incomplete=%74rue", "accepts_incomplete", "%zz", ";", "a=1;accepts_incomplete=true",
	"service_id=s&plan_id=p&operation=provision", "operation=" + strings.Repeat("o", 300),
}

// FuzzProvisionRequest: PUT /v2/service_instances/:id with arbitrary ids, queries and bodies.
func FuzzProvisionRequest(f *testing.F) {
	for i, body := range bodySeeds(provisionBody) {
		f.Add(idSeeds[i%len(idSeeds)], querySeeds[i%len(querySeeds)], []byte(body))
	}
	f.Fuzz(func(t *testing.T, id, query string, body []byte) {
		b := &fakeBroker{provisionFunc: func(_ context.Context, req osbapi.ProvisionRequest) (osbapi.ProvisionResponse, error) {
			return osbapi.ProvisionResponse{Async: req.AcceptsIncomplete, Operation: "op"}, nil
		}}
		rec, u, ok := serveRaw(fuzzHandler(b, nil), http.MethodPut, withQuery("/v2/service_instances/"+url.PathEscape(id), query), body, nil)
		if !ok {
			return
		}
		allowed := []int{http.StatusCreated, http.StatusAccepted, http.StatusBadRequest, http.StatusRequestEntityTooLarge}
		if id == "" {
			allowed = append(allowed, http.StatusNotFound, http.StatusMethodNotAllowed)
		}
		checkStatus(t, rec, allowed...)
		assertSafeIDs(t, b)

		// An independent oracle of what the handler must accept.
		var want osbapi.ProvisionRequest
		accept := safeID.MatchString(id) && len(body) <= maxBody && json.Valid(body) && json.Unmarshal(body, &want) == nil &&
			want.ServiceID != "" && want.PlanID != "" && want.OrganizationGUID != "" && want.SpaceGUID != "" &&
			isObjectOrAbsent(want.Parameters) && isObjectOrAbsent(want.Context)
		req := brokerCallFor(t, b, accept, rec, fmt.Sprintf("id %q, body %q", id, body))
		if req == nil {
			return
		}
		got := req.(osbapi.ProvisionRequest)
		want.InstanceID, want.AcceptsIncomplete = id, u.Query().Get("accepts_incomplete") == "true"
		if !jsonEqual(got.Parameters, want.Parameters) || !jsonEqual(got.Context, want.Context) {
			t.Fatalf("broker got parameters %s / context %s, body had %s / %s", got.Parameters, got.Context, want.Parameters, want.Context)
		}
		got.Parameters, got.Context, want.Parameters, want.Context = nil, nil, nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("broker got %+v, want %+v", got, want)
		}
		wantStatus := http.StatusCreated
		if want.AcceptsIncomplete {
			wantStatus = http.StatusAccepted
		}
		if rec.Code != wantStatus {
			t.Fatalf("status %d, want %d", rec.Code, wantStatus)
		}
	})
}

// FuzzUpdateRequest: PATCH /v2/service_instances/:id.
func FuzzUpdateRequest(f *testing.F) {
	for i, body := range bodySeeds(`{"service_id":"svc-1","plan_id":"plan-2","parameters":{"a":1},"previous_values":{"plan_id":"plan-1"}}`) {
		f.Add(idSeeds[i%len(idSeeds)], querySeeds[i%len(querySeeds)], []byte(body))
	}
	f.Fuzz(func(t *testing.T, id, query string, body []byte) {
		b := &fakeBroker{}
		rec, u, ok := serveRaw(fuzzHandler(b, nil), http.MethodPatch, withQuery("/v2/service_instances/"+url.PathEscape(id), query), body, nil)
		if !ok {
			return
		}
		allowed := []int{http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge}
		if id == "" {
			allowed = append(allowed, http.StatusNotFound, http.StatusMethodNotAllowed)
		}
		checkStatus(t, rec, allowed...)
		assertSafeIDs(t, b)

		var want osbapi.UpdateRequest
		accept := safeID.MatchString(id) && len(body) <= maxBody && json.Valid(body) && json.Unmarshal(body, &want) == nil &&
			want.ServiceID != "" && isObjectOrAbsent(want.Parameters) && isObjectOrAbsent(want.Context)
		req := brokerCallFor(t, b, accept, rec, fmt.Sprintf("id %q, body %q", id, body))
		if req == nil {
			return
		}
		got := req.(osbapi.UpdateRequest)
		want.InstanceID, want.AcceptsIncomplete = id, u.Query().Get("accepts_incomplete") == "true"
		if !jsonEqual(got.Parameters, want.Parameters) || !jsonEqual(got.Context, want.Context) {
			t.Fatalf("broker got parameters %s / context %s, body had %s / %s", got.Parameters, got.Context, want.Parameters, want.Context)
		}
		got.Parameters, got.Context, want.Parameters, want.Context = nil, nil, nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("broker got %+v, want %+v", got, want)
		}
	})
}

// FuzzBindRequest: PUT .../service_bindings/:binding_id.
func FuzzBindRequest(f *testing.F) {
	valid := `{"service_id":"svc-1","plan_id":"plan-1","bind_resource":{"app_guid":"app-1"},"context":{"platform":"cloudfoundry"},"parameters":{}}`
	for i, body := range bodySeeds(valid) {
		f.Add(idSeeds[i%len(idSeeds)], idSeeds[(i+3)%len(idSeeds)], querySeeds[i%len(querySeeds)], []byte(body))
	}
	f.Add("inst-1", "bind-1", "", []byte(bindBody))
	f.Add("inst-1", "bind-1", "accepts_incomplete=true", []byte(`{"service_id":"s","plan_id":"p","app_guid":"a","predecessor_binding_id":"../x"}`))
	f.Fuzz(func(t *testing.T, instanceID, bindingID, query string, body []byte) {
		b := &fakeBroker{}
		path := "/v2/service_instances/" + url.PathEscape(instanceID) + "/service_bindings/" + url.PathEscape(bindingID)
		rec, u, ok := serveRaw(fuzzHandler(b, nil), http.MethodPut, withQuery(path, query), body, nil)
		if !ok {
			return
		}
		allowed := []int{http.StatusCreated, http.StatusBadRequest, http.StatusRequestEntityTooLarge}
		if instanceID == "" || bindingID == "" {
			allowed = append(allowed, http.StatusNotFound, http.StatusMethodNotAllowed)
		}
		checkStatus(t, rec, allowed...)
		assertSafeIDs(t, b)

		var want osbapi.BindRequest
		accept := safeID.MatchString(instanceID) && safeID.MatchString(bindingID) && len(body) <= maxBody && json.Valid(body) &&
			json.Unmarshal(body, &want) == nil && want.ServiceID != "" && want.PlanID != "" &&
			isObjectOrAbsent(want.Parameters) && isObjectOrAbsent(want.Context) && isObjectOrAbsent(want.BindResource)
		req := brokerCallFor(t, b, accept, rec, fmt.Sprintf("ids %q %q, body %q", instanceID, bindingID, body))
		if req == nil {
			return
		}
		got := req.(osbapi.BindRequest)
		want.InstanceID, want.BindingID, want.AcceptsIncomplete = instanceID, bindingID, u.Query().Get("accepts_incomplete") == "true"
		if !jsonEqual(got.Parameters, want.Parameters) || !jsonEqual(got.Context, want.Context) || !jsonEqual(got.BindResource, want.BindResource) {
			t.Fatalf("broker got raw fields %s %s %s, body had %s %s %s", got.Parameters, got.Context, got.BindResource, want.Parameters, want.Context, want.BindResource)
		}
		got.Parameters, got.Context, got.BindResource, want.Parameters, want.Context, want.BindResource = nil, nil, nil, nil, nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("broker got %+v, want %+v", got, want)
		}
	})
}

// FuzzOriginatingIdentity: X-Broker-API-Originating-Identity (and the request identity) never
// break a request, are logged decoded when they decode, and never drag a secret into the log.
func FuzzOriginatingIdentity(f *testing.F) {
	f.Add("cloudfoundry", []byte(`{"user_id":"683ea748-3092-4ff4-b656-39cacc4d5360"}`), "cloudfoundry eyJ1c2VyX2lkIjoiYWJjIn0=", "req-1")
	f.Add("kubernetes", []byte(`{"username":"duke","uid":"c2dde242","groups":["admin"],"extra":{"k":["v"]}}`), "kubernetes", "")
	f.Add("cloudfoundry", []byte(`null`), "cloudfoundry !!!", "e26cea8e-3e7d-4c8b-9a54-0d1f9a7e7e11")
	f.Add("", []byte(`[]`), " ", "x")
	f.Add("cf", []byte(`"user"`), "cf eyJ1c2VyX2lkIjoiYWJjIn0", "")           // missing padding
	f.Add("cf", []byte(`{"user_id":`), "cf e3sie30=", "\n")                   // truncated JSON
	f.Add("a b", []byte(`{"user_id":"\u0000\ud800"}`), "a b c", "\"quoted\"") // spaces in the platform
	f.Add("cloudfoundry", []byte("{\"user_id\":\"\xff\"}"), "\x00\r\n", "\r\nX-Injected: 1")
	f.Add("cloudfoundry", []byte(`{"user_id":1e999999}`), "cloudfoundry "+strings.Repeat("A", 4096), strings.Repeat("r", 4096))
	f.Add("kubernetes", []byte(`{"username":"duke","uid":"u","groups":["g"],"extra":{"token":["t"]},"UID":"shadow"}`), "kubernetes e30=", "")
	f.Add("cloudfoundry", []byte(`{"user_id":"u1","user_id":"u2","USER_ID":"u3"}`), "cloudfoundry", "")
	f.Fuzz(func(t *testing.T, platform string, identity []byte, raw, requestID string) {
		encoded := platform + " " + base64.StdEncoding.EncodeToString(identity)
		for i, header := range []string{encoded, raw} {
			b := &fakeBroker{catalogFunc: func(context.Context) (json.RawMessage, error) {
				return json.RawMessage(`{"services":[]}`), nil
			}}
			logs := &testenv.LogBuffer{}
			hdr := http.Header{"X-Broker-Api-Originating-Identity": {header}}
			if requestID != "" {
				hdr["X-Broker-Api-Request-Identity"] = []string{requestID}
			}
			rec, _, ok := serveRaw(fuzzHandler(b, logs), http.MethodGet, "/v2/catalog", nil, hdr)
			if !ok {
				t.Fatal("catalog request not servable")
			}
			checkStatus(t, rec, http.StatusOK)
			if rec.Body.String() != `{"services":[]}` {
				t.Fatalf("catalog body %q", rec.Body)
			}
			if len(b.Calls()) != 1 {
				t.Fatalf("broker calls %v, want one Catalog", b.Calls())
			}
			if requestID != "" && rec.Header().Get("X-Broker-API-Request-Identity") != requestID {
				t.Fatalf("request identity %q echoed as %q", requestID, rec.Header().Get("X-Broker-API-Request-Identity"))
			}

			out := logs.String()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 1 {
				t.Fatalf("want one log line, got %d: %q", len(lines), out)
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
				t.Fatalf("log line %q is not JSON: %v", lines[0], err)
			}
			// Secrets must not reach the log unless the fuzzer itself put them in a header.
			sent := header + requestID + string(identity)
			for _, secret := range []string{brokerPassword, base64.StdEncoding.EncodeToString([]byte(brokerUser + ":" + brokerPassword))} {
				if strings.Contains(out, secret) && !strings.Contains(sent, secret) {
					t.Fatalf("%q in the log: %s", secret, out)
				}
			}

			// Of the header built from parts, the platform and the user's id (when the
			// platform's profile has one and it is a string) are logged, nothing else.
			if i == 0 && !strings.Contains(platform, " ") && utf8.ValidString(platform) && utf8.Valid(identity) {
				want := map[string]any{"origin_platform": platform}
				var fields map[string]json.RawMessage
				if json.Unmarshal(identity, &fields) == nil {
					for _, f := range map[string][]string{"cloudfoundry": {"user_id"}, "kubernetes": {"username", "uid"}}[platform] {
						var v string
						if json.Unmarshal(fields[f], &v) == nil && v != "" {
							want["origin_"+f] = v
						}
					}
				}
				got := map[string]any{}
				for k, v := range line {
					if strings.HasPrefix(k, "origin_") {
						got[k] = v
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("logged origin %q, want %q", got, want)
				}
			}
		}
	})
}

// FuzzRequestPath: arbitrary methods, raw (unescaped) paths under /v2 and queries. Whatever
// the router makes of them, no 5xx, and no broker call with an unsafe id.
func FuzzRequestPath(f *testing.F) {
	methods := []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost, http.MethodHead, "OPTIONS"}
	seeds := []string{
		"catalog", "service_instances/inst-1", "service_instances/inst-1/last_operation",
		"service_instances/inst-1/service_bindings/bind-1", "service_instances/inst-1/service_bindings/bind-1/last_operation",
		"service_instances/..", "service_instances/../catalog", "service_instances/./x", "service_instances//x",
		"service_instances/a%2Fservice_bindings%2Fb", "service_instances/%2E%2E/service_bindings/%2e",
		"service_instances/inst-1/service_bindings/..%2F..%2F..%2Fetc%2Fpasswd", "service_instances/%C3%A9",
		"service_instances/%", "service_instances/%00", "service_instances/a;b", "service_instances/" + strings.Repeat("a", 129),
		"../admin/reconciliation", "service_instances/inst-1/service_bindings/", "service_instances/-x/service_bindings/_y",
	}
	for i, p := range seeds {
		f.Add(uint8(i), p, querySeeds[i%len(querySeeds)]+"&service_id=s&plan_id=p", []byte(bindSeedBody(i)))
	}
	f.Fuzz(func(t *testing.T, m uint8, path, query string, body []byte) {
		b := &fakeBroker{}
		method := methods[int(m)%len(methods)]
		rec, _, ok := serveRaw(fuzzHandler(b, nil), method, withQuery("/v2/"+path, query), body, nil)
		if !ok {
			return
		}
		checkStatus(t, rec, http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusNotFound,
			http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge)
		assertSafeIDs(t, b)
		if len(b.Calls()) > 1 {
			t.Fatalf("one request, %d broker calls", len(b.Calls()))
		}
	})
}

func bindSeedBody(i int) string {
	switch i % 3 {
	case 0:
		return provisionBody
	case 1:
		return bindBody
	default:
		return ""
	}
}

// jsonEqual reports whether two optional raw JSON fields hold the same JSON (or are both
// absent).
func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	return bytes.Equal(a, b)
}
