package boshrelease_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// The redis32 offering of services/op-redis32.yml.
const (
	redisService = "0fdcc9c0-14f5-11e7-9d8c-cfde16aa4822"
	redisPlan    = "13d21792-14f5-11e7-81cd-4357fa4eeda9"
)

// TestDeployRehearsal deploys the dev release tarball onto this machine the way a director
// would deploy manifests/docker-broker.yml with the services ops files onto a VM -- compile the
// packages, render the docker instance's jobs, start their processes as bpm does, run their
// post-start scripts -- then runs the steps an operator and an app developer take on it, and
// drains the docker job last.
func TestDeployRehearsal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	r := deploy(ctx, t)
	r.useRedis(ctx, t)
	// Remote docker clients: the Engine API on TCP takes the manifest's client certificate,
	// verified against docker-ca, and refuses a client without one.
	checkRemoteEngine(t, r.in.VarsStore, r.dockerPort)
	r.backupAndRestore(ctx, t)
	r.drain(ctx, t)
}

// rehearsal is the docker instance group deployed on this machine: the sandboxed /var/vcap, the
// interpolation (its vars store holds the generated credentials), the rendered deployment, the
// engine the docker job runs and a platform's client of the broker.
type rehearsal struct {
	sandbox    boshrelease.Sandbox
	in         boshrelease.Interpolation
	deployment boshrelease.Deployment
	engine     *dockerengine.Client
	broker     osbClient
	dockerPort int
}

// deploy uploads, compiles, interpolates, renders and starts the docker instance group as a
// director and the agent would; the test's cleanup stops it again.
func deploy(ctx context.Context, t *testing.T) *rehearsal {
	tarball := devRelease(t)

	// A short root: the engine's socket path must stay under the kernel's 108 bytes.
	root, err := os.MkdirTemp("", "dbr-rehearsal-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) }) // dockerd has unmounted its layers by then
	sandbox, err := boshrelease.NewSandbox(root)
	if err != nil {
		t.Fatal(err)
	}

	// Upload and compile.
	archive, err := boshrelease.ExtractRelease(tarball, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var compileLog bytes.Buffer
	start := time.Now()
	if _, err := archive.Compile(sandbox.Path("packages"), &compileLog); err != nil {
		t.Fatalf("%v\n%s", err, tail(compileLog.String(), 40))
	}
	t.Logf("compiled the packages in %s", time.Since(start).Round(time.Second))

	// The stand-in image the redis32 plan runs, in the docker job's preload directory.
	if _, err := standin.Redis.Archive(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	images, err := standin.CacheDir()
	if err != nil {
		t.Fatal(err)
	}

	// Interpolate as `bosh deploy` would, and render the docker instance's jobs.
	bridge, cidr, err := testenv.FreeBridge()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", bridge).Run() })
	brokerPort, dockerPort := freePort(t), freePort(t)
	repo := repoRoot(t)
	in := boshrelease.Interpolation{
		ManifestPath: filepath.Join(repo, "manifests/docker-broker.yml"),
		OpsFiles: []string{
			filepath.Join(repo, "services/op-postgresql96.yml"), filepath.Join(repo, "services/op-mysql56.yml"),
			filepath.Join(repo, "services/op-redis32.yml"), filepath.Join(repo, "operators/local-run.yml"),
			filepath.Join("testdata", "rehearsal.yml"),
		},
		Vars: map[string]any{
			"sandbox-dir": root, "images-dir": images, "bridge": bridge, "bridge-cidr": cidr,
			"broker-port": brokerPort, "docker-tcp-port": dockerPort,
		},
		VarsStore: boshrelease.NewVarsStore(),
	}
	m, err := in.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := archive.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	d := boshrelease.Deployment{Manifest: m, Release: release, Jobs: jobs, Address: func(string, int) string { return "127.0.0.1" }}
	rendered, err := d.Render(newRenderer(t), "docker", 0, sandbox.Path("jobs"))
	if err != nil {
		t.Fatal(err)
	}

	// Start the jobs in the manifest's order, each followed by its post-start, as the agent does.
	engine, err := dockerengine.New(filepath.Join(root, "sys/run/docker/docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	var postStart strings.Builder
	procs, err := sandbox.StartJobs(rendered, &postStart)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(postStart.String()))
	t.Cleanup(func() {
		if err := boshrelease.StopProcesses(procs); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() { removeContainers(t, engine) }) // first: with live_restore they would outlive dockerd
	waitForImage(ctx, t, engine, "frodenas/redis:3.2", sandbox)

	password, _ := in.VarsStore.Value("docker-broker-password")
	return &rehearsal{
		sandbox: sandbox, in: in, deployment: d, engine: engine, dockerPort: dockerPort,
		broker: osbClient{url: fmt.Sprintf("http://127.0.0.1:%d", brokerPort), username: "broker", password: fmt.Sprint(password)},
	}
}

// useRedis provisions and binds redis32 through the rehearsed broker and uses the instance
// with the credentials it handed out.
func (r *rehearsal) useRedis(ctx context.Context, t *testing.T) {
	r.broker.provision(ctx, t, "redis1", redisService, redisPlan)
	creds := r.broker.bind(t, "redis1", "key1", redisService, redisPlan)
	host, _ := creds["host"].(string)
	port := fmt.Sprint(creds["port"])
	rdb := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(host, port), Password: creds["password"].(string)})
	defer rdb.Close()
	if err := rdb.Set(ctx, "rehearsal", "deployed", 0).Err(); err != nil {
		t.Fatalf("redis at %s:%s with the binding's credentials: %v", host, port, err)
	}
	if v, err := rdb.Get(ctx, "rehearsal").Result(); err != nil || v != "deployed" {
		t.Fatalf("redis GET: %q, %v", v, err)
	}
}

// backupAndRestore runs the docker-broker job's BBR scripts in the order `bbr deployment
// backup` and `bbr deployment restore` run them, with BBR_ARTIFACT_DIRECTORY: data written
// with a binding's credentials, backup, the instance deleted (its container, data and record),
// restore, the data read back with the same credentials.
func (r *rehearsal) backupAndRestore(ctx context.Context, t *testing.T) {
	r.broker.provision(ctx, t, "redis-bbr", redisService, redisPlan)
	creds := r.broker.bind(t, "redis-bbr", "app", redisService, redisPlan)
	addr := net.JoinHostPort(creds["host"].(string), fmt.Sprint(creds["port"]))
	connect := func() *redis.Client {
		return redis.NewClient(&redis.Options{Addr: addr, Password: creds["password"].(string)})
	}
	rdb := connect()
	if err := rdb.Set(ctx, "saved", "written before the backup", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.Close()

	artifacts := t.TempDir()
	env := "BBR_ARTIFACT_DIRECTORY=" + artifacts + "/"
	run := func(scripts ...string) {
		t.Helper()
		for _, script := range scripts {
			out, err := r.sandbox.RunScript("docker-broker", "bin/bbr/"+script, nil, env)
			if err != nil {
				t.Fatalf("bin/bbr/%s: %v\n%s\n%s", script, err, out, r.sandbox.JobLogs("docker-broker"))
			}
			t.Logf("bin/bbr/%s: %s", script, strings.TrimSpace(out))
		}
	}
	run("metadata", "pre-backup-lock", "backup", "post-backup-unlock")

	// The instance is deleted by mistake: its container, its data and its record go.
	status, body := r.broker.do(t, http.MethodDelete, "/v2/service_instances/redis-bbr?service_id="+redisService+"&plan_id="+redisPlan, nil)
	if status != http.StatusOK {
		t.Fatalf("deprovision: %d %v", status, body)
	}
	if _, err := r.engine.InspectContainer(ctx, "cf-redis-bbr"); !dockerengine.IsNotFound(err) {
		t.Fatalf("the container after the deprovision: %v", err)
	}

	run("metadata", "pre-restore-lock", "restore", "post-restore-unlock")
	rdb = connect()
	defer rdb.Close()
	if v, err := rdb.Get(ctx, "saved").Result(); err != nil || v != "written before the backup" {
		t.Fatalf("after the restore, with the binding's credentials of before: %q %v", v, err)
	}
	if status, _ := r.broker.do(t, http.MethodGet, "/v2/service_instances/redis-bbr/service_bindings/app", nil); status != http.StatusOK {
		t.Errorf("the binding after the restore: %d", status)
	}
	// Unlocked: the broker takes changes again.
	r.broker.provision(ctx, t, "redis-after-restore", redisService, redisPlan)
}

// drain runs the docker job's drain script as the agent does before stopping it: one integer on
// stdout, every container stopped; a second call has nothing to do. It runs last.
func (r *rehearsal) drain(ctx context.Context, t *testing.T) {
	state := `{"persistent_disk":65536}`
	for i := range 2 {
		out, err := r.sandbox.RunScript("docker", "bin/drain", []string{"job_shutting_down", "hash_unchanged"},
			"BOSH_JOB_STATE="+state, "BOSH_JOB_NEXT_STATE="+state)
		if err != nil {
			t.Fatalf("drain #%d: %v\n%s", i+1, err, r.sandbox.JobLogs("docker"))
		}
		if out != "0\n" {
			t.Fatalf("drain #%d printed %q, want the integer 0 and nothing else", i+1, out)
		}
	}
	containers, err := r.engine.ListContainers(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(containers) == 0 {
		t.Fatal("no container after the provision")
	}
	for _, c := range containers {
		if c.Running {
			t.Errorf("container %s still runs after drain", c.Name)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func removeContainers(t *testing.T, engine *dockerengine.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	containers, err := engine.ListContainers(ctx, nil)
	if err != nil {
		return // the engine is gone already
	}
	for _, c := range containers {
		if err := engine.RemoveContainer(ctx, c.ID); err != nil && !dockerengine.IsNotFound(err) {
			t.Errorf("removing container %s: %v", c.Name, err)
		}
	}
}

// waitForImage waits until the docker job has preloaded ref.
func waitForImage(ctx context.Context, t *testing.T, engine *dockerengine.Client, ref string, sandbox boshrelease.Sandbox) {
	t.Helper()
	for {
		ok, err := engine.ImageExists(ctx, ref)
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("image %s not preloaded (%v)\n%s", ref, err, sandbox.JobLogs("docker"))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// checkRemoteEngine reaches the Engine API on TCP as a remote docker client does with the
// manifest's docker-client-tls, verifying the server by docker-ca and its name 127.0.0.1, and
// checks that a client without a certificate is refused.
func checkRemoteEngine(t *testing.T, store *boshrelease.VarsStore, port int) {
	t.Helper()
	client, err := store.Certificate("docker-client-tls")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair([]byte(client.Certificate), []byte(client.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(client.CA))
	url := fmt.Sprintf("https://127.0.0.1:%d/_ping", port)
	for _, c := range []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{{"with docker-client-tls", []tls.Certificate{pair}, true}, {"without a client certificate", nil, false}} {
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: c.certs}}}
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		if ok := err == nil && resp.StatusCode == http.StatusOK; ok != c.ok {
			t.Errorf("Engine API on TCP %s: answered %v (%v), want %v", c.name, ok, err, c.ok)
		}
	}
}

// osbClient speaks the Open Service Broker API as a platform does.
type osbClient struct{ url, username, password string }

func (c osbClient) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(c.username, c.password)
	req.Header.Set("X-Broker-API-Version", "2.17")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// provision creates an instance asynchronously and polls last_operation until it succeeds.
func (c osbClient) provision(ctx context.Context, t *testing.T, id, service, plan string) {
	t.Helper()
	status, body := c.do(t, http.MethodPut, "/v2/service_instances/"+id+"?accepts_incomplete=true", map[string]any{
		"service_id": service, "plan_id": plan, "organization_guid": "org", "space_guid": "space",
	})
	if status != http.StatusAccepted && status != http.StatusCreated {
		t.Fatalf("provision %s: %d %v", id, status, body)
	}
	for status == http.StatusAccepted {
		_, op := c.do(t, http.MethodGet, fmt.Sprintf("/v2/service_instances/%s/last_operation?service_id=%s&plan_id=%s", id, service, plan), nil)
		switch op["state"] {
		case "succeeded":
			return
		case "failed":
			t.Fatalf("provision %s failed: %v", id, op)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("provision %s: still %v", id, op)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// bind creates a binding and returns its credentials.
func (c osbClient) bind(t *testing.T, instance, binding, service, plan string) map[string]any {
	t.Helper()
	status, body := c.do(t, http.MethodPut, "/v2/service_instances/"+instance+"/service_bindings/"+binding, map[string]any{
		"service_id": service, "plan_id": plan,
	})
	creds, _ := body["credentials"].(map[string]any)
	if status != http.StatusCreated || creds == nil {
		t.Fatalf("bind %s/%s: %d %v", instance, binding, status, body)
	}
	return creds
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}
