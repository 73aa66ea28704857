package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const (
	redisService = "0fdcc9c0-14f5-11e7-9d8c-cfde16aa4822"
	redisFree    = "13d21792-14f5-11e7-81cd-4357fa4eeda9"
)

// brokerProcess is the docker-broker binary running as an operator runs it.
type brokerProcess struct {
	t       testing.TB
	binary  string
	config  string
	name    string // the broker's name, the label of its containers
	url     string
	cmd     *exec.Cmd
	log     *bytes.Buffer
	dataDir string
}

// seedServices is the catalog of testdata/services.json: the seed's three services.
func seedServices(t testing.TB) []byte {
	t.Helper()
	services, err := os.ReadFile("testdata/services.json")
	if err != nil {
		t.Fatal(err)
	}
	return services
}

// freePort is a TCP port of 127.0.0.1 that nothing listens on.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startBrokerProcess runs the broker with the catalog services (the JSON `services` array) on
// the test binary's dockerd, with the redis stand-in loaded; configure, when given, adjusts
// its config file's keys.
func startBrokerProcess(t testing.TB, services []byte, configure ...func(cfg map[string]any)) *brokerProcess {
	t.Helper()
	d := testenv.Docker(t)
	d.Standin(t, standin.Redis)
	return runBrokerProcess(t, d.Socket, "30000-31999", services, func(name string) {
		containers, _ := d.Engine.ListContainers(context.Background(), map[string]string{"docker-broker.broker": name})
		for _, c := range containers {
			_ = d.Engine.RemoveContainer(context.Background(), c.ID)
		}
	}, configure...)
}

// runBrokerProcess runs the broker with the catalog services on the engine at socket, allocating
// host ports from portRange; when t ends it stops the broker and calls removeContainers (may be
// nil) with the broker's name.
func runBrokerProcess(t testing.TB, socket, portRange string, services []byte, removeContainers func(name string), configure ...func(cfg map[string]any)) *brokerProcess {
	t.Helper()
	binary, err := testenv.Binary("docker-broker")
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	dir := t.TempDir()
	cfg := map[string]any{
		"name": "fault-" + strconv.Itoa(port), "address": "127.0.0.1", "port": port,
		"username": "broker", "password": "fault-test-password",
		"docker_socket": socket, "external_host": "127.0.0.1", "bind_ip": "127.0.0.1",
		"port_range": portRange, "data_dir": filepath.Join(dir, "instances"), "state_file": filepath.Join(dir, "state.db"),
		"stop_grace": "5s", "services": json.RawMessage(services),
	}
	for _, c := range configure {
		c(cfg)
	}
	data, _ := json.Marshal(cfg)
	configPath := filepath.Join(dir, "broker.json")
	if err := os.WriteFile(configPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &brokerProcess{t: t, binary: binary, config: configPath, name: cfg["name"].(string), url: "http://127.0.0.1:" + strconv.Itoa(port), log: &bytes.Buffer{}, dataDir: cfg["data_dir"].(string)}
	p.start()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM)
		if removeContainers != nil {
			removeContainers(p.name)
		}
	})
	return p
}

func (p *brokerProcess) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.binary, "run", p.config)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if status, _ := p.request("GET", "/v2/catalog", nil); status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("docker-broker does not answer:\n%s", p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *brokerProcess) stop(sig syscall.Signal) {
	if p.cmd == nil || p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	_ = p.cmd.Wait()
}

func (p *brokerProcess) request(method, path string, body any) (int, []byte) {
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, p.url+path, r)
	req.SetBasicAuth("broker", "fault-test-password")
	req.Header.Set("X-Broker-API-Version", "2.17")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// TestBrokerKilledDuringProvisionEndsTheOperation kills the broker (SIGKILL) at two points of
// a provision and restarts it: last_operation must end (succeeded or failed), and no container
// or directory may be left without a record.
func TestBrokerKilledDuringProvisionEndsTheOperation(t *testing.T) {
	p := startBrokerProcess(t, seedServices(t))
	d := testenv.Docker(t)
	for i, killWhen := range []string{"right after the 202", "once the container exists"} {
		id := fmt.Sprintf("killed-%d", i)
		status, body := p.request("PUT", "/v2/service_instances/"+id+"?accepts_incomplete=true", map[string]any{
			"service_id": redisService, "plan_id": redisFree, "organization_guid": "o", "space_guid": "s"})
		if status != http.StatusAccepted {
			t.Fatalf("provision: %d %s", status, body)
		}
		if i == 1 {
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := d.Engine.InspectContainer(context.Background(), "cf-"+id); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the container never appeared")
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		p.stop(syscall.SIGKILL)
		p.start()

		deadline := time.Now().Add(2 * time.Minute)
		var op struct{ State, Description string }
		for {
			status, body := p.request("GET", "/v2/service_instances/"+id+"/last_operation", nil)
			if status != http.StatusOK || json.Unmarshal(body, &op) != nil {
				t.Fatalf("%s: last_operation %d %s", killWhen, status, body)
			}
			if op.State != "in progress" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the operation is stuck in progress\n%s", killWhen, p.log)
			}
			time.Sleep(200 * time.Millisecond)
		}
		_, containerErr := d.Engine.InspectContainer(context.Background(), "cf-"+id)
		_, dirErr := os.Stat(filepath.Join(p.dataDir, "cf-"+id))
		switch op.State {
		case "succeeded":
			if containerErr != nil || dirErr != nil {
				t.Errorf("%s: succeeded, but container (%v) or directory (%v) missing", killWhen, containerErr, dirErr)
			}
		case "failed":
			if containerErr == nil || dirErr == nil {
				t.Errorf("%s: failed (%s), but the container or the directory is left behind", killWhen, op.Description)
			}
		default:
			t.Errorf("%s: state %q", killWhen, op.State)
		}
		status, body = p.request("GET", "/admin/reconciliation", nil)
		var report struct {
			ContainersWithoutRecord  []string `json:"containers_without_record"`
			DirectoriesWithoutRecord []string `json:"directories_without_record"`
			ResumedOperations        []string `json:"resumed_operations"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &report) != nil {
			t.Fatalf("reconciliation: %d %s", status, body)
		}
		if len(report.ContainersWithoutRecord)+len(report.DirectoriesWithoutRecord) > 0 {
			t.Errorf("%s: orphans after the restart: %s", killWhen, body)
		}
		if op.State == "succeeded" && !strings.Contains(string(body), id) && !strings.Contains(p.log.String(), `"msg":"provisioned","instance_id":"`+id) {
			t.Errorf("%s: neither resumed nor finished before the kill: %s", killWhen, body)
		}
		t.Logf("%s: %s; reconciliation %s", killWhen, op.State, body)
	}
}

// TestCheckConfigNamesTheField runs check-config as an operator (and the BOSH rendering tests) do.
func TestCheckConfigNamesTheField(t *testing.T) {
	binary, err := testenv.Binary("docker-broker")
	if err != nil {
		t.Fatal(err)
	}
	bad := writeFile(t, "bad.json", `{"username": "u", "password": "long-enough", "external_host": "h",
		"services": [{"id": "s", "name": "svc", "description": "d", "plans": [{"id": "p", "name": "free", "description": "d",
		"container": {"backend": "docker", "image": "redis", "restart": "sometimes"}}]}]}`)
	out, err := exec.Command(binary, "check-config", bad).CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 || !strings.Contains(string(out), "services[0].plans[0].container.restart") {
		t.Errorf("check-config on a bad restart policy: %v\n%s", err, out)
	}
	good := writeFile(t, "good.json", `{"username": "u", "password": "long-enough", "external_host": "h", "services": []}`)
	if out, err := exec.Command(binary, "check-config", good).CombinedOutput(); err != nil {
		t.Errorf("check-config on a good config: %v\n%s", err, out)
	}
}
