package broker

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics/metricstest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// BenchmarkMetricsScrapeAt500Instances measures a whole scrape of /metrics through the
// broker's HTTP handler with 500 instances (and 1000 bindings) in a real state file and 500
// containers listed by the fake engine: what the broker adds to a scrape, without dockerd's
// own time to list its containers. It prints figures (target < 50 ms a scrape); it asserts
// nothing about them.
func BenchmarkMetricsScrapeAt500Instances(b *testing.B) {
	const instances, scrapes = 500, 20
	engine := newFakeEngine()
	st, err := store.Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cat := loadCatalog(b)
	var plans [][2]string // service id, plan id
	images := map[string]string{}
	for _, s := range cat.Services {
		for _, p := range s.Plans {
			plans = append(plans, [2]string{s.ID, p.ID})
			images[p.ID] = p.Container.ImageRef()
		}
	}
	for i := range instances {
		id := fmt.Sprintf("bench-%d", i)
		plan := plans[i%len(plans)]
		inst := store.Instance{ID: id, ServiceID: plan[0], PlanID: plan[1], Provisioned: true,
			Operation: store.Operation{ID: "provision-" + id, Kind: store.Provision, State: store.Succeeded}}
		if err := st.PutInstance(inst); err != nil {
			b.Fatal(err)
		}
		for j := range 2 {
			if err := st.PutBinding(store.Binding{ID: fmt.Sprintf("b-%d", j), InstanceID: id, ServiceID: plan[0], PlanID: plan[1]}); err != nil {
				b.Fatal(err)
			}
		}
		engine.putContainer(containerName(id), images[plan[1]], map[string]string{
			LabelBroker: brokerName, LabelInstanceID: id, LabelServiceID: plan[0], LabelPlanID: plan[1]}, true)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	m := metrics.New()
	br, err := New(Config{Catalog: cat, Name: brokerName, MaxContainers: 1000, Observer: m}, engine, st, log)
	if err != nil {
		b.Fatal(err)
	}
	m.CollectState(br)
	creds := osbapi.Credentials{Username: "broker", Password: "bench-password"}
	srv := httptest.NewServer(osbapi.NewHandler(br, br, creds, log, osbapi.ObserveRequests(m), osbapi.ServeMetrics(m.Handler(log), creds)))
	defer srv.Close()

	// The figures must be those of a scrape that reports the 500.
	s, err := metricstest.Get(srv.Client(), srv.URL+"/metrics", creds.Username, creds.Password)
	if err != nil {
		b.Fatal(err)
	}
	if got := s.Sum("docker_broker_instances", nil); got != instances {
		b.Fatalf("the scrape reports %v instances, want %d", got, instances)
	}
	if got := s.Sum("docker_broker_containers", nil); got != instances {
		b.Fatalf("the scrape reports %v containers, want %d", got, instances)
	}

	b.ResetTimer()
	for range b.N {
		var total, slowest time.Duration
		size := 0
		for range scrapes {
			start := time.Now()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
			req.SetBasicAuth(creds.Username, creds.Password)
			resp, err := srv.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("scrape: %d %v", resp.StatusCode, err)
			}
			took := time.Since(start)
			total += took
			slowest = max(slowest, took)
			size = len(body)
		}
		mean := total / scrapes
		b.Logf("metrics scrape at %d instances (%d bytes), mean of %d: %s, slowest %s (target < 50 ms)", instances, size, scrapes, mean.Round(10*time.Microsecond), slowest.Round(10*time.Microsecond))
		b.ReportMetric(float64(mean.Microseconds())/1000, "ms/scrape")
		b.ReportMetric(float64(slowest.Microseconds())/1000, "max-ms/scrape")
	}
}
