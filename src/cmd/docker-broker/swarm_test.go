package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// The offerings of the swarm tests: the seed's redis32 with a small memory limit (so that its
// reservations spread the instances by capacity) and services/op-postgresql17.yml, whose
// bindings get users of their own.
const (
	postgresService = "d1940d46-1e21-4130-a0c9-e807b4445969"
	postgresSmall   = "0f73fdde-cfb4-4993-ba5b-f6f2af1be66c"
	postgresMedium  = "aff83a20-1a7e-484e-8846-c7de7f77ce1f"
	redisMemory     = "64m"
)

// swarmPorts are the host ports of the instances on the test swarm's nodes.
const swarmPorts = "27700-27899"

// swarmDataDir is the broker's data_dir on the swarm, under the nodes' DiskRoot.
const swarmDataDir = "instances"

// swarmServices is the catalog of the swarm tests.
func swarmServices(t testing.TB) []byte {
	t.Helper()
	var seed, postgres []map[string]any
	if err := json.Unmarshal(seedServices(t), &seed); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(brokertest.Services(t, "services/op-postgresql17.yml"), &postgres); err != nil {
		t.Fatal(err)
	}
	for _, plan := range seed[0]["plans"].([]any) {
		plan.(map[string]any)["container"].(map[string]any)["memory"] = redisMemory
	}
	postgres[0]["plan_updateable"] = true // for an update of an instance on a lost node
	services, err := json.Marshal(append(seed, postgres...))
	if err != nil {
		t.Fatal(err)
	}
	return services
}

// startSwarmBroker loads the stand-ins of the swarm tests' catalog onto every node of s and runs
// the docker-broker binary on s as the scale-out ops file configures it: on the bootstrap
// node's engine (a manager), every node's Engine API in swarm.nodes, at most maxPerNode
// instances a node.
func startSwarmBroker(t testing.TB, s *testenv.Swarm, maxPerNode int) *brokerProcess {
	t.Helper()
	for _, n := range s.Nodes {
		n.Standins(t, standin.Redis, standin.PostgreSQL)
	}
	var nodes []string
	for _, n := range s.Nodes {
		nodes = append(nodes, n.APIAddress())
	}
	return runBrokerProcess(t, s.Nodes[0].Socket, swarmPorts, swarmServices(t), nil, func(cfg map[string]any) {
		cfg["external_host"] = s.Nodes[0].Address
		// Every docker VM has its persistent disk at the same path; the broker's VM too.
		cfg["data_dir"] = filepath.Join(s.DiskRoot, swarmDataDir)
		cfg["swarm"] = map[string]any{
			"enabled": true,
			"nodes":   nodes,
			"tls": map[string]any{
				"ca_cert": s.Client.CACert, "cert": s.Client.Cert, "key": s.Client.Key, "server_name": s.Client.ServerName,
			},
			"max_containers_per_node": maxPerNode,
			"disk_helper_image":       standin.Redis.Tags[0],
		}
	})
}

// TestTheBrokerOnASwarm runs the docker-broker binary on a swarm of three docker VMs (one
// manager) and goes through the life of its instances there: spread by capacity, reached at
// their node's address, bound with users of their own on a remote node, through the loss of
// a node and its return, deprovisioned, and across a broker killed while it provisions.
func TestTheBrokerOnASwarm(t *testing.T) {
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Nodes: 3, Managers: 1, Prefix: "st3"})
	const maxPerNode = 12
	p := startSwarmBroker(t, s, maxPerNode)
	defer func() {
		if t.Failed() {
			p.stop(syscall.SIGTERM) // its log is complete, and no longer written, once it has exited
			t.Logf("the broker's log:\n%s", p.log)
		}
	}()
	f := &swarmFleet{t: t, s: s, p: p, nodeOf: map[string]*testenv.SwarmNode{}}

	t.Run("30 instances spread by capacity, reached at their node", func(t *testing.T) {
		var ids []string
		for i := range 30 {
			ids = append(ids, fmt.Sprintf("st-redis-%d", i))
		}
		f.p.provisionAll(t, redisService, redisFree, ids)
		perNode := map[int]int{}
		for _, id := range ids {
			perNode[f.node(t, id).Index]++
		}
		for _, n := range s.Nodes {
			if got := perNode[n.Index]; got == 0 || got > maxPerNode {
				t.Errorf("node %d holds %d instances, want 1 to %d (max_containers_per_node): %v", n.Index, got, maxPerNode, perNode)
			}
		}
		t.Logf("instances by node: %v", perNode)
		for _, id := range ids {
			client := f.redis(t, id, "b1")
			if err := client.Set(t.Context(), "owner", id, 0).Err(); err != nil {
				t.Errorf("%s on node %d: writing with the binding's credentials: %v", id, f.nodeOf[id].Index, err)
			}
			if got, err := client.Get(t.Context(), "owner").Result(); err != nil || got != id {
				t.Errorf("%s on node %d: read %q, %v; want %q", id, f.nodeOf[id].Index, got, err, id)
			}
		}
	})

	var pgID string
	t.Run("per-binding users on a remote node", func(t *testing.T) {
		// A placement goes where most memory is free: a second instance of the plan goes to
		// another node than the first, so one of two is on a node the broker does not run on.
		for i := range 2 {
			id := fmt.Sprintf("st-pg-%d", i)
			f.p.provisionAll(t, postgresService, postgresSmall, []string{id})
			if f.node(t, id).Index != 0 {
				pgID = id
				break
			}
		}
		if pgID == "" {
			t.Fatal("no PostgreSQL instance went to a node other than the broker's")
		}
		ctx := t.Context()
		first, second := f.postgres(t, pgID, "b1"), f.postgres(t, pgID, "b2")
		if _, err := first.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before the node was lost')"); err != nil {
			t.Fatalf("the first binding's user on node %d: %v", f.nodeOf[pgID].Index, err)
		}
		var v string
		if err := second.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil {
			t.Fatalf("the second binding's user reading the first's table: %v", err)
		}
		first.Close(ctx)
		f.unbind(t, pgID, "b1", postgresService, postgresSmall)
		if c, err := pgx.Connect(ctx, f.credentials[pgID+"/b1"]["uri"].(string)); err == nil {
			c.Close(ctx)
			t.Error("the first binding's user still logs in after its unbind")
		}
		if err := second.Ping(ctx); err != nil {
			t.Errorf("the second binding's user after the first's unbind: %v", err)
		}
	})
	if pgID == "" {
		t.FailNow()
	}

	lost := f.nodeOf[pgID]
	t.Run("a node lost: its instances reported so, the others serve; back with their data", func(t *testing.T) {
		var onLost, elsewhere []string
		for id, n := range f.nodeOf {
			if strings.HasPrefix(id, "st-redis-") {
				if n == lost {
					onLost = append(onLost, id)
				} else {
					elsewhere = append(elsewhere, id)
				}
			}
		}
		crash := crashNode(t, lost)
		f.waitNodeState(t, lost, "down")

		for _, id := range elsewhere {
			if got, err := f.redis(t, id, "b1").Get(t.Context(), "owner").Result(); err != nil || got != id {
				t.Errorf("%s on node %d, up, while node %d is down: %q, %v", id, f.nodeOf[id].Index, lost.Index, got, err)
			}
		}
		for _, series := range []string{"docker_broker_instances", "docker_broker_containers"} {
			if got := f.countInState(t, series, "node down"); got != len(onLost)+1 {
				t.Errorf("/metrics: %s in state \"node down\" %d, want the %d of node %d", series, got, len(onLost)+1, lost.Index)
			}
		}
		// A new operation on an instance of the lost node fails and says why.
		status, body := p.request("PUT", "/v2/service_instances/"+pgID+"/service_bindings/b3", map[string]any{"service_id": postgresService, "plan_id": postgresSmall})
		if status == http.StatusCreated || !strings.Contains(string(body), "the docker VM that holds the instance is down") {
			t.Errorf("bind on the lost node: %d %s; want a failure saying its node is down", status, body)
		}
		// Its GET says so, and an update fails saying why, changing nothing.
		if status, body := p.request("GET", "/v2/service_instances/"+pgID, nil); status != http.StatusOK || !strings.Contains(string(body), `"state":"node down"`) {
			t.Errorf("GET of an instance on the lost node: %d %s; want its metadata's state \"node down\"", status, body)
		}
		if status, body := p.request("PATCH", "/v2/service_instances/"+pgID+"?accepts_incomplete=true", map[string]any{"service_id": postgresService, "plan_id": postgresMedium}); status != http.StatusAccepted {
			t.Errorf("update on the lost node: %d %s", status, body)
		} else if op := p.waitOperation(t, "/v2/service_instances/"+pgID+"/last_operation"); op.State != "failed" || !strings.Contains(op.Description, "the docker VM that holds the instance is down") {
			t.Errorf("update on the lost node: %+v; want failed saying its node is down", op)
		}
		// The broker restarted while the node is lost reports its instances there.
		p.stop(syscall.SIGTERM)
		p.start()
		report := f.reconciliation(t)
		for _, id := range append([]string{pgID}, onLost...) {
			if !strings.Contains(strings.Join(report.Problems, "\n"), id) || slices.Contains(report.StartedContainers, id) {
				t.Errorf("the reconciliation of a broker started while node %d is down does not report %s as a problem (or counts it started): %+v", lost.Index, id, report)
			}
		}

		crash.resume(t)
		f.waitNodeState(t, lost, "ready")
		for _, id := range onLost {
			client := f.redis(t, id, "b1")
			got, err := eventually(t, func() (string, error) { return client.Get(t.Context(), "owner").Result() })
			if err != nil || got != id {
				t.Fatalf("%s after node %d returned: %q, %v; want its data back; its tasks:\n%s", id, lost.Index, got, err, f.tasks(t, id))
			}
		}
		second := f.postgres(t, pgID, "b2")
		if v, err := eventually(t, func() (v string, err error) { return v, second.QueryRow(t.Context(), "SELECT v FROM kept").Scan(&v) }); err != nil || v != "before the node was lost" {
			t.Errorf("PostgreSQL after node %d returned: %q, %v", lost.Index, v, err)
		}
	})

	t.Run("deprovision removes the service and the instance's directory on its node", func(t *testing.T) {
		var id string
		for candidate, n := range f.nodeOf {
			if n.Index != 0 && strings.HasPrefix(candidate, "st-redis-") {
				id = candidate
				break
			}
		}
		dir := f.directory(id)
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("%s has no directory on its node before the deprovision: %v", id, err)
		}
		f.deprovision(t, id, redisService, redisFree)
		if _, err := s.Nodes[0].Engine.InspectService(t.Context(), "cf-"+id); !dockerengine.IsNotFound(err) {
			t.Errorf("the service of %s after its deprovision: %v, want none", id, err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the directory of %s on node %d after its deprovision: %v, want none", id, f.nodeOf[id].Index, err)
		}
		for _, n := range s.Nodes {
			if _, err := os.Stat(filepath.Join(n.DiskDir, swarmDataDir, "cf-"+id)); n != f.nodeOf[id] && !os.IsNotExist(err) {
				t.Errorf("%s, of node %d, had a directory on node %d: %v", id, f.nodeOf[id].Index, n.Index, err)
			}
		}
	})

	t.Run("a broker killed while it provisions converges", func(t *testing.T) {
		const id = "st-killed"
		status, body := p.request("PUT", "/v2/service_instances/"+id+"?accepts_incomplete=true", provisionBody(redisService, redisFree))
		if status != http.StatusAccepted {
			t.Fatalf("provision: %d %s", status, body)
		}
		if _, err := eventually(t, func() (dockerengine.Service, error) { return s.Nodes[0].Engine.InspectService(t.Context(), "cf-"+id) }); err != nil {
			t.Fatalf("the instance's service never appeared: %v", err)
		}
		p.stop(syscall.SIGKILL)
		p.start()
		f.node(t, id)
		op := f.p.waitOperation(t, "/v2/service_instances/"+id+"/last_operation")
		services, err := s.Nodes[0].Engine.ListServices(t.Context(), map[string]string{"docker-broker.instance_id": id})
		if err != nil {
			t.Fatal(err)
		}
		switch op.State {
		case "succeeded":
			if len(services) != 1 {
				t.Fatalf("succeeded with %d services of the instance, want 1", len(services))
			}
			client := f.redis(t, id, "b1")
			if err := client.Set(t.Context(), "owner", id, 0).Err(); err != nil {
				t.Errorf("the instance provisioned across the kill: %v", err)
			}
		case "failed":
			if len(services) != 0 {
				t.Errorf("failed (%s) with %d services of the instance left", op.Description, len(services))
			}
		default:
			t.Fatalf("last_operation %+v", op)
		}
		if report := f.reconciliation(t); len(report.ContainersWithoutRecord) > 0 {
			t.Errorf("services without a record after the restart: %v", report.ContainersWithoutRecord)
		}
		t.Logf("provision across a broker kill: %s %s", op.State, op.Description)
	})
}

// swarmFleet is the instances of a broker on a test swarm, with the node each is on.
type swarmFleet struct {
	t           testing.TB
	s           *testenv.Swarm
	p           *brokerProcess
	mu          sync.Mutex
	nodeOf      map[string]*testenv.SwarmNode // by instance id
	credentials map[string]map[string]any     // by instance id/binding id
}

func provisionBody(service, plan string) map[string]any {
	return map[string]any{"service_id": service, "plan_id": plan, "organization_guid": "o", "space_guid": "s"}
}

// provisionAll provisions the instances ids of plan at once (asynchronously) and waits until
// every provision succeeded.
func (p *brokerProcess) provisionAll(t testing.TB, service, plan string, ids []string) {
	t.Helper()
	for _, id := range ids {
		if status, body := p.request("PUT", "/v2/service_instances/"+id+"?accepts_incomplete=true", provisionBody(service, plan)); status != http.StatusAccepted {
			t.Fatalf("provision %s: %d %s", id, status, body)
		}
	}
	for _, id := range ids {
		if op := p.waitOperation(t, "/v2/service_instances/"+id+"/last_operation"); op.State != "succeeded" {
			t.Fatalf("provision %s: %+v", id, op)
		}
	}
}

// lastOperation is the body of a last_operation answer.
type lastOperation struct{ State, Description string }

// waitOperation polls the last_operation path until the operation is over.
func (p *brokerProcess) waitOperation(t testing.TB, path string) lastOperation {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		var op lastOperation
		status, body := p.request("GET", path, nil)
		if status != http.StatusOK || json.Unmarshal(body, &op) != nil {
			t.Fatalf("GET %s: %d %s", path, status, body)
		}
		if op.State != "in progress" {
			return op
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: still in progress", path)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// node is the node holding the instance id, by its service's placement constraint.
func (f *swarmFleet) node(t testing.TB, id string) *testenv.SwarmNode {
	t.Helper()
	svc, err := f.s.Nodes[0].Engine.InspectService(t.Context(), "cf-"+id)
	if err != nil {
		t.Fatalf("the service of %s: %v", id, err)
	}
	for _, n := range f.s.Nodes {
		if n.NodeID == svc.NodeID {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.nodeOf[id] = n
			return n
		}
	}
	t.Fatalf("the service of %s is pinned to %q, no node of the swarm", id, svc.NodeID)
	return nil
}

// bind binds the instance id and returns the credentials, which must carry its node's address.
func (f *swarmFleet) bind(t testing.TB, id, binding, service, plan string) map[string]any {
	t.Helper()
	key := id + "/" + binding
	f.mu.Lock()
	creds, ok := f.credentials[key]
	f.mu.Unlock()
	if ok {
		return creds
	}
	status, body := f.p.request("PUT", "/v2/service_instances/"+id+"/service_bindings/"+binding, map[string]any{"service_id": service, "plan_id": plan})
	var bound struct{ Credentials map[string]any }
	if status != http.StatusCreated || json.Unmarshal(body, &bound) != nil {
		t.Fatalf("bind %s: %d %s", key, status, body)
	}
	if host := bound.Credentials["hostname"]; host != f.nodeOf[id].Address {
		t.Errorf("binding %s: hostname %v, want the address %s of node %d, which holds the instance", key, host, f.nodeOf[id].Address, f.nodeOf[id].Index)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.credentials == nil {
		f.credentials = map[string]map[string]any{}
	}
	f.credentials[key] = bound.Credentials
	return bound.Credentials
}

func (f *swarmFleet) unbind(t testing.TB, id, binding, service, plan string) {
	t.Helper()
	path := fmt.Sprintf("/v2/service_instances/%s/service_bindings/%s?service_id=%s&plan_id=%s", id, binding, service, plan)
	if status, body := f.p.request("DELETE", path, nil); status != http.StatusOK {
		t.Fatalf("unbind %s/%s: %d %s", id, binding, status, body)
	}
}

// deprovision deprovisions the instance id asynchronously and waits until it is gone.
func (f *swarmFleet) deprovision(t testing.TB, id, service, plan string) {
	t.Helper()
	path := fmt.Sprintf("/v2/service_instances/%s?accepts_incomplete=true&service_id=%s&plan_id=%s", id, service, plan)
	status, body := f.p.request("DELETE", path, nil)
	if status == http.StatusAccepted {
		op := f.p.waitOperation(t, "/v2/service_instances/"+id+"/last_operation")
		if op.State != "succeeded" {
			t.Fatalf("deprovision %s: %+v", id, op)
		}
	} else if status != http.StatusOK {
		t.Fatalf("deprovision %s: %d %s", id, status, body)
	}
}

// redis is a go-redis client of the redis32 instance id with the credentials of binding.
func (f *swarmFleet) redis(t testing.TB, id, binding string) *redis.Client {
	t.Helper()
	creds := f.bind(t, id, binding, redisService, redisFree)
	host, _ := creds["hostname"].(string)
	port, _ := creds["port"].(string)
	password, _ := creds["password"].(string)
	client := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(host, port), Password: password, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	return client
}

// postgres is a pgx connection to the postgresql17 instance id as the user of binding.
func (f *swarmFleet) postgres(t testing.TB, id, binding string) *pgx.Conn {
	t.Helper()
	creds := f.bind(t, id, binding, postgresService, postgresSmall)
	uri, _ := creds["uri"].(string)
	conn, err := eventually(t, func() (*pgx.Conn, error) { return pgx.Connect(t.Context(), uri) })
	if err != nil {
		t.Fatalf("connecting as the user of %s/%s: %v", id, binding, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// directory is the instance id's directory on the disk of its node, as the host sees it.
func (f *swarmFleet) directory(id string) string {
	return filepath.Join(f.nodeOf[id].DiskDir, swarmDataDir, "cf-"+id)
}

// waitNodeState waits until the manager reports node n in state ("down", "ready").
func (f *swarmFleet) waitNodeState(t testing.TB, n *testenv.SwarmNode, state string) {
	t.Helper()
	_, err := eventually(t, func() (string, error) {
		got, err := f.s.Nodes[0].Engine.InspectNode(t.Context(), n.NodeID)
		if err == nil && got.State != state {
			err = fmt.Errorf("node %d is %s", n.Index, got.State)
		}
		return got.State, err
	})
	if err != nil {
		t.Fatalf("waiting for node %d to be %s: %v", n.Index, state, err)
	}
}

// countInState is the sum of the series of the gauge name /metrics reports in state.
func (f *swarmFleet) countInState(t testing.TB, name, state string) int {
	t.Helper()
	status, body := f.p.request("GET", "/metrics", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", status, body)
	}
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, `state="`+state+`"`) {
			v, _ := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
			n += int(v)
		}
	}
	return n
}

// tasks describes the tasks of the instance id's service, for a failure's message.
func (f *swarmFleet) tasks(t testing.TB, id string) string {
	svc, err := f.s.Nodes[0].Engine.InspectService(context.Background(), "cf-"+id)
	if err != nil {
		return err.Error()
	}
	tasks, err := f.s.Nodes[0].Engine.ListTasks(context.Background(), svc.ID)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, task := range tasks {
		fmt.Fprintf(&b, "%s on %s since %s: %s (desired %s) %s %s, container %s\n", task.ID, task.NodeID, task.CreatedAt.Format(time.TimeOnly), task.State, task.DesiredState, task.Message, task.Err, task.ContainerID)
	}
	return b.String()
}

// reconciliation is the part of GET /admin/reconciliation the swarm tests read.
type reconciliation struct {
	ContainersWithoutRecord []string `json:"containers_without_record"`
	StartedContainers       []string `json:"started_containers"`
	Problems                []string `json:"problems"`
}

func (f *swarmFleet) reconciliation(t testing.TB) reconciliation {
	t.Helper()
	var report reconciliation
	status, body := f.p.request("GET", "/admin/reconciliation", nil)
	if status != http.StatusOK || json.Unmarshal(body, &report) != nil {
		t.Fatalf("GET /admin/reconciliation: %d %s", status, body)
	}
	return report
}

// eventually calls try until it succeeds, for up to two minutes, and returns its last result.
func eventually[T any](t testing.TB, try func() (T, error)) (T, error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		v, err := try()
		if err == nil || time.Now().After(deadline) {
			return v, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// crashedNode is a swarm node whose processes were killed, as a VM that lost power, but for
// its docker-supervisor, held stopped until resume: then it starts dockerd again as monit's
// restart of the job would, on the node's data root.
type crashedNode struct {
	node *testenv.SwarmNode
}

// crashNode kills with SIGKILL every process of node n (dockerd, containerd, the shims and the
// containers) but its docker-supervisor, which it stops first.
func crashNode(t testing.TB, n *testenv.SwarmNode) *crashedNode {
	t.Helper()
	dockerd, err := n.DockerdPid()
	if err != nil {
		t.Fatal(err)
	}
	supervisor := parentOf(dockerd)
	if err := n.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	c := &crashedNode{node: n}
	t.Cleanup(func() { _ = n.Signal(syscall.SIGCONT) })
	out, err := exec.Command("ip", "netns", "pids", n.Netns).Output()
	if err != nil {
		t.Fatalf("ip netns pids %s: %v", n.Netns, err)
	}
	var roots []int
	for _, field := range strings.Fields(string(out)) {
		if pid, _ := strconv.Atoi(field); pid != 0 && pid != supervisor {
			roots = append(roots, pid)
		}
	}
	// The containers' processes are in namespaces of their own, below their shims.
	for _, pid := range withDescendants(roots) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return c
}

// resume lets the node's docker-supervisor go on: it finds dockerd dead and starts it again.
func (c *crashedNode) resume(t testing.TB) {
	t.Helper()
	if err := c.node.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

// parentOf is the parent's pid of pid, 0 when it is gone.
func parentOf(pid int) int {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// withDescendants is pids with every process below them.
func withDescendants(pids []int) []int {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			parent := parentOf(pid)
			children[parent] = append(children[parent], pid)
		}
	}
	all := append([]int(nil), pids...)
	for i := 0; i < len(all); i++ {
		all = append(all, children[all[i]]...)
	}
	return all
}
