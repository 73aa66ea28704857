// local-run is the local run of the README (`scripts/run`): the docker instance of
// manifests/docker-broker.yml, deployed onto this machine as BOSH would deploy it onto a VM.
// It interpolates the manifest with operators/disable-remote-docker-access.yml, every services
// ops file (services/op-*.yml) and operators/local-run.yml (loopback addresses, the sandbox
// directory, a bridge of its own, the stand-in images preloaded), keeps the generated variables
// in STATE_DIR/creds.yml as `bosh deploy --vars-store` does, renders the jobs' templates into
// the sandbox STATE_DIR (its jobs/, packages/, store/, sys/), and starts them as bpm would, each
// followed by its post-start. The host's docker.io binaries stand in for the docker package;
// the docker-broker package's binaries are expected in STATE_DIR/packages/docker-broker/bin
// (scripts/run builds them). A development tool, not part of the release.
//
//	local-run STATE_DIR    run until SIGINT or SIGTERM, then stop the jobs (containers keep running)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

// The local run's settings, passed to operators/local-run.yml.
const (
	bridge     = "dbrlocal0"
	bridgeCIDR = "10.230.0.1/24"
	brokerPort = 8080
)

// dockerBinaries are the docker package's programs, taken from the host's docker.io.
var dockerBinaries = []string{"dockerd", "docker-proxy", "docker-init", "containerd", "containerd-shim-runc-v2", "runc", "docker"}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: local-run STATE_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "local-run:", err)
		os.Exit(1)
	}
}

func run(stateDir string) error {
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	images, err := standinImages(ctx, log)
	if err != nil {
		return err
	}
	sandbox, err := boshrelease.NewSandbox(dir)
	if err != nil {
		return err
	}
	if err := linkDockerPackage(sandbox); err != nil {
		return err
	}
	store, err := boshrelease.OpenVarsStore(filepath.Join(dir, "creds.yml"))
	if err != nil {
		return err
	}
	jobs, err := deploy(sandbox, store, images)
	if err != nil {
		return err
	}

	procs, err := sandbox.StartJobs(jobs, os.Stderr)
	if err != nil {
		return err
	}
	defer func() {
		if err := boshrelease.StopProcesses(procs); err != nil {
			log.Error("stopping the jobs", "error", err.Error())
		}
	}()
	if err := waitForImages(ctx, sandbox); err != nil {
		return err
	}
	password, _ := store.Value("docker-broker-password")
	printWelcome(sandbox, fmt.Sprint(password))

	exited := make(chan *boshrelease.Process, len(procs))
	for _, p := range procs {
		go func() { <-p.Exited(); exited <- p }()
	}
	select {
	case <-ctx.Done():
		return nil
	case p := <-exited:
		return fmt.Errorf("%s/%s exited (%v):\n%s", p.Job, p.Name, p.Err(), sandbox.JobLogs(p.Job))
	}
}

// standinImages builds the stand-in service images (a few minutes, the first time on a machine)
// and returns the directory of their archives, which the docker job preloads.
func standinImages(ctx context.Context, log *slog.Logger) (string, error) {
	fmt.Fprintln(os.Stderr, "Preparing (the first run builds the stand-in service images: a few minutes)...")
	for _, recipe := range standin.All() {
		if _, err := recipe.Archive(ctx, log); err != nil {
			return "", fmt.Errorf("stand-in image %s: %w", recipe.Name, err)
		}
	}
	return standin.CacheDir()
}

// linkDockerPackage makes the sandbox's packages/docker/bin point at the host's docker.io
// binaries: the docker package of a VM, laid out as its packaging script lays it out.
func linkDockerPackage(sandbox boshrelease.Sandbox) error {
	bin := sandbox.Path("packages", "docker", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	for _, name := range dockerBinaries {
		path, err := exec.LookPath(name)
		if err != nil {
			return fmt.Errorf("%s: install docker.io (apt-get install docker.io)", err)
		}
		link := filepath.Join(bin, name)
		if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Symlink(path, link); err != nil {
			return err
		}
	}
	return nil
}

// deploy interpolates the manifest for this machine and renders the docker instance's jobs
// into the sandbox (afresh: a template removed from a job must not leave its old output).
func deploy(sandbox boshrelease.Sandbox, store *boshrelease.VarsStore, images string) ([]string, error) {
	ops, err := filepath.Glob("services/op-*.yml")
	if err != nil || len(ops) == 0 {
		return nil, errors.New("no services ops files in services/ (run from the repository root)")
	}
	ops = append([]string{"operators/disable-remote-docker-access.yml"}, append(ops, "operators/local-run.yml")...)
	m, err := boshrelease.Interpolation{
		ManifestPath: "manifests/docker-broker.yml",
		OpsFiles:     ops,
		Vars: map[string]any{
			"sandbox-dir": sandbox.Root, "images-dir": images,
			"bridge": bridge, "bridge-cidr": bridgeCIDR, "broker-port": brokerPort,
		},
		VarsStore: store,
	}.Manifest()
	if err != nil {
		return nil, err
	}
	jobs, err := boshrelease.LoadJobs(".")
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(sandbox.Path("jobs")); err != nil {
		return nil, err
	}
	renderer, err := boshrelease.NewRenderer()
	if err != nil {
		return nil, err
	}
	defer renderer.Close()
	d := boshrelease.Deployment{Manifest: m, Release: "docker-broker", Jobs: jobs, Address: func(string, int) string { return "127.0.0.1" }}
	return d.Render(renderer, "docker", 0, sandbox.Path("jobs"))
}

// waitForImages waits until the docker job has preloaded every stand-in image: until then a
// provision would find no image.
func waitForImages(ctx context.Context, sandbox boshrelease.Sandbox) error {
	engine, err := dockerengine.New(sandbox.Path("sys", "run", "docker", "docker.sock"))
	if err != nil {
		return err
	}
	defer engine.Close()
	for _, recipe := range standin.All() {
		for {
			ok, err := engine.ImageExists(ctx, recipe.Tags[0])
			if err == nil && ok {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func printWelcome(sandbox boshrelease.Sandbox, password string) {
	url := fmt.Sprintf("http://127.0.0.1:%d", brokerPort)
	auth := "broker:" + password
	fmt.Printf(`
docker-broker is up: %[1]s
  username:  broker
  password:  %[2]s
  engine:    export DOCKER_HOST=unix://%[3]s
  logs:      %[4]s/  %[5]s/
  configs:   %[6]s/

Try it (redis32, plan free):
  curl -s -u %[7]s -H 'X-Broker-API-Version: 2.17' %[1]s/v2/catalog
  curl -s -u %[7]s -H 'X-Broker-API-Version: 2.17' -X PUT \
    '%[1]s/v2/service_instances/redis1?accepts_incomplete=true' -d '{"service_id":"0fdcc9c0-14f5-11e7-9d8c-cfde16aa4822","plan_id":"13d21792-14f5-11e7-81cd-4357fa4eeda9","organization_guid":"org","space_guid":"space"}'
  curl -s -u %[7]s -H 'X-Broker-API-Version: 2.17' %[1]s/v2/service_instances/redis1/last_operation
  curl -s -u %[7]s -H 'X-Broker-API-Version: 2.17' -X PUT \
    %[1]s/v2/service_instances/redis1/service_bindings/key1 -d '{"service_id":"0fdcc9c0-14f5-11e7-9d8c-cfde16aa4822","plan_id":"13d21792-14f5-11e7-81cd-4357fa4eeda9"}'

Ctrl-C stops the broker and dockerd (the containers keep running: live-restore).
`, url, password, sandbox.Path("sys", "run", "docker", "docker.sock"),
		sandbox.Path("sys", "log", "docker"), sandbox.Path("sys", "log", "docker-broker"), sandbox.Path("jobs"), auth)
}
