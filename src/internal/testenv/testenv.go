// Package testenv gives integration tests a real Docker Engine: a private dockerd, started
// through the docker-supervisor binary in a temporary directory with its own socket, data root
// and bridge, so that it never touches the host's engine or another test binary's. One dockerd
// is shared by all tests of a test binary (Docker) and torn down by Main; tests that kill or
// stop their engine start their own (Start).
//
// Where dockerd cannot run (not root, no dockerd binary) tests skip with the reason; under
// CI=true they fail instead, so that CI never passes by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/supervisor"
)

// Dockerd is one private dockerd run by docker-supervisor.
type Dockerd struct {
	Dir    string // holds the config, data root, socket and logs
	Socket string
	Config supervisor.Config // as written for docker-supervisor
	Engine *dockerengine.Client

	netns      string // the network namespace it runs in, "" for the host's
	supervisor *exec.Cmd
	exited     chan struct{}
	exitErr    error

	mu     sync.Mutex
	loaded map[string]bool // stand-in recipes loaded into this engine
}

var shared struct {
	once sync.Once
	d    *Dockerd
	err  error
}

// Main runs the tests of a package and stops the shared dockerd afterwards:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	defer removeBinaries()
	if shared.d != nil {
		if err := shared.d.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: stopping the shared dockerd:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Docker returns the test binary's shared dockerd, starting it on first use.
func Docker(t testing.TB) *Dockerd {
	t.Helper()
	RequireRoot(t)
	shared.once.Do(func() {
		shared.d, shared.err = Start(nil)
	})
	if shared.err != nil {
		t.Fatalf("starting the shared dockerd: %v", shared.err)
	}
	return shared.d
}

// StartOwn starts a dockerd for t alone, configured by configure (may be nil), and stops it
// when t ends.
func StartOwn(t testing.TB, configure func(*supervisor.Config)) *Dockerd {
	t.Helper()
	RequireRoot(t)
	d, err := Start(configure)
	if err != nil {
		t.Fatalf("starting a private dockerd: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stopping the private dockerd: %v", err)
		}
	})
	return d
}

// RequireRoot skips t where dockerd cannot run (not root, no dockerd binary), or fails it under
// CI=true, so that CI never passes by skipping.
func RequireRoot(t testing.TB) {
	t.Helper()
	reason := ""
	if os.Geteuid() != 0 {
		reason = "dockerd needs root and these tests do not run as root"
	} else if _, err := dockerdPath(); err != nil {
		reason = err.Error()
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a real Docker Engine is required, install docker.io and run as root)", reason)
	}
	t.Skipf("skipping: %s (install docker.io and run as root to run this test)", reason)
}

func dockerdPath() (string, error) {
	if p, err := exec.LookPath("dockerd"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/dockerd"); err == nil {
		return "/usr/sbin/dockerd", nil
	}
	return "", errors.New("no dockerd binary on this machine")
}

// Start starts docker-supervisor with a fresh private dockerd and waits until its API answers.
// The caller must Stop it.
func Start(configure func(*supervisor.Config)) (*Dockerd, error) {
	return start(configure, namespaces{})
}

// namespaces are where docker-supervisor (and so dockerd, containerd and the containers they
// start) runs: the host's (the zero value), or a swarm node's.
type namespaces struct {
	// netns is a network namespace under /var/run/netns, "" for the host's. It is entered with
	// nsenter, which changes the network namespace only: `ip netns exec` would also remount
	// /sys and hide the cgroup mounts dockerd needs.
	netns string
	// diskDir, when set, is bind-mounted on diskRoot in a mount namespace of the supervisor's
	// own, as a VM's persistent disk is mounted on the same path on every VM: only the
	// supervisor and what it starts see it there. The mount namespace is a slave of the
	// host's: none of its mounts (this one, dockerd's layers) reach the host, the host's
	// unmounts reach it, and it goes with its last process.
	diskDir, diskRoot string
}

// command is name with args run in ns.
func (ns namespaces) command(name string, args ...string) *exec.Cmd {
	argv := append([]string{name}, args...)
	if ns.diskDir != "" {
		mount := []string{"unshare", "--mount", "--propagation", "slave", "--",
			"sh", "-c", `mount --bind "$1" "$2" && shift 2 && exec "$@"`, "sh", ns.diskDir, ns.diskRoot}
		argv = append(mount, argv...)
	}
	if ns.netns != "" {
		argv = append([]string{"nsenter", "--net=/var/run/netns/" + ns.netns, "--"}, argv...)
	}
	return exec.Command(argv[0], argv[1:]...)
}

// start is Start with docker-supervisor in the namespaces ns. Its directory and unix socket
// stay on the host's filesystem.
func start(configure func(*supervisor.Config), ns namespaces) (*Dockerd, error) {
	binary, err := SupervisorBinary()
	if err != nil {
		return nil, err
	}
	dockerd, err := dockerdPath()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dbt-")
	if err != nil {
		return nil, err
	}
	bridge, cidr, err := FreeBridge()
	if err != nil {
		return nil, err
	}
	no := false
	cfg := supervisor.Config{
		Dockerd:    dockerd,
		DataRoot:   filepath.Join(dir, "data"),
		ExecRoot:   filepath.Join(dir, "exec"),
		Pidfile:    filepath.Join(dir, "docker.pid"),
		Socket:     filepath.Join(dir, "docker.sock"),
		LogFile:    filepath.Join(dir, "dockerd.log"),
		Bridge:     bridge,
		BridgeCIDR: cidr,
		// Several engines on one host must leave iptables alone: each would flush the
		// others' rules. Published ports then go through docker-proxy, which is all tests need.
		IPTables: &no,
		IPMasq:   &no,
		// The tests run as root, and a development machine has no vcap group (the default):
		// dockerd refuses to start with a socket group that does not exist.
		SocketGroup: "root",
		// Without live-restore a stopping dockerd stops its containers: a test binary that is
		// killed (its supervisor then gets SIGTERM) leaves nothing running behind.
		LiveRestore:  &no,
		ReadyTimeout: config.Duration(60 * time.Second),
		StopTimeout:  config.Duration(30 * time.Second),
		Restart: supervisor.RestartConfig{
			InitialBackoff: config.Duration(200 * time.Millisecond),
			MaxBackoff:     config.Duration(2 * time.Second),
		},
	}
	if configure != nil {
		configure(&cfg)
	}
	cfgPath := filepath.Join(dir, "supervisor.json")
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		return nil, err
	}
	engine, err := dockerengine.New(cfg.Socket)
	if err != nil {
		return nil, err
	}
	cmd := ns.command(binary, "run", cfgPath)
	d := &Dockerd{Dir: dir, Socket: cfg.Socket, Config: cfg, Engine: engine, netns: ns.netns, loaded: map[string]bool{}}
	if err := d.launch(cmd); err != nil {
		return nil, err
	}
	if err := d.WaitReady(cfg.ReadyTimeout.D()); err != nil {
		_ = d.Stop()
		return nil, err
	}
	return d, nil
}

// launch starts the docker-supervisor command cmd, its output appended to its log, and
// watches it until it exits.
func (d *Dockerd) launch(cmd *exec.Cmd) error {
	logf, err := os.OpenFile(filepath.Join(d.Dir, "supervisor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the test binary die, take the supervisor (and so dockerd) with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting docker-supervisor: %w", err)
	}
	d.supervisor, d.exited = cmd, make(chan struct{})
	go func() {
		d.exitErr = cmd.Wait()
		logf.Close()
		close(d.exited)
	}()
	return nil
}

// Restart stops docker-supervisor with SIGTERM, as bpm stops the job when BOSH stops the VM,
// and starts it again as it was started (namespaces, config, data root), as BOSH starts the
// job again: unlike Stop, it removes nothing, so dockerd keeps what it keeps on its disk (its
// swarm membership among it). It waits until the engine answers.
func (d *Dockerd) Restart() error {
	if err := d.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-d.exited:
	case <-time.After(d.Config.StopTimeout.D() + 10*time.Second):
		return fmt.Errorf("docker-supervisor still runs %s after SIGTERM", d.Config.StopTimeout.D()+10*time.Second)
	}
	if err := d.launch(exec.Command(d.supervisor.Args[0], d.supervisor.Args[1:]...)); err != nil {
		return err
	}
	return d.WaitReady(d.Config.ReadyTimeout.D())
}

// WaitReady waits until the engine answers, failing early if the supervisor exits.
func (d *Dockerd) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := d.Engine.Ping(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("docker-supervisor exited (%v) before dockerd was ready:\n%s", d.exitErr, d.SupervisorLog())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd not ready after %s:\n%s", timeout, d.SupervisorLog())
		}
	}
}

// SupervisorLog returns what docker-supervisor has logged so far.
func (d *Dockerd) SupervisorLog() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "supervisor.log"))
	return string(b)
}

// DockerdPid returns the pid of the dockerd the supervisor runs now.
func (d *Dockerd) DockerdPid() (int, error) {
	b, err := os.ReadFile(d.Config.Pidfile)
	if err != nil {
		return 0, err
	}
	var pid int
	_, err = fmt.Sscan(string(b), &pid)
	return pid, err
}

// Signal sends sig to the docker-supervisor process.
func (d *Dockerd) Signal(sig os.Signal) error { return d.supervisor.Process.Signal(sig) }

// Exited is closed when docker-supervisor has exited; ExitErr then tells how.
func (d *Dockerd) Exited() <-chan struct{} { return d.exited }

// ExitErr is docker-supervisor's exit status, valid once Exited is closed.
func (d *Dockerd) ExitErr() error { return d.exitErr }

// Stop removes every container, stops docker-supervisor with SIGTERM, deletes its bridge and
// the directory. It may be called after the supervisor has already exited.
func (d *Dockerd) Stop() error {
	var errs []error
	select {
	case <-d.exited:
	default:
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := d.removeAllContainers(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
		_ = d.supervisor.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(d.Config.StopTimeout.D() + 10*time.Second):
			_ = d.supervisor.Process.Kill()
			<-d.exited
			errs = append(errs, errors.New("docker-supervisor did not stop on SIGTERM"))
		}
	}
	d.Engine.Close()
	// A dockerd configured without a bridge of its own (one in a network namespace of its
	// own) made its default one there, which goes with the namespace.
	if d.Config.Bridge != "" {
		if out, err := exec.Command("ip", ipNetns(d.netns, "link", "del", d.Config.Bridge)...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("deleting bridge %s: %v: %s", d.Config.Bridge, err, out))
		}
	}
	// dockerd unmounts its layers when it stops; anything still mounted keeps its files.
	_ = os.RemoveAll(d.Dir)
	return errors.Join(errs...)
}

// ipNetns is the arguments of `ip` running args in the network namespace netns ("" for the host's).
func ipNetns(netns string, args ...string) []string {
	if netns == "" {
		return args
	}
	return append([]string{"-n", netns}, args...)
}

func (d *Dockerd) removeAllContainers(ctx context.Context) error {
	ids, err := d.Engine.ListContainers(ctx, nil)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range ids {
		if err := d.Engine.RemoveContainer(ctx, c.ID); err != nil && !dockerengine.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Standin loads the stand-in image of recipe into this engine (building its archive first if
// the cache lacks it) and returns the image reference to run.
func (d *Dockerd) Standin(t testing.TB, recipe standin.Recipe) string {
	t.Helper()
	d.Standins(t, recipe)
	return recipe.Tags[0]
}

// Standins loads the stand-in images of recipes into this engine, building the archives the
// cache lacks first, together (standin.Archives: in parallel, on one base).
func (d *Dockerd) Standins(t testing.TB, recipes ...standin.Recipe) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	var missing []standin.Recipe
	for _, r := range recipes {
		if !d.loaded[r.Name] && !slices.ContainsFunc(missing, func(m standin.Recipe) bool { return m.Name == r.Name }) {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	paths, err := standin.Archives(ctx, missing, 0, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatalf("building stand-in images: %v", err)
	}
	for i, path := range paths {
		if err := loadImage(ctx, d.Engine, path); err != nil {
			t.Fatalf("loading stand-in image %s: %v", missing[i].Name, err)
		}
		d.loaded[missing[i].Name] = true
	}
}

func loadImage(ctx context.Context, engine *dockerengine.Client, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return engine.LoadImage(ctx, f, nil)
}

// Run creates and starts a container from spec and removes it when t ends, unless its engine
// has stopped before (Stop removes every container). Published ports without a host IP are
// bound to 127.0.0.1: tests keep their traffic on this machine.
func (d *Dockerd) Run(t testing.TB, spec dockerengine.ContainerSpec) dockerengine.Container {
	t.Helper()
	ctx := context.Background()
	for i := range spec.Ports {
		if spec.Ports[i].HostIP == "" {
			spec.Ports[i].HostIP = "127.0.0.1"
		}
	}
	id, err := d.Engine.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-d.exited:
			return
		default:
		}
		if err := d.Engine.RemoveContainer(context.Background(), id); err != nil && !dockerengine.IsNotFound(err) {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := d.Engine.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	c, err := d.Engine.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Shell runs a shell script in a running container, as `docker exec c sh -c script` does, and
// returns its output, trimmed; a non-zero exit status is an error carrying the output.
func (d *Dockerd) Shell(ctx context.Context, container, script string) (string, error) {
	execID, err := d.Engine.CreateExec(ctx, container, dockerengine.Exec{Cmd: []string{"sh", "-c", script}})
	if err != nil {
		return "", err
	}
	res, err := d.Engine.StartExec(ctx, execID)
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("exit status %d: %s", res.ExitCode, res.Output)
	}
	return strings.TrimSpace(string(res.Output)), err
}

// HostPort returns the "127.0.0.1:port" address that containerPort ("6379/tcp") of c is published on.
func HostPort(t testing.TB, c dockerengine.Container, containerPort string) string {
	t.Helper()
	for _, p := range c.Ports {
		if p.ContainerPort == containerPort {
			return net.JoinHostPort(p.HostIP, p.HostPort)
		}
	}
	t.Fatalf("container %s does not publish %s (it publishes %v)", c.Name, containerPort, c.Ports)
	return ""
}

// FreeBridge picks a bridge name and a /24 that no interface of this host uses, for a dockerd
// of its own (the tests' engines, and the BOSH deploy rehearsal's).
func FreeBridge() (name, cidr string, err error) {
	used := map[string]bool{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", "", err
	}
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok && ipnet.IP.To4() != nil {
			ip := ipnet.IP.To4()
			used[fmt.Sprintf("%d.%d.%d", ip[0], ip[1], ip[2])] = true
		}
	}
	for range 100 {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		subnet := fmt.Sprintf("10.231.%d", b[0])
		if used[subnet] {
			continue
		}
		return "dbt" + hex.EncodeToString(b), subnet + ".1/24", nil
	}
	return "", "", errors.New("no free subnet in 10.231.0.0/16 for a test bridge")
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// WaitFor polls cond every 100ms until it holds, failing t after timeout with what it waited
// for.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
