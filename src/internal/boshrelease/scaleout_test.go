package boshrelease_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
)

// renderScaleOut renders every VM of the docker instance group with operators/scale-out.yml and
// the given swarm.managers, and returns each VM's rendered directory.
func renderScaleOut(t *testing.T, managers int) ([]string, []boshrelease.Instance, error) {
	t.Helper()
	managersOps := filepath.Join(t.TempDir(), "managers.yml")
	ops := fmt.Sprintf("- type: replace\n  path: /instance_groups/name=docker/jobs/name=docker/properties/swarm/managers\n  value: %d\n", managers)
	if err := os.WriteFile(managersOps, []byte(ops), 0o644); err != nil {
		t.Fatal(err)
	}
	in := composition{"", []string{"operators/scale-out.yml"}}.interpolation(t)
	in.OpsFiles = append(in.OpsFiles, managersOps)
	m, err := in.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := boshrelease.LoadJobs(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	d := boshrelease.Deployment{Manifest: m, Release: release, Jobs: jobs}
	instances, err := d.Instances("docker")
	if err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t)
	var dirs []string
	for i := range instances {
		dst := t.TempDir()
		if _, err := d.Render(r, "docker", i, dst); err != nil {
			return nil, nil, err
		}
		dirs = append(dirs, dst)
	}
	return dirs, instances, nil
}

func TestScaleOutMakesTheDockerVMsOneSwarm(t *testing.T) {
	for _, managers := range []int{1, 3} {
		dirs, instances, err := renderScaleOut(t, managers)
		if err != nil {
			t.Fatal(err)
		}
		if len(instances) != operatorVars["docker-nodes"] {
			t.Fatalf("%d docker VMs, want docker-nodes %v", len(instances), operatorVars["docker-nodes"])
		}
		var wantManagers []any
		for _, in := range instances[:managers] {
			wantManagers = append(wantManagers, in.Address+":4243")
		}
		for i, dst := range dirs {
			config := filepath.Join(dst, "docker/config/supervisor.json")
			var supervisor struct {
				Swarm map[string]any `json:"swarm"`
			}
			readJSON(t, config, &supervisor)
			s := supervisor.Swarm
			if s["enabled"] != true || s["advertise_address"] != instances[i].IP || s["manager"] != (i < managers) || s["bootstrap"] != (i == 0) {
				t.Errorf("%d managers, VM %d: swarm = %v; want it on, advertising %s, manager %v, bootstrap %v", managers, i, s, instances[i].IP, i < managers, i == 0)
			}
			if got, _ := s["managers"].([]any); !slices.Equal(got, wantManagers) {
				t.Errorf("%d managers, VM %d: swarm.managers = %v, want %v", managers, i, got, wantManagers)
			}
			if out, err := exec.Command(binary(t, "docker-supervisor"), "check-config", config).CombinedOutput(); err != nil {
				t.Errorf("VM %d: check-config: %v\n%s", i, err, out)
			}
			if i == 0 {
				checkBrokerOnTheSwarm(t, dst, instances)
			}
			// One broker, on the bootstrap VM: the others render no process and no-op scripts.
			monit, _ := os.ReadFile(filepath.Join(dst, "docker-broker/monit"))
			if hasProcess := strings.Contains(string(monit), "check process docker-broker"); hasProcess != (i == 0) {
				t.Errorf("VM %d: docker-broker's monit runs the broker: %v, want %v", i, hasProcess, i == 0)
			}
			backup, _ := os.ReadFile(filepath.Join(dst, "docker-broker/bin/bbr/backup"))
			if skips := strings.Contains(string(backup), "exit 0 # bootstrap_only"); skips != (i != 0) {
				t.Errorf("VM %d: bbr-backup skips: %v, want %v", i, skips, i != 0)
			}
		}
	}
}

func TestScaleOutRefusesAnEvenNumberOfManagers(t *testing.T) {
	_, _, err := renderScaleOut(t, 2)
	if err == nil || !strings.Contains(err.Error(), "swarm.managers must be 1 or 3") {
		t.Fatalf("swarm.managers 2: %v, want the template to refuse it", err)
	}
}

// checkBrokerOnTheSwarm checks the broker's config on the bootstrap VM rendered in dst: on the
// swarm, with every docker VM's Engine API and the TLS files to reach them.
func checkBrokerOnTheSwarm(t *testing.T, dst string, instances []boshrelease.Instance) {
	t.Helper()
	config := filepath.Join(dst, "docker-broker/config/broker.json")
	var broker struct {
		Swarm struct {
			Enabled bool     `json:"enabled"`
			Nodes   []string `json:"nodes"`
			TLS     struct {
				CACert string `json:"ca_cert"`
				Cert   string `json:"cert"`
				Key    string `json:"key"`
			} `json:"tls"`
		} `json:"swarm"`
	}
	readJSON(t, config, &broker)
	var wantNodes []string
	for _, in := range instances {
		wantNodes = append(wantNodes, in.Address+":4243")
	}
	if !broker.Swarm.Enabled || !slices.Equal(broker.Swarm.Nodes, wantNodes) {
		t.Errorf("broker's swarm: enabled %v, nodes %v; want on with every docker VM %v", broker.Swarm.Enabled, broker.Swarm.Nodes, wantNodes)
	}
	for _, f := range []struct{ path, pem string }{{broker.Swarm.TLS.CACert, "CERTIFICATE"}, {broker.Swarm.TLS.Cert, "CERTIFICATE"}, {broker.Swarm.TLS.Key, "PRIVATE KEY"}} {
		rendered := filepath.Join(dst, "docker-broker/config", filepath.Base(f.path))
		if body, err := os.ReadFile(rendered); err != nil || !strings.Contains(string(body), f.pem) {
			t.Errorf("%s: %v; want a PEM %s", rendered, err, f.pem)
		}
	}
}
