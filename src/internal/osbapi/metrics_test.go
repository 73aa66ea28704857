package osbapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// fakeObserver records the requests the API reports.
type fakeObserver struct {
	mu     sync.Mutex
	served []string // "METHOD route status"
}

func (o *fakeObserver) RequestServed(method, route string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.served = append(o.served, method+" "+route+" "+http.StatusText(status))
}

// scrapeBody is what the fake metrics handler answers.
const scrapeBody = "docker_broker_engine_up 1\n"

var fakeMetrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	_, _ = io.WriteString(w, scrapeBody)
})

func get(t *testing.T, url, user, pass string) (int, string) {
	t.Helper()
	return send(t, http.MethodGet, url, user, pass)
}

func send(t *testing.T, method, url, user, pass string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	req.Header.Set("X-Broker-API-Version", "2.17")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestMetricsTakeTheirOwnCredentialsAndTheAPIKeepsTheBrokers(t *testing.T) {
	metricsCreds := osbapi.Credentials{Username: "prometheus", Password: "scrape-password"}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv := httptest.NewServer(osbapi.NewHandler(&fakeBroker{}, &fakeAdmin{}, osbapi.Credentials{Username: brokerUser, Password: brokerPassword}, log,
		osbapi.ServeMetrics(fakeMetrics, metricsCreds)))
	t.Cleanup(srv.Close)

	for _, c := range []struct {
		path, user, pass string
		want             int
	}{
		{"/metrics", "prometheus", "scrape-password", http.StatusOK},
		{"/metrics", "", "", http.StatusUnauthorized},
		{"/metrics", "prometheus", "wrong", http.StatusUnauthorized},
		{"/metrics", brokerUser, brokerPassword, http.StatusUnauthorized}, // the platform's credentials are not Prometheus's
		{"/v2/catalog", "prometheus", "scrape-password", http.StatusUnauthorized},
		{"/v2/catalog", brokerUser, brokerPassword, http.StatusOK},
	} {
		status, body := get(t, srv.URL+c.path, c.user, c.pass)
		if status != c.want {
			t.Errorf("GET %s as %q: %d, want %d", c.path, c.user, status, c.want)
		}
		if c.path == "/metrics" && (status == http.StatusOK) != (body == scrapeBody) {
			t.Errorf("GET /metrics as %q answered %q", c.user, body)
		}
		// A 401 names the credentials that open the path, not always the broker's.
		wantHint := map[string]string{"/metrics": "metrics.username", "/v2/catalog": "the broker's username"}[c.path]
		if status == http.StatusUnauthorized && !strings.Contains(body, wantHint) {
			t.Errorf("GET %s as %q: 401 saying %q, want it to name %q", c.path, c.user, body, wantHint)
		}
	}
	if status, _ := send(t, http.MethodPost, srv.URL+"/metrics", brokerUser, brokerPassword); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d, want 405", status)
	}
}

func TestWithoutServeMetricsThereIsNoMetricsEndpoint(t *testing.T) {
	h := newHarness(t)
	resp := h.do(http.MethodGet, "/metrics", "")
	if resp.Status != http.StatusNotFound {
		t.Errorf("GET /metrics: %d, want 404", resp.Status)
	}
}

func TestMetricsHandlerOfItsOwnServesOnlyMetricsBehindItsCredentials(t *testing.T) {
	creds := osbapi.Credentials{Username: "prometheus", Password: "scrape-password"}
	srv := httptest.NewServer(osbapi.NewMetricsHandler(fakeMetrics, creds, slog.New(slog.NewJSONHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	if status, body := get(t, srv.URL+"/metrics", "prometheus", "scrape-password"); status != http.StatusOK || body != scrapeBody {
		t.Errorf("GET /metrics: %d %q", status, body)
	}
	if status, _ := get(t, srv.URL+"/metrics", "", ""); status != http.StatusUnauthorized {
		t.Errorf("GET /metrics without credentials: %d, want 401", status)
	}
	if status, _ := get(t, srv.URL+"/v2/catalog", "prometheus", "scrape-password"); status != http.StatusNotFound {
		t.Errorf("GET /v2/catalog on the metrics listener: %d, want 404", status)
	}
}

func TestRequestsAreObservedByRouteTemplateNeverByPath(t *testing.T) {
	obs := &fakeObserver{}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv := httptest.NewServer(osbapi.NewHandler(&fakeBroker{}, &fakeAdmin{}, osbapi.Credentials{Username: brokerUser, Password: brokerPassword}, log,
		osbapi.ObserveRequests(obs)))
	t.Cleanup(srv.Close)

	get(t, srv.URL+"/v2/catalog", brokerUser, brokerPassword)
	get(t, srv.URL+"/v2/service_instances/secret-instance-id", brokerUser, brokerPassword)
	get(t, srv.URL+"/v2/service_instances/secret-instance-id/service_bindings/b-1/last_operation", brokerUser, brokerPassword)
	get(t, srv.URL+"/v2/catalog", "", "")
	get(t, srv.URL+"/no/such/secret-path", brokerUser, brokerPassword)
	send(t, "BREW", srv.URL+"/v2/catalog", brokerUser, brokerPassword)

	want := []string{
		"GET /v2/catalog OK",
		"GET /v2/service_instances/{instance_id} OK",
		"GET /v2/service_instances/{instance_id}/service_bindings/{binding_id}/last_operation OK",
		"GET /v2/catalog Unauthorized",
		"GET unmatched Not Found",
		"OTHER unmatched Method Not Allowed",
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if !slices.Equal(obs.served, want) {
		t.Errorf("observed:\n%s\nwant:\n%s", strings.Join(obs.served, "\n"), strings.Join(want, "\n"))
	}
}
