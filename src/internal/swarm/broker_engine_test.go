package swarm

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/nodedisk"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// swarmPrefix names the test swarms' bridges and namespaces.
const swarmPrefix = "hasw"

// testBroker is a broker served over HTTP, and a platform's client of it. Restarted, a new
// broker takes over its state file and address.
type testBroker struct {
	url     string
	catalog *catalog.Catalog
	client  *osbclient.Client

	tb      testing.TB
	cfg     broker.Config
	engine  broker.Engine
	state   string
	logs    *testenv.LogBuffer
	handler atomic.Pointer[http.Handler]
	broker  *broker.Broker
	store   *store.Store
}

// redis74 is the catalog of services/op-redis74.yml, with its stand-in image loaded into the
// engine of node.
func redis74(tb testing.TB, node *testenv.SwarmNode) *catalog.Catalog {
	tb.Helper()
	cat, _, err := catalog.Parse(brokertest.Services(tb, "services/op-redis74.yml"))
	if err != nil {
		tb.Fatal(err)
	}
	r, ok := standin.For(cat.Services[0].Plans[0].Container.ImageRef())
	if !ok {
		tb.Fatal("no stand-in for redis74")
	}
	node.Standin(tb, r)
	return cat
}

// swarmEngine is the Engine of the one-node swarm of node.
func swarmEngine(tb testing.TB, node *testenv.SwarmNode) *Engine {
	tb.Helper()
	engine, err := New(Config{
		Manager:   node.Engine,
		StopGrace: 10 * time.Second,
		Nodes:     map[string]Node{node.NodeID: {Engine: node.Engine, Address: node.Address}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return engine
}

// nodeDisk keeps instances' directories in root on node's disk, with the plan's image of cat
// (on the node since its instances run it) for helper.
func nodeDisk(tb testing.TB, node *testenv.SwarmNode, root string, cat *catalog.Catalog) *nodedisk.Disk {
	tb.Helper()
	cfg := nodedisk.OnEngine(node.Engine, root, "", cat.Services[0].Plans[0].Container.ImageRef())
	cfg.KeepHelpers = true
	disk, err := nodedisk.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := disk.Close(); err != nil {
			tb.Errorf("closing the node disk: %v", err)
		}
	})
	return disk
}

// startBroker starts a broker named name with catalog cat on engine, allocating host ports
// from ports, with instances' directories on disk (nil: its own DataDir). Credentials carry
// node's address.
func startBroker(tb testing.TB, engine broker.Engine, node *testenv.SwarmNode, disk broker.Disk, cat *catalog.Catalog, name string, ports [2]int) *testBroker {
	tb.Helper()
	dir := tb.TempDir()
	b := &testBroker{catalog: cat, tb: tb, engine: engine, state: filepath.Join(dir, "state.db"), logs: &testenv.LogBuffer{}}
	b.cfg = broker.Config{
		Catalog:      cat,
		Name:         name,
		ExternalHost: node.Address,
		// The broker probes a host port for other listeners on its own host at BindIP
		// before it allocates it; a swarm service publishes on all the node's addresses.
		BindIP:          "127.0.0.1",
		PortRange:       ports,
		DataDir:         filepath.Join(dir, "instances"),
		SyncTimeout:     90 * time.Second,
		StopGrace:       10 * time.Second,
		TombstoneWindow: time.Hour,
		Disk:            disk,
	}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*b.handler.Load()).ServeHTTP(w, r)
	}))
	b.url = server.URL
	b.client = osbclient.New(osbclient.Config{URL: server.URL, Username: brokertest.Username, Password: brokertest.Password, PollInterval: 200 * time.Millisecond})
	b.start()
	tb.Cleanup(func() {
		server.Close()
		b.stop()
		if tb.Failed() {
			tb.Logf("the log of broker %s:\n%s", name, b.logs)
		}
	})
	return b
}

func (b *testBroker) start() {
	b.tb.Helper()
	st, err := store.Open(b.state)
	if err != nil {
		b.tb.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(b.logs, nil))
	br, err := broker.New(b.cfg, b.engine, st, log)
	if err != nil {
		b.tb.Fatal(err)
	}
	if err := br.Start(context.Background()); err != nil {
		b.tb.Fatal(err)
	}
	var handler http.Handler = osbapi.NewHandler(br, br, osbapi.Credentials{Username: brokertest.Username, Password: brokertest.Password}, log)
	b.broker, b.store = br, st
	b.handler.Store(&handler)
}

func (b *testBroker) stop() {
	b.broker.Shutdown()
	b.store.Close()
}

// restart stops the broker and starts a new one on its state file, which reconciles its
// records with the engine.
func (b *testBroker) restart() {
	b.tb.Helper()
	b.stop()
	b.start()
}

// redisCredentials are the credentials of a redis74 binding.
type redisCredentials struct {
	Host     string `json:"host"`
	Port     string `json:"port"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func TestABrokerOnASwarmProvisionsBindsAndDeprovisionsRedisOnItsNode(t *testing.T) {
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Nodes: 1, Prefix: swarmPrefix})
	node := s.Nodes[0]
	engine := swarmEngine(t, node)
	cat := redis74(t, node)
	root := filepath.Join(s.DiskRoot, "instances")
	b := startBroker(t, engine, node, nodeDisk(t, node, root, cat), cat, "swe-test", [2]int{27000, 27199})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	service := b.catalog.Services[0]
	plan := service.Plans[0]

	api, err := node.Engine.APIVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if refused, err := Refusals(plan.Container, api); err != nil || len(refused) > 0 {
		t.Fatalf("plan %s on API %s: refusals %v, %v; want none", plan.Name, api, refused, err)
	}

	const instanceID, bindingID = "swe-instance-1", "swe-binding-1"
	name := "cf-" + instanceID
	if err := b.client.Provision(ctx, osbapi.ProvisionRequest{InstanceID: instanceID, ServiceID: service.ID, PlanID: plan.ID, OrganizationGUID: "org", SpaceGUID: "space"}); err != nil {
		t.Fatalf("provision: %v", err)
	}
	svc, err := node.Engine.InspectService(ctx, name)
	if err != nil {
		t.Fatalf("the instance is no swarm service: %v", err)
	}
	// The node's disk is where the node sees root: its DiskDir, not the host's root.
	onNode := filepath.Join(node.DiskDir, "instances", name)
	if _, err := os.Stat(onNode); err != nil {
		t.Errorf("the instance's directory is not on its node's disk: %v", err)
	}
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s on the broker's machine: %v; want no such directory, the instance's is on its node", root, err)
	}
	if svc.NodeID != node.NodeID || svc.Replicas != 1 || svc.MemoryReservation != plan.Container.Memory {
		t.Errorf("service %+v: want pinned to %s, one replica, %d bytes reserved", svc, node.NodeID, plan.Container.Memory)
	}
	c, err := engine.InspectContainer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Running || len(c.Ports) != 1 || c.Ports[0].HostIP != node.Address {
		t.Fatalf("instance container %+v: want running, its port at %s", c, node.Address)
	}

	raw, err := b.client.Bind(ctx, osbapi.BindRequest{InstanceID: instanceID, BindingID: bindingID, ServiceID: service.ID, PlanID: plan.ID})
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	var creds redisCredentials
	if err := json.Unmarshal(raw, &creds); err != nil {
		t.Fatal(err)
	}
	if creds.Host != node.Address || creds.Port != c.Ports[0].HostPort || creds.Username == "" {
		t.Fatalf("credentials %+v: want the node's address %s, port %s and a user of the binding's own", creds, node.Address, c.Ports[0].HostPort)
	}
	addr := net.JoinHostPort(creds.Host, creds.Port)
	user := redis.NewClient(&redis.Options{Addr: addr, Username: creds.Username, Password: creds.Password})
	defer user.Close()
	if err := user.Set(ctx, "greeting", "hello", 0).Err(); err != nil {
		t.Fatalf("writing as the binding's user, made by a command run in the task's container: %v", err)
	}

	// Stopped and started again (scaled to zero and back), the instance keeps its data on
	// its node.
	if err := engine.StopContainer(ctx, name, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if c, err := engine.InspectContainer(ctx, name); err != nil || c.Running || c.State != "exited" {
		t.Fatalf("after stop: %+v, %v; want exited", c, err)
	}
	if err := engine.StartContainer(ctx, name); err != nil {
		t.Fatal(err)
	}
	waitRunning(ctx, t, engine, name)
	brokertest.WaitAccepting(addr, 500*time.Millisecond)
	if got, err := user.Get(ctx, "greeting").Result(); err != nil || got != "hello" {
		t.Errorf("after a restart of the service: %q, %v; want hello", got, err)
	}

	// A broker restarted reconciles with the swarm: it adopts the running service as it is.
	before, err := engine.InspectContainer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	b.restart()
	after, err := engine.InspectContainer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if after.ID != before.ID || after.Pid != before.Pid || !after.Running {
		t.Errorf("after a broker restart: %+v, want the service %s running on, pid %d", after, before.ID, before.Pid)
	}
	if got, err := user.Get(ctx, "greeting").Result(); err != nil || got != "hello" {
		t.Errorf("after a broker restart: %q, %v; want hello", got, err)
	}

	if err := b.client.Unbind(ctx, instanceID, bindingID, service.ID, plan.ID); err != nil {
		t.Fatalf("unbind: %v", err)
	}
	stale := redis.NewClient(&redis.Options{Addr: addr, Username: creds.Username, Password: creds.Password})
	defer stale.Close()
	if err := stale.Ping(ctx).Err(); err == nil {
		t.Error("the binding's user still authenticates after the unbind")
	}

	if err := b.client.Deprovision(ctx, instanceID, service.ID, plan.ID); err != nil {
		t.Fatalf("deprovision: %v", err)
	}
	if _, err := node.Engine.InspectService(ctx, name); !dockerengine.IsNotFound(err) {
		t.Errorf("the service after deprovision: %v, want not found", err)
	}
	if left, err := node.Engine.ListContainers(ctx, map[string]string{serviceIDLabel: svc.ID}); err != nil || len(left) != 0 {
		t.Errorf("containers of the service on its node after deprovision: %+v, %v; want none", left, err)
	}
	if _, err := os.Stat(onNode); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the instance's directory on its node after deprovision: %v; want removed", err)
	}
}

// waitRunning waits until the container name runs.
func waitRunning(ctx context.Context, t *testing.T, e *Engine, name string) {
	t.Helper()
	for {
		c, err := e.InspectContainer(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if c.Running {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not run again: %s", name, c.State)
		case <-time.After(pollInterval):
		}
	}
}
