package swarmjoin_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/swarmjoin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// servicePort is the host-mode port of the test service, in this test's host-port range.
const servicePort = 27001

// entries lists the swarm's nodes as "address role state", sorted, as a manager sees them.
func entries(t *testing.T, manager *dockerengine.Client) []string {
	t.Helper()
	nodes, err := manager.ListNodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nodes {
		role := "worker"
		if n.Manager {
			role = "manager"
		}
		out = append(out, n.Addr+" "+role+" "+n.State)
	}
	slices.Sort(out)
	return out
}

func wantEntries(s *testenv.Swarm, managers int) []string {
	var want []string
	for _, n := range s.Nodes {
		role := "worker"
		if n.Index < managers {
			role = "manager"
		}
		want = append(want, n.Address+" "+role+" ready")
	}
	slices.Sort(want)
	return want
}

func TestThreeVMsFormASwarmWithOneManager(t *testing.T) {
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Nodes: 3, Managers: 1, Prefix: "hatop1"})
	if got, want := entries(t, s.Nodes[0].Engine), wantEntries(s, 1); !slices.Equal(got, want) {
		t.Fatalf("swarm entries %v, want %v", got, want)
	}

	t.Run("a one-replica service pinned to node 2 is reached at node 2's address", func(t *testing.T) {
		image := ""
		for _, n := range s.Nodes {
			image = n.Standin(t, standin.Redis)
		}
		createPinnedService(t, s.Nodes[0].Engine, "topo-redis", image, s.Nodes[2].NodeID, servicePort)
		address := net.JoinHostPort(s.Nodes[2].Address, fmt.Sprint(servicePort))
		if reply := redisPing(t, address); reply != "+PONG" {
			t.Errorf("redis at %s answered %q to PING", address, reply)
		}
		for _, n := range s.Nodes[:2] {
			if containers, _ := n.Engine.ListContainers(context.Background(), map[string]string{"com.docker.swarm.service.name": "topo-redis"}); len(containers) > 0 {
				t.Errorf("node %d runs a task of the service pinned to node 2", n.Index)
			}
		}
	})

	t.Run("converging again on every node changes nothing", func(t *testing.T) {
		for _, n := range s.Nodes {
			joiner := swarmjoin.New(n.Config.Swarm, n.Engine, swarmjoin.ConnectTLS(n.Config.Swarm), slog.New(slog.NewTextHandler(testWriter{t}, nil)))
			if err := joiner.Converge(context.Background()); err != nil {
				t.Errorf("node %d: %v", n.Index, err)
			}
		}
		for _, n := range s.Nodes {
			state, err := n.Engine.LocalSwarm(context.Background())
			if err != nil || state.NodeID != n.NodeID {
				t.Errorf("node %d: node id %q (%v), want %s", n.Index, state.NodeID, err, n.NodeID)
			}
		}
		if got, want := entries(t, s.Nodes[0].Engine), wantEntries(s, 1); !slices.Equal(got, want) {
			t.Errorf("swarm entries %v, want %v", got, want)
		}
	})

	t.Run("a recreated VM rejoins and its old entry is removed", func(t *testing.T) {
		old := s.Nodes[2].NodeID
		s.Recreate(t, 2)
		if s.Nodes[2].NodeID == old {
			t.Fatalf("node 2 kept its node id %s: its data root was not wiped", old)
		}
		if got, want := entries(t, s.Nodes[0].Engine), wantEntries(s, 1); !slices.Equal(got, want) {
			t.Errorf("swarm entries %v, want %v", got, want)
		}
	})
}

func TestThreeManagersFormASwarm(t *testing.T) {
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Nodes: 3, Managers: 3, Prefix: "hatop3"})
	if got, want := entries(t, s.Nodes[1].Engine), wantEntries(s, 3); !slices.Equal(got, want) {
		t.Fatalf("swarm entries %v, want %v", got, want)
	}
	// The bootstrap VM recreated must join the swarm the other managers keep, not make another.
	s.Recreate(t, 0)
	if got, want := entries(t, s.Nodes[1].Engine), wantEntries(s, 3); !slices.Equal(got, want) {
		t.Errorf("after recreating the bootstrap VM: swarm entries %v, want %v", got, want)
	}
}

// createPinnedService creates a one-replica service of image pinned to node nodeID, publishing
// the image's redis port in host mode on port, through manager, without asking a registry for
// the image (the stand-ins are local). It is removed with the swarm.
func createPinnedService(t *testing.T, manager *dockerengine.Client, name, image, nodeID string, port int) {
	t.Helper()
	_, err := manager.CreateService(context.Background(), dockerengine.ServiceSpec{
		Container: dockerengine.ContainerSpec{
			Name: name, Image: image,
			Ports:         []dockerengine.PortMapping{{ContainerPort: "6379/tcp", HostPort: fmt.Sprint(port)}},
			RestartPolicy: dockerengine.RestartPolicy{Name: "on-failure"},
		},
		NodeID:   nodeID,
		Replicas: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// redisPing sends PING to the redis at address until it answers (the task is being scheduled
// and started) and returns the reply.
func redisPing(t *testing.T, address string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		reply, err := ping(address)
		if err == nil {
			return reply
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis at %s does not answer: %v", address, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func ping(address string) (string, error) {
	conn, err := net.DialTimeout("tcp", address, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), err
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
