package swarm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/supervisor"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// The test swarm's one node: a dockerd in network namespace testNetns, reached from the host
// at testNodeAddr over a veth pair, its containers on testBridgeCIDR, which the host routes to
// the node (the broker's TCP health check dials a container's own address).
const (
	testNetns      = "swe-n0"
	testHostVeth   = "swe0h"
	testNodeVeth   = "swe0n"
	testHostAddr   = "10.233.62.1"
	testNodeAddr   = "10.233.62.2"
	testBridgeCIDR = "10.233.63.1/24"
	testBridgeNet  = "10.233.63.0/24"
)

// swarmNode is a one-node swarm: its engine (manager and node at once) and its node id.
type swarmNode struct {
	docker *testenv.Dockerd
	id     string
}

// startSwarmNode starts a dockerd through docker-supervisor in its own network namespace, as
// the nodes of a scale-out deployment run on their VMs, and makes it a swarm of one. The test
// skips where network namespaces cannot be made, and fails there under CI=true.
func startSwarmNode(t testing.TB) swarmNode {
	t.Helper()
	testenv.RequireRoot(t)
	cleanupNetwork := func() {
		_ = exec.Command("ip", "route", "del", testBridgeNet).Run()
		_ = exec.Command("ip", "link", "del", testHostVeth).Run()
		_ = exec.Command("ip", "netns", "del", testNetns).Run()
	}
	cleanupNetwork() // what a killed run left
	if out, err := exec.Command("ip", "netns", "add", testNetns).CombinedOutput(); err != nil {
		reason := fmt.Sprintf("network namespaces are not allowed here (ip netns add: %v: %s)", err, bytes.TrimSpace(out))
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI=true: the swarm tests need them", reason)
		}
		t.Skipf("skipping: %s", reason)
	}
	t.Cleanup(cleanupNetwork)
	ns := []string{"ip", "-n", testNetns}
	for _, cmd := range [][]string{
		{"ip", "link", "add", testHostVeth, "type", "veth", "peer", "name", testNodeVeth, "netns", testNetns},
		{"ip", "addr", "add", testHostAddr + "/30", "dev", testHostVeth},
		{"ip", "link", "set", testHostVeth, "up"},
		append(ns, "addr", "add", testNodeAddr+"/30", "dev", testNodeVeth),
		append(ns, "link", "set", testNodeVeth, "up"),
		append(ns, "link", "set", "lo", "up"),
		append(ns, "route", "add", "default", "via", testHostAddr),
		{"ip", "route", "add", testBridgeNet, "via", testNodeAddr},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(cmd, " "), err, out)
		}
	}
	// docker-supervisor runs dockerd through this wrapper, which enters the namespace first
	// (nsenter, not ip netns exec, which remounts /sys and hides the cgroups from dockerd).
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(t.TempDir(), "dockerd")
	script := fmt.Sprintf("#!/bin/sh\nexec nsenter --net=/var/run/netns/%s %s \"$@\"\n", testNetns, dockerd)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	d := testenv.StartOwn(t, func(c *supervisor.Config) {
		c.Dockerd = wrapper
		// The supervisor would make the bridge in its own namespace: dockerd makes its
		// default one in the node's, on an address the host routes there.
		c.Bridge, c.BridgeCIDR, c.BIP = "", "", testBridgeCIDR
	})
	id := swarmInit(t, d.Socket, testNodeAddr)
	return swarmNode{docker: d, id: id}
}

// swarmInit makes the engine at socket the first manager of a new swarm and returns its node
// id. Joining and initialising a swarm is the topology's work, not the broker's: the tests
// speak the API here directly.
func swarmInit(t testing.TB, socket, addr string) string {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	body, _ := json.Marshal(map[string]string{"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": addr})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://docker/v1.41/swarm/init", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("swarm init: %v", err)
	}
	defer resp.Body.Close()
	var nodeID string
	if err := json.NewDecoder(resp.Body).Decode(&nodeID); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("swarm init: status %s, %v", resp.Status, err)
	}
	return nodeID
}
