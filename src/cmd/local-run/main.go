// local-run prepares the local run of the README (`make run`): it builds the stand-in service
// images (no image registry is reachable here), and writes the configs of docker-supervisor and
// docker-broker into a state directory, the broker's catalog taken from the services ops files
// (services/op-*.yml) as BOSH would take them. A development tool, not part of the release.
//
//	local-run DIR    prepare DIR and print the settings the run script needs (KEY=VALUE lines)
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cloudfoundry-community/docker-broker/src/internal/credentials"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

// servicesPath is where the services ops files add their offerings.
const servicesPath = "/instance_groups/name=docker/jobs/name=docker-broker/properties/services/-"

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: local-run STATE_DIR")
		os.Exit(2)
	}
	if err := prepare(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "local-run:", err)
		os.Exit(1)
	}
}

func prepare(dir string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	for _, recipe := range standin.All() {
		if _, err := recipe.Archive(context.Background(), log); err != nil {
			return fmt.Errorf("stand-in image %s: %w", recipe.Name, err)
		}
	}
	images, err := standin.CacheDir()
	if err != nil {
		return err
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		dockerd = "/usr/sbin/dockerd"
	}
	socket := filepath.Join(dir, "docker.sock")
	supervisor := map[string]any{
		"dockerd":   dockerd,
		"data_root": filepath.Join(dir, "docker", "data"),
		"exec_root": filepath.Join(dir, "docker", "exec"),
		"pidfile":   filepath.Join(dir, "docker", "docker.pid"),
		"socket":    socket,
		"log_file":  filepath.Join(dir, "dockerd.log"),
		// Its own bridge and no iptables: the local run coexists with the tests' engines.
		"bridge":      "dbrlocal0",
		"bridge_cidr": "10.230.0.1/24",
		"iptables":    false,
		"ip_masq":     false,
		"images":      map[string]any{"preload_dir": images},
	}
	services, err := servicesFromOpsFiles("services")
	if err != nil {
		return err
	}
	password, err := keptSecret(filepath.Join(dir, "broker-password"))
	if err != nil {
		return err
	}
	broker := map[string]any{
		"name":          "docker-broker",
		"address":       "127.0.0.1",
		"port":          8080,
		"username":      "broker",
		"password":      password,
		"docker_socket": socket,
		"external_host": "127.0.0.1",
		"bind_ip":       "127.0.0.1",
		"data_dir":      filepath.Join(dir, "broker", "instances"),
		"state_file":    filepath.Join(dir, "broker", "state.db"),
		"services":      services,
	}
	for name, cfg := range map[string]any{"supervisor.json": supervisor, "broker.json": broker} {
		data, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	fmt.Printf("SOCKET=%s\nBROKER_URL=http://127.0.0.1:8080\nBROKER_USERNAME=broker\nBROKER_PASSWORD=%s\n", socket, password)
	return nil
}

// variable matches a BOSH variable, ((name)).
var variable = regexp.MustCompile(`\(\(([A-Za-z0-9_.-]+)\)\)`)

// servicesFromOpsFiles collects the offerings the ops files in dir add to the broker's
// services. Their BOSH variables (dashboard client secrets) get random values.
func servicesFromOpsFiles(dir string) ([]any, error) {
	files, err := filepath.Glob(filepath.Join(dir, "op-*.yml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no services ops files in %s/ (run from the repository root)", dir)
	}
	var services []any
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		text = variable.ReplaceAllFunc(text, func([]byte) []byte { return []byte(credentials.Random(20)) })
		var ops []struct {
			Type  string `yaml:"type"`
			Path  string `yaml:"path"`
			Value any    `yaml:"value"`
		}
		if err := yaml.Unmarshal(text, &ops); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		for _, op := range ops {
			if op.Type == "replace" && strings.TrimSpace(op.Path) == servicesPath {
				services = append(services, op.Value)
			}
		}
	}
	return services, nil
}

// keptSecret returns the secret stored at path, creating it on first use, so that the broker's
// password stays the same from one local run to the next.
func keptSecret(path string) (string, error) {
	if data, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(data)), nil
	}
	secret := credentials.Random(24)
	return secret, os.WriteFile(path, []byte(secret+"\n"), 0o600)
}
