package boshrelease_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics/metricstest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/sanitytest"
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
	r.runOrphanReport(t)
	r.scrapeMetrics(t)
	// Remote docker clients: the Engine API on TCP takes the manifest's client certificate,
	// verified against docker-ca, and refuses a client without one.
	checkRemoteEngine(t, r.in.VarsStore, r.dockerPort)
	r.sanityTest(ctx, t)
	r.upgradeAll(ctx, t)
	r.backupAndRestore(ctx, t)
	r.drain(ctx, t)
}

// rehearsal is the docker instance group deployed on this machine: the sandboxed /var/vcap, the
// interpolation (its vars store holds the generated credentials), the rendered deployment, the
// engine the docker job runs and a platform's client of the broker. The broker serves HTTPS
// (operators/broker-tls.yml): the client verifies it against docker-broker-ca, as Cloud
// Controller does once the operator made it trust that CA.
type rehearsal struct {
	sandbox    boshrelease.Sandbox
	in         boshrelease.Interpolation
	deployment boshrelease.Deployment
	engine     *dockerengine.Client
	broker     osbClient
	dockerPort int
	procs      []*boshrelease.Process // the jobs' processes, in their start order
	redis      *redis.Client          // redis1 with its binding's credentials (useRedis)
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
			filepath.Join(repo, "operators/broker-tls.yml"), filepath.Join(repo, "operators/orphan-report.yml"),
			filepath.Join(repo, "operators/sanity-test.yml"), filepath.Join("testdata", "rehearsal.yml"),
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
	password, _ := in.VarsStore.Value("docker-broker-password")
	ca, err := in.VarsStore.Certificate("docker-broker-ca")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(ca.Certificate))
	r := &rehearsal{
		sandbox: sandbox, in: in, deployment: d, engine: engine, dockerPort: dockerPort,
		broker: osbClient{
			url: fmt.Sprintf("https://127.0.0.1:%d", brokerPort), username: "broker", password: fmt.Sprint(password),
			http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
		},
	}
	var postStart strings.Builder
	if r.procs, err = sandbox.StartJobs(rendered, &postStart); err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(postStart.String()))
	t.Cleanup(func() {
		if err := boshrelease.StopProcesses(r.procs); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() { removeContainers(t, engine) }) // first: with live_restore they would outlive dockerd
	waitForImage(ctx, t, engine, "frodenas/redis:3.2", sandbox)
	return r
}

// runOrphanReport renders the orphan-report errand from its templates and the servicebroker link
// (the https URL and the broker's CA) and runs it as `bosh run-errand` does: nothing orphaned
// after the provision (exit 0); a directory of no instance makes it fail (exit 1) naming it.
func (r *rehearsal) runOrphanReport(t *testing.T) {
	if _, err := r.deployment.Render(newRenderer(t), "orphan-report", 0, r.sandbox.Path("jobs")); err != nil {
		t.Fatal(err)
	}
	if out, err := r.sandbox.RunScript("orphan-report", "bin/run", nil); err != nil || !strings.Contains(out, "No orphans at ") {
		t.Fatalf("orphan-report errand on a healthy deployment: %v\n%s", err, out)
	}
	stray := r.sandbox.Path("store", "docker-broker", "instances", "cf-stray")
	if err := os.Mkdir(stray, 0o700); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(stray)
	out, err := r.sandbox.RunScript("orphan-report", "bin/run", nil)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, "directory without record   cf-stray") {
		t.Errorf("orphan-report errand with a stray directory: %v (want exit status 1)\n%s", err, out)
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
	t.Cleanup(func() { rdb.Close() })
	r.redis = rdb
	if err := rdb.Set(ctx, "rehearsal", "deployed", 0).Err(); err != nil {
		t.Fatalf("redis at %s:%s with the binding's credentials: %v", host, port, err)
	}
	if v, err := rdb.Get(ctx, "rehearsal").Result(); err != nil || v != "deployed" {
		t.Fatalf("redis GET: %q, %v", v, err)
	}
}

// scrapeMetrics scrapes the broker's Prometheus metrics where the job serves them by default
// (/metrics on its port, behind its credentials): they count the redis32 instance and binding
// of useRedis and the container the engine runs.
func (r *rehearsal) scrapeMetrics(t *testing.T) {
	s, err := metricstest.Get(r.broker.http, r.broker.url+"/metrics", r.broker.username, r.broker.password)
	if err != nil {
		t.Fatal(err)
	}
	redis32 := map[string]string{"service": "redis32", "plan": "free"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"docker_broker_engine_up", nil, 1},
		{"docker_broker_instances", map[string]string{"service": "redis32", "plan": "free", "state": "ready"}, 1},
		{"docker_broker_bindings", redis32, 1},
		{"docker_broker_containers", map[string]string{"service": "redis32", "plan": "free", "state": "running"}, 1},
		{"docker_broker_operation_duration_seconds", map[string]string{"kind": "provision", "outcome": "succeeded"}, 1},
		{"docker_broker_operation_duration_seconds", map[string]string{"kind": "bind", "outcome": "succeeded"}, 1},
	} {
		if got := s.Sum(c.name, c.labels); got != c.want {
			t.Errorf("metrics: %s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// sanityTest runs the sanity-test errand from its rendered templates as `bosh run-errand
// sanity-test` runs it on the docker VM: its plan (redis32/free, the rehearsal's plans property)
// passes, through the broker and a check container on the docker job's engine, and nothing of
// it is left.
func (r *rehearsal) sanityTest(ctx context.Context, t *testing.T) {
	out, err := r.sandbox.RunScript("sanity-test", "bin/run", nil)
	t.Logf("bosh run-errand sanity-test:\n%s", out)
	if err != nil {
		t.Fatalf("the sanity-test errand failed: %v\n%s", err, r.sandbox.JobLogs("docker-broker"))
	}
	for _, step := range []string{"provision", "bind", "check", "unbind", "deprovision"} {
		if !regexp.MustCompile(`(?m)^redis32/free\s+` + step + `\s+\S+\s+ok$`).MatchString(out) {
			t.Errorf("no row redis32/free %s ok", step)
		}
	}
	if !strings.Contains(out, "1 plans passed") {
		t.Error("the errand did not test exactly the one plan of its plans property")
	}
	containers, err := r.engine.ListContainers(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range containers {
		if c.Labels[sanitytest.LabelPlan] != "" || strings.Contains(c.Name, sanitytest.IDPrefix) {
			t.Errorf("container %s of the sanity test is left", c.Name)
		}
	}
}

// upgradeAll renders the upgrade-all-instances errand as the director would and runs it as the
// agent runs an errand, directly through the rehearsed broker (this deployment has no Cloud
// Foundry). First every instance runs its plan's version: nothing to do. Then the operator
// moves redis32's plan to another tag and redeploys the docker-broker job: the errand upgrades
// redis1, whose container runs the new tag with its data, and a second run has nothing to do.
func (r *rehearsal) upgradeAll(ctx context.Context, t *testing.T) {
	if _, err := r.deployment.Render(newRenderer(t), "upgrade-all-instances", 0, r.sandbox.Path("jobs")); err != nil {
		t.Fatal(err)
	}
	runErrand := func(want ...string) {
		t.Helper()
		out, err := r.sandbox.RunScript("upgrade-all-instances", "bin/run", nil)
		t.Logf("$ bosh run-errand upgrade-all-instances\n%s", out)
		if err != nil {
			t.Fatalf("upgrade-all-instances: %v", err)
		}
		for _, line := range append(want, "No cf.api_url: upgrading directly through the broker") {
			if !strings.Contains(out, line) {
				t.Errorf("upgrade-all-instances does not say %q", line)
			}
		}
	}
	runErrand("0 instances need an upgrade")

	// bosh deploy -o testdata/rehearsal-tag-bump.yml: the agent stops the docker-broker job,
	// the director renders it anew, the agent starts it and runs its post-start.
	r.in.OpsFiles = append(r.in.OpsFiles, filepath.Join("testdata", "rehearsal-tag-bump.yml"))
	m, err := r.in.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	r.deployment.Manifest = m
	var others, brokerProcs []*boshrelease.Process
	for _, p := range r.procs {
		if p.Job == "docker-broker" {
			brokerProcs = append(brokerProcs, p)
		} else {
			others = append(others, p)
		}
	}
	if err := boshrelease.StopProcesses(brokerProcs); err != nil {
		t.Fatal(err)
	}
	r.procs = others
	if _, err := r.deployment.Render(newRenderer(t), "docker", 0, r.sandbox.Path("jobs")); err != nil {
		t.Fatal(err)
	}
	var postStart strings.Builder
	restarted, err := r.sandbox.StartJobs([]string{"docker-broker"}, &postStart)
	if err != nil {
		t.Fatal(err)
	}
	r.procs = append(r.procs, restarted...)
	waitForImage(ctx, t, r.engine, "redis:7", r.sandbox)

	runErrand("1 instance needs an upgrade", "upgraded  redis1 (redis32/free 1.0.0 -> 1.0.1)", "Upgraded 1 of 1 instance")
	containers, err := r.engine.ListContainers(ctx, map[string]string{broker.LabelInstanceID: "redis1"})
	if err != nil || len(containers) != 1 || containers[0].Image != "redis:7" || !containers[0].Running {
		t.Fatalf("redis1's containers after the errand: %+v %v; want one running redis:7", containers, err)
	}
	if v, err := r.redis.Get(ctx, "rehearsal").Result(); err != nil || v != "deployed" {
		t.Fatalf("redis1 after the upgrade: GET rehearsal %q, %v; want the value written before", v, err)
	}
	runErrand("0 instances need an upgrade")
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
type osbClient struct {
	url, username, password string
	http                    *http.Client
}

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
	resp, err := c.http.Do(req)
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
