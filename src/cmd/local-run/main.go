// local-run is the local run of the README (`scripts/run`): the docker instance of
// manifests/docker-broker.yml, deployed onto this machine as BOSH would deploy it onto a VM.
// It interpolates the manifest with operators/disable-remote-docker-access.yml, the services ops
// files of the offerings asked for (services/op-<offering>.yml; the seed's three by default) and
// operators/local-run.yml (loopback addresses, the sandbox directory, a bridge of its own, the
// stand-in images of those offerings preloaded), keeps the generated variables
// in STATE_DIR/creds.yml as `bosh deploy --vars-store` does, renders the jobs' templates into
// the sandbox STATE_DIR (its jobs/, packages/, store/, sys/), and starts them as bpm would, each
// followed by its post-start. The host's docker.io binaries stand in for the docker package;
// the docker-broker package's binaries are expected in STATE_DIR/packages/docker-broker/bin
// (scripts/run builds them). A development tool, not part of the release.
//
//	local-run STATE_DIR [OFFERING...]    run until SIGINT or SIGTERM, then stop the jobs (containers keep running)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

// The local run's settings, passed to operators/local-run.yml.
const (
	bridge     = "dbrlocal0"
	bridgeCIDR = "10.230.0.1/24"
	brokerPort = 8080
)

// seedOfferings are the offerings the local run serves when none are named: the seed README's.
var seedOfferings = []string{"postgresql96", "mysql56", "redis32"}

// dockerBinaries are the docker package's programs, taken from the host's docker.io.
var dockerBinaries = []string{"dockerd", "docker-proxy", "docker-init", "containerd", "containerd-shim-runc-v2", "runc", "docker"}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: local-run STATE_DIR [OFFERING...]   (OFFERING: services/op-OFFERING.yml; default: "+strings.Join(seedOfferings, " ")+")")
		os.Exit(2)
	}
	offerings := os.Args[2:]
	if len(offerings) == 0 {
		offerings = seedOfferings
	}
	if err := run(os.Args[1], offerings); err != nil {
		fmt.Fprintln(os.Stderr, "local-run:", err)
		os.Exit(1)
	}
}

func run(stateDir string, offerings []string) error {
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	opsFiles, err := servicesFiles(offerings)
	if err != nil {
		return err
	}
	images, err := standin.CacheDir()
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
	m, jobs, err := deploy(sandbox, store, images, opsFiles)
	if err != nil {
		return err
	}
	services, err := servicesOf(m)
	if err != nil {
		return err
	}
	recipes, err := standinImages(ctx, log, services)
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
	if err := waitForImages(ctx, sandbox, recipes); err != nil {
		return err
	}
	password, _ := store.Value("docker-broker-password")
	dashboardPassword, _ := store.Value("docker-broker-dashboard-password")
	printWelcome(sandbox, fmt.Sprint(password), fmt.Sprint(dashboardPassword), services)

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

// servicesFiles are the services ops files of the offerings, which must exist.
func servicesFiles(offerings []string) ([]string, error) {
	var files []string
	for _, name := range offerings {
		file := filepath.Join("services", "op-"+name+".yml")
		if _, err := os.Stat(file); err != nil {
			available, _ := filepath.Glob("services/op-*.yml")
			for i, f := range available {
				available[i] = strings.TrimSuffix(strings.TrimPrefix(f, "services/op-"), ".yml")
			}
			return nil, fmt.Errorf("no offering %q (no %s; run from the repository root); there are: %s", name, file, strings.Join(available, " "))
		}
		files = append(files, file)
	}
	return files, nil
}

// servicesOf is the catalog the manifest gives the docker-broker job.
func servicesOf(m boshrelease.Manifest) (*catalog.Catalog, error) {
	docker, _ := m.InstanceGroup("docker")
	job, _ := docker.Job("docker-broker")
	raw, err := json.Marshal(job.Properties["services"])
	if err != nil {
		return nil, err
	}
	c, _, err := catalog.Parse(raw)
	return c, err
}

// standinImages builds the stand-in images of the offerings' plans (together, on a shared
// base: the first time on a machine a few minutes, a minute or two more for each engine) into
// the directory of archives the docker job preloads, and returns their recipes. An image
// without a stand-in is named: provisions of its plans fail here.
func standinImages(ctx context.Context, log *slog.Logger, services *catalog.Catalog) ([]standin.Recipe, error) {
	var recipes []standin.Recipe
	for _, service := range services.Services {
		for _, plan := range service.Plans {
			ref := plan.Container.ImageRef()
			recipe, ok := standin.For(ref)
			switch {
			case !ok:
				fmt.Fprintf(os.Stderr, "No stand-in image for %s (service %s): its instances cannot start here.\n", ref, service.Name)
			case !slices.ContainsFunc(recipes, func(r standin.Recipe) bool { return r.Name == recipe.Name }):
				recipes = append(recipes, recipe)
			}
		}
	}
	fmt.Fprintln(os.Stderr, "Preparing the stand-in service images (the first run on a machine builds them: a few minutes)...")
	if _, err := standin.Archives(ctx, recipes, 0, log); err != nil {
		return nil, err
	}
	return recipes, nil
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

// deploy interpolates the manifest for this machine with the services ops files and renders the
// docker instance's jobs into the sandbox (afresh: a template removed from a job must not leave
// its old output).
func deploy(sandbox boshrelease.Sandbox, store *boshrelease.VarsStore, images string, servicesFiles []string) (boshrelease.Manifest, []string, error) {
	ops := append([]string{"operators/disable-remote-docker-access.yml"}, append(servicesFiles, "operators/local-run.yml")...)
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
		return m, nil, err
	}
	jobs, err := boshrelease.LoadJobs(".")
	if err != nil {
		return m, nil, err
	}
	if err := os.RemoveAll(sandbox.Path("jobs")); err != nil {
		return m, nil, err
	}
	renderer, err := boshrelease.NewRenderer()
	if err != nil {
		return m, nil, err
	}
	defer renderer.Close()
	d := boshrelease.Deployment{Manifest: m, Release: "docker-broker", Jobs: jobs, Address: func(string, int) string { return "127.0.0.1" }}
	rendered, err := d.Render(renderer, "docker", 0, sandbox.Path("jobs"))
	return m, rendered, err
}

// waitForImages waits until the docker job has preloaded the stand-in images of recipes: until
// then a provision would find no image.
func waitForImages(ctx context.Context, sandbox boshrelease.Sandbox, recipes []standin.Recipe) error {
	engine, err := dockerengine.New(sandbox.Path("sys", "run", "docker", "docker.sock"))
	if err != nil {
		return err
	}
	defer engine.Close()
	for _, recipe := range recipes {
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

// printWelcome tells how to reach the broker, with requests for the first offering's first plan.
func printWelcome(sandbox boshrelease.Sandbox, password, dashboardPassword string, services *catalog.Catalog) {
	url := fmt.Sprintf("http://127.0.0.1:%d", brokerPort)
	auth := "broker:" + password
	service := services.Services[0]
	plan := service.Plans[0]
	fmt.Printf(`
docker-broker is up: %[1]s
  username:  broker
  password:  %[2]s
  engine:    export DOCKER_HOST=unix://%[3]s
  logs:      %[4]s/  %[5]s/
  configs:   %[6]s/

Try it (%[8]s, plan %[9]s):
  curl -s -u %[7]s -H 'X-Broker-API-Version: 2.17' %[1]s/v2/catalog
  curl -s -u %[7]s -H 'X-Broker-API-Version: 2.17' -X PUT \
    '%[1]s/v2/service_instances/i1?accepts_incomplete=true' -d '{"service_id":"%[10]s","plan_id":"%[11]s","organization_guid":"org","space_guid":"space"}'
  curl -s -u %[7]s -H 'X-Broker-API-Version: 2.17' %[1]s/v2/service_instances/i1/last_operation
  curl -s -u %[7]s -H 'X-Broker-API-Version: 2.17' -X PUT \
    %[1]s/v2/service_instances/i1/service_bindings/key1 -d '{"service_id":"%[10]s","plan_id":"%[11]s"}'
  curl -s -u %[7]s %[1]s/metrics | grep '^docker_broker_'

The operator's dashboard: %[1]s/dashboard (user operator, password %[12]s)

Ctrl-C stops the broker and dockerd (the containers keep running: live-restore).
`, url, password, sandbox.Path("sys", "run", "docker", "docker.sock"),
		sandbox.Path("sys", "log", "docker"), sandbox.Path("sys", "log", "docker-broker"), sandbox.Path("jobs"), auth,
		service.Name, plan.Name, service.ID, plan.ID, dashboardPassword)
}
