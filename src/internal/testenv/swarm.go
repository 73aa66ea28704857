package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/supervisor"
	"github.com/cloudfoundry-community/docker-broker/src/internal/swarmjoin"
)

// EngineAPIPort is the port of every swarm node's Engine API on TCP (mutual TLS), on its own
// address: each node has a network namespace of its own, as each docker VM has an IP.
const EngineAPIPort = 4243

// SwarmOptions shape a test swarm.
type SwarmOptions struct {
	Nodes    int // docker VMs, default 3
	Managers int // the first Managers nodes join as managers, default 1
	// Prefix names the bridge, veths and network namespaces (up to 6 characters): one swarm per
	// prefix at a time, so tests that start swarms concurrently give each its own.
	Prefix string
}

// Swarm is several dockerds on this machine, each in its own network namespace with its own
// address on a test bridge, started through docker-supervisor with the Engine API on TCP with
// mutual TLS, that formed a swarm the way the `docker` job makes it: through their
// supervisor's swarm config (package swarmjoin), not by `docker swarm join`.
//
// Each node has a disk of its own, as each VM has a persistent disk: the nodes see their own
// directory (SwarmNode.DiskDir) at the same path, DiskRoot, in a mount namespace of their own,
// so that a directory made on one node is not on another.
type Swarm struct {
	Nodes  []*SwarmNode
	Bridge string // the host's bridge, whose address (.1) the host reaches the nodes from
	// DiskRoot is where every node sees its disk, as every docker VM sees its persistent disk
	// at /var/vcap/store. On the host it is an empty directory: the disks are the nodes' DiskDir.
	DiskRoot string
	// Client is the mutual-TLS client of the nodes' Engine API (docker-client-tls of the job);
	// ServerName is the name on their certificate.
	Client dockerengine.TLSFiles

	opts   SwarmOptions
	dir    string // certificates
	gwCIDR string
}

// SwarmNode is one docker VM of a test swarm.
type SwarmNode struct {
	*Dockerd        // its engine through the unix socket (Engine), its supervisor, its config
	Index    int    // the BOSH index
	Netns    string // its network namespace
	Address  string // its IP: swarm advertise address, Engine API, host-mode published ports
	NodeID   string // its swarm node id
	// DiskDir is the node's disk on the host: what the node and its containers see at the
	// swarm's DiskRoot.
	DiskDir string
}

// APIAddress is the node's Engine API on TCP, "ip:port".
func (n *SwarmNode) APIAddress() string {
	return net.JoinHostPort(n.Address, fmt.Sprint(EngineAPIPort))
}

// StartSwarm starts a swarm of opts.Nodes dockerds for t and removes it when t ends. It skips
// where network namespaces cannot be made (and fails under CI=true).
func StartSwarm(t testing.TB, opts SwarmOptions) *Swarm {
	t.Helper()
	RequireRoot(t)
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Managers == 0 {
		opts.Managers = 1
	}
	if len(opts.Prefix) == 0 || len(opts.Prefix) > 6 {
		t.Fatalf("SwarmOptions.Prefix %q: give the test helper's prefix, 1 to 6 characters (interface names allow 15)", opts.Prefix)
	}
	_, cidr, err := FreeBridge()
	if err != nil {
		t.Fatal(err)
	}
	s := &Swarm{opts: opts, Bridge: opts.Prefix + "swbr", gwCIDR: cidr, dir: t.TempDir()}
	requireNamespaces(t, opts.Prefix+"probe")
	t.Cleanup(func() { s.remove(t) })
	s.DiskRoot = s.path("disk")
	if err := os.Mkdir(s.DiskRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.makeCertificates(); err != nil {
		t.Fatal(err)
	}
	if err := s.makeBridge(); err != nil {
		t.Fatal(err)
	}
	for i := range opts.Nodes {
		node, err := s.addNode(i)
		if err != nil {
			t.Fatal(err)
		}
		s.Nodes = append(s.Nodes, node)
	}
	// The nodes converge on their own, in any order, as BOSH may start the VMs.
	for i := range s.Nodes {
		if err := s.startNode(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WaitMembers(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	return s
}

// requireNamespaces skips t where this process cannot make network and mount namespaces, or
// fails it under CI=true, so that CI never passes by skipping.
func requireNamespaces(t testing.TB, probe string) {
	t.Helper()
	reason := ""
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		reason = fmt.Sprintf("network namespaces are not allowed here (ip netns add: %v %s)", err, strings.TrimSpace(string(out)))
	} else {
		_ = exec.Command("ip", "netns", "del", probe).Run()
		if out, err := exec.Command("unshare", "--mount", "--propagation", "slave", "true").CombinedOutput(); err != nil {
			reason = fmt.Sprintf("mount namespaces are not allowed here (unshare --mount: %v %s)", err, strings.TrimSpace(string(out)))
		} else if _, err := exec.LookPath("nsenter"); err != nil {
			reason = "no nsenter here (util-linux)"
		}
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: the swarm tests need network and mount namespaces, nsenter and unshare)", reason)
	}
	t.Skipf("skipping: %s", reason)
}

// address is the IP of node i on the bridge (.1 is the host's).
func (s *Swarm) address(i int) string {
	ip, _, _ := net.ParseCIDR(s.gwCIDR)
	ip = ip.To4()
	return net.IPv4(ip[0], ip[1], ip[2], byte(11+i)).String()
}

func (s *Swarm) netns(i int) string { return fmt.Sprintf("%s-n%d", s.opts.Prefix, i) }

// hostVeth names the host's end of node i's veth pair.
func (s *Swarm) hostVeth(i int) string { return fmt.Sprintf("%sv%d", s.opts.Prefix, i) }

// ip runs the ip command.
func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (s *Swarm) makeBridge() error {
	_ = exec.Command("ip", "link", "del", s.Bridge).Run() // left by a killed run
	for _, args := range [][]string{
		{"link", "add", s.Bridge, "type", "bridge"},
		{"addr", "add", s.gwCIDR, "dev", s.Bridge},
		{"link", "set", s.Bridge, "up"},
	} {
		if err := ip(args...); err != nil {
			return err
		}
	}
	return nil
}

// addNode makes node i's network namespace, wired to the bridge by a veth pair, and its disk.
func (s *Swarm) addNode(i int) (*SwarmNode, error) {
	ns, host := s.netns(i), s.hostVeth(i)
	gw, _, _ := net.ParseCIDR(s.gwCIDR)
	// A run killed before its cleanup leaves its links behind; names are the prefix's own.
	_ = exec.Command("ip", "link", "del", host).Run()
	_ = exec.Command("ip", "netns", "del", ns).Run()
	for _, args := range [][]string{
		{"netns", "add", ns},
		{"link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"link", "set", host, "master", s.Bridge, "up"},
		{"-n", ns, "addr", "add", s.address(i) + "/24", "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "route", "add", "default", "via", gw.String()},
	} {
		if err := ip(args...); err != nil {
			return nil, err
		}
	}
	disk := s.path(fmt.Sprintf("node%d-disk", i))
	if err := os.Mkdir(disk, 0o755); err != nil {
		return nil, err
	}
	return &SwarmNode{Index: i, Netns: ns, Address: s.address(i), DiskDir: disk}, nil
}

// startNode starts node i's docker-supervisor with an empty data root and the docker job's
// swarm config, as the job renders it on VM i, with the node's disk at the swarm's DiskRoot.
func (s *Swarm) startNode(i int) error {
	node := s.Nodes[i]
	var managers []string
	for m := range s.opts.Managers {
		managers = append(managers, net.JoinHostPort(s.address(m), fmt.Sprint(EngineAPIPort)))
	}
	yes := true
	d, err := start(func(c *supervisor.Config) {
		c.TCP = supervisor.TCPConfig{
			Address: node.Address, Port: EngineAPIPort,
			CACert: s.path("ca.pem"), Cert: s.path("server.pem"), Key: s.path("server-key.pem"),
		}
		// The containers' bridge lives in the node's namespace, where the host's interfaces
		// that FreeBridge avoids are not: it must only stay off the swarm's bridge.
		for sameSubnet(c.BridgeCIDR, s.gwCIDR) {
			_, c.BridgeCIDR, _ = FreeBridge()
		}
		// Each node has iptables of its own: dockerd may manage them (swarm's networks need it).
		c.IPTables, c.IPMasq = &yes, &yes
		c.Swarm = swarmjoin.Config{
			Enabled:          true,
			AdvertiseAddress: node.Address,
			Manager:          i < s.opts.Managers,
			Bootstrap:        i == 0,
			Managers:         managers,
			CACert:           s.Client.CACert, Cert: s.Client.Cert, Key: s.Client.Key,
			ServerName:    s.Client.ServerName,
			RetryInterval: config.Duration(500 * time.Millisecond),
		}
	}, namespaces{netns: node.Netns, diskDir: node.DiskDir, diskRoot: s.DiskRoot})
	if err != nil {
		return fmt.Errorf("node %d: %w", i, err)
	}
	node.Dockerd = d
	return nil
}

// WaitMembers waits until every node is an active member and a manager lists them all ready,
// each once, and sets the nodes' NodeID.
func (s *Swarm) WaitMembers(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := s.members()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			var logs strings.Builder
			for _, n := range s.Nodes {
				fmt.Fprintf(&logs, "\n--- node %d supervisor log:\n%s", n.Index, n.SupervisorLog())
			}
			return fmt.Errorf("the swarm did not form within %s: %v%s", timeout, err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *Swarm) members() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, n := range s.Nodes {
		state, err := n.Engine.LocalSwarm(ctx)
		if err != nil {
			return err
		}
		if !state.Member() {
			return fmt.Errorf("node %d is %s", n.Index, state.State)
		}
		n.NodeID = state.NodeID
	}
	nodes, err := s.Nodes[0].Engine.ListNodes(ctx)
	if err != nil {
		return err
	}
	if len(nodes) != len(s.Nodes) {
		return fmt.Errorf("the swarm lists %d nodes, want %d", len(nodes), len(s.Nodes))
	}
	for _, n := range nodes {
		if n.State != "ready" {
			return fmt.Errorf("node %s at %s is %s", n.ID, n.Addr, n.State)
		}
	}
	return nil
}

// Recreate is a VM recreated at the same address: node i's docker-supervisor is stopped, its
// data root removed, and a new one started. It keeps the node's DiskDir, as BOSH keeps a VM's
// persistent disk when it recreates the VM and attaches the disk to the new one. It waits
// until the swarm has every node again (the new entry in, the old one removed).
func (s *Swarm) Recreate(t testing.TB, i int) {
	t.Helper()
	if err := s.Nodes[i].Stop(); err != nil {
		t.Fatalf("stopping node %d: %v", i, err)
	}
	if err := s.startNode(i); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitMembers(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
}

// remove stops every node and removes the namespaces, the bridge and the directories. The
// nodes' disk mounts go with their mount namespaces, when the last process of each has
// exited: the host never had them.
func (s *Swarm) remove(t testing.TB) {
	for _, n := range s.Nodes {
		if n.Dockerd != nil {
			if err := n.Stop(); err != nil {
				t.Errorf("stopping node %d: %v", n.Index, err)
			}
		}
	}
	for i := range s.opts.Nodes {
		// The pair goes with its host end at once; deleting the namespace alone leaves it until
		// the last process inside has exited, and the next swarm of this prefix would collide.
		_ = exec.Command("ip", "link", "del", s.hostVeth(i)).Run()
		_ = exec.Command("ip", "netns", "del", s.netns(i)).Run()
	}
	_ = exec.Command("ip", "link", "del", s.Bridge).Run()
}

func sameSubnet(a, b string) bool {
	_, na, _ := net.ParseCIDR(a)
	_, nb, _ := net.ParseCIDR(b)
	return na.String() == nb.String()
}

func (s *Swarm) path(name string) string { return filepath.Join(s.dir, name) }

// makeCertificates writes what the deployment's variables give the docker job: a CA
// (docker-ca), a server certificate naming "docker" (docker-server-tls) and a client one
// (docker-client-tls).
func (s *Swarm) makeCertificates() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "docker-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)
	if err := writePEM(s.path("ca.pem"), "CERTIFICATE", caDER); err != nil {
		return err
	}
	for i, leaf := range []struct {
		name  string
		usage x509.ExtKeyUsage
	}{{"server", x509.ExtKeyUsageServerAuth}, {"client", x509.ExtKeyUsageClientAuth}} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		template := &x509.Certificate{
			SerialNumber: big.NewInt(int64(2 + i)), Subject: pkix.Name{CommonName: "docker-" + leaf.name},
			DNSNames:  []string{"docker"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{leaf.usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		if err := writePEM(s.path(leaf.name+".pem"), "CERTIFICATE", der); err != nil {
			return err
		}
		if err := writePEM(s.path(leaf.name+"-key.pem"), "PRIVATE KEY", keyDER); err != nil {
			return err
		}
	}
	s.Client = dockerengine.TLSFiles{CACert: s.path("ca.pem"), Cert: s.path("client.pem"), Key: s.path("client-key.pem"), ServerName: "docker"}
	return nil
}

func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}
