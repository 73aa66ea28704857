// Package brokertest runs a real broker — package broker behind the osbapi handler, on the test
// binary's dockerd (testenv) — served over HTTP as a platform sees it, for the collaboration
// tests of the broker and the end-to-end tests of the errands.
package brokertest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dashboard"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// The basic-auth credentials of every test broker, and of its dashboard.
const (
	Username          = "broker"
	Password          = "a-broker-password"
	DashboardUsername = "viewer"
	DashboardPassword = "a-dashboard-password"
)

// Broker is a running broker and what it runs on.
type Broker struct {
	URL    string
	Docker *testenv.Dockerd
	Config broker.Config
	Logs   *testenv.LogBuffer // everything the broker logged, across restarts
	Store  *store.Store       // the current broker's state file
	Broker *broker.Broker     // the current broker

	t       testing.TB
	state   string
	handler atomic.Pointer[http.Handler]
	server  *httptest.Server
}

// Start starts a broker with the catalog services (the JSON `services` array of the broker
// config) on the test binary's dockerd; configure, when given, adjusts its config. Published
// ports and credentials point at 127.0.0.1. Everything is stopped and its containers removed
// when t ends.
func Start(t testing.TB, services []byte, configure func(*broker.Config)) *Broker {
	t.Helper()
	d := testenv.Docker(t)
	cat, _, err := catalog.Parse(services)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b := &Broker{Docker: d, Logs: &testenv.LogBuffer{}, t: t, state: filepath.Join(dir, "state.db")}
	b.Config = broker.Config{
		Catalog:         cat,
		Name:            "test-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")),
		ExternalHost:    "127.0.0.1",
		BindIP:          "127.0.0.1",
		PortRange:       [2]int{21000, 29999},
		DataDir:         filepath.Join(dir, "instances"),
		SyncTimeout:     90 * time.Second,
		StopGrace:       10 * time.Second,
		TombstoneWindow: time.Hour,
	}
	if configure != nil {
		configure(&b.Config)
	}
	// One server for the test: a restarted broker answers at the same URL.
	b.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*b.handler.Load()).ServeHTTP(w, r)
	}))
	b.URL = b.server.URL
	b.start()
	t.Cleanup(func() {
		b.server.Close()
		b.stop()
		for _, c := range b.Containers(t) {
			_ = d.Engine.RemoveContainer(context.Background(), c.ID)
		}
	})
	return b
}

func (b *Broker) start() {
	b.t.Helper()
	st, err := store.Open(b.state)
	if err != nil {
		b.t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(b.Logs, nil))
	// Metrics are served as the docker-broker job serves them by default: at /metrics, behind
	// the broker's credentials; the dashboard behind credentials of its own, as the manifest
	// sets it up.
	m := metrics.New()
	cfg := b.Config
	cfg.Observer = m
	br, err := broker.New(cfg, b.Docker.Engine, st, log)
	if err != nil {
		b.t.Fatal(err)
	}
	m.CollectState(br)
	if err := br.Start(context.Background()); err != nil {
		b.t.Fatal(err)
	}
	creds := osbapi.Credentials{Username: Username, Password: Password}
	var handler http.Handler = osbapi.NewHandler(br, br, creds, log, osbapi.ObserveRequests(m), osbapi.ServeMetrics(m.Handler(log), creds),
		osbapi.ServeDashboard(dashboard.Handler(br, log), dashboard.Prefix, osbapi.Credentials{Username: DashboardUsername, Password: DashboardPassword}))
	b.Store, b.Broker = st, br
	b.handler.Store(&handler)
}

func (b *Broker) stop() {
	b.Broker.Shutdown()
	b.Store.Close()
}

// Restart stops the broker and starts a new one on the same state file and engine.
func (b *Broker) Restart() {
	b.t.Helper()
	b.stop()
	b.start()
}

// Containers lists the broker's containers by instance id.
func (b *Broker) Containers(t testing.TB) map[string]dockerengine.Container {
	t.Helper()
	list, err := b.Docker.Engine.ListContainers(context.Background(), map[string]string{broker.LabelBroker: b.Config.Name})
	if err != nil {
		t.Fatal(err)
	}
	byInstance := map[string]dockerengine.Container{}
	for _, c := range list {
		byInstance[c.Labels[broker.LabelInstanceID]] = c
	}
	return byInstance
}

// LoadStandins loads into the test binary's dockerd the stand-in images of the plans of the
// catalog services (the JSON `services` array), and only those: all of them weigh gigabytes.
func LoadStandins(t testing.TB, services []byte) {
	t.Helper()
	cat, _, err := catalog.Parse(services)
	if err != nil {
		t.Fatal(err)
	}
	var recipes []standin.Recipe
	for _, s := range cat.Services {
		for _, p := range s.Plans {
			if r, ok := standin.For(p.Container.ImageRef()); ok {
				recipes = append(recipes, r)
			}
		}
	}
	testenv.Docker(t).Standins(t, recipes...)
}

// Services is the broker's `services` property (JSON) made of services ops files (paths from
// the repository root, "services/op-postgresql17.yml"), as boshrelease.ServicesOf makes it.
func Services(t testing.TB, opsFiles ...string) []byte {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range opsFiles {
		paths = append(paths, filepath.Join(root, f))
	}
	services, err := boshrelease.ServicesOf(paths)
	if err != nil {
		t.Fatal(err)
	}
	return services
}
