package boshrelease_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

const release = "docker-broker"

func TestJobSpecsAreComplete(t *testing.T) {
	root := repoRoot(t)
	jobs, err := boshrelease.LoadJobs(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, job := range jobs {
		t.Run(name, func(t *testing.T) {
			spec := job.Spec
			if strings.TrimSpace(spec.Description) == "" {
				t.Error("the spec has no description")
			}
			for _, p := range spec.PropertyNames() {
				if strings.TrimSpace(spec.Properties[p].Description) == "" {
					t.Errorf("property %s has no description", p)
				}
			}
			listed := map[string]bool{}
			for src := range spec.Templates {
				listed[src] = true
				if _, err := os.Stat(filepath.Join(job.Dir, "templates", src)); err != nil {
					t.Errorf("template %s: %v", src, err)
				}
			}
			files, _ := os.ReadDir(filepath.Join(job.Dir, "templates"))
			for _, f := range files {
				if !listed[f.Name()] {
					t.Errorf("templates/%s is not in the spec's templates: it would never be rendered", f.Name())
				}
			}
			if _, err := os.Stat(filepath.Join(job.Dir, "monit")); err != nil {
				t.Error(err)
			}
			for _, pkg := range spec.Packages {
				if _, err := os.Stat(filepath.Join(root, "packages", pkg, "spec")); err != nil {
					t.Errorf("package %s: %v", pkg, err)
				}
			}
			for _, p := range spec.Provides {
				for _, prop := range p.Properties {
					if _, ok := spec.Properties[prop]; !ok {
						t.Errorf("link %s carries property %s, which the spec does not declare", p.Name, prop)
					}
				}
			}
		})
	}
}

// probeJob writes a job into a temporary release directory whose only template is text.
func probeJob(t *testing.T, spec, template string) boshrelease.Job {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "jobs", "probe")
	if err := os.MkdirAll(filepath.Join(dir, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"spec": spec, "monit": "", "templates/out.erb": template}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	job, err := boshrelease.LoadJob(dir)
	if err != nil {
		t.Fatal(err)
	}
	return job
}

func TestTemplatesReadingUndeclaredPropertiesFail(t *testing.T) {
	r := newRenderer(t)
	spec := "name: probe\ntemplates: {out.erb: out}\nproperties:\n  tls.cert: {description: d}\n  port: {description: d, default: 8080}\n"
	for _, template := range []string{
		"<%= p('undeclared') %>",
		"<%= p('undeclared', 'a default') %>",
		"<% if_p('undeclared') do |v| %><%= v %><% end %>",
		"<%= p(['port', 'undeclared']) %>",
	} {
		err := r.RenderJob(probeJob(t, spec, template), boshrelease.TemplateContext{}, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "'undeclared'") || !strings.Contains(err.Error(), "does not declare") {
			t.Errorf("%s: rendered, or failed without naming the undeclared property: %v", template, err)
		}
	}
	// Declared properties, and a parent of declared ones, render.
	dst := t.TempDir()
	err := r.RenderJob(probeJob(t, spec, "<%= p('port') %> <%= p('tls', {}).keys.join %>"), boshrelease.TemplateContext{}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := os.ReadFile(filepath.Join(dst, "out")); string(out) != "8080 cert" {
		t.Errorf("rendered %q, want %q", out, "8080 cert")
	}
}

func TestTemplatesSeeLinksAsADirectorGivesThem(t *testing.T) {
	r := newRenderer(t)
	job := probeJob(t, "name: probe\ntemplates: {out.erb: out}\nconsumes:\n- {name: servicebroker, type: servicebroker}\n",
		`<%= JSON.dump({"props" => link("servicebroker").properties, "address" => link("servicebroker").instances.map(&:address),
  "password" => link("servicebroker").p("password"), "missing" => link("servicebroker").p("nope", "default"),
  "other" => (if_link("other") { "linked" }; "absent")}) %>`)

	m, err := composition{"seed", seedServices}.interpolation(t).Manifest()
	if err != nil {
		t.Fatal(err)
	}
	m.InstanceGroups = append(m.InstanceGroups, boshrelease.InstanceGroup{
		Name: "probe", Instances: 1, Networks: []boshrelease.Network{{Name: "default"}},
		Jobs: []boshrelease.ManifestJob{{Name: "probe", Release: release, Consumes: map[string]any{"servicebroker": map[string]any{"from": "servicebroker"}}}},
	})
	jobs, err := boshrelease.LoadJobs(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	jobs["probe"] = job
	d := boshrelease.Deployment{Manifest: m, Release: release, Jobs: jobs}
	dst := t.TempDir()
	if _, err := d.Render(r, "probe", 0, dst); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Props    map[string]any
		Address  []string
		Password string
		Missing  string
		Other    string
	}
	data, _ := os.ReadFile(filepath.Join(dst, "probe", "out"))
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	docker, _ := d.Instances("docker")
	docker0, _ := m.InstanceGroup("docker")
	brokerJob, _ := docker0.Job("docker-broker")
	if !slices.Equal(got.Address, []string{docker[0].Address}) {
		t.Errorf("link instances at %v, want the docker instance's address %s", got.Address, docker[0].Address)
	}
	want := map[string]any{"name": "docker-broker", "username": "broker", "password": brokerJob.Properties["password"], "port": 8080.0, "protocol": "http"}
	for k, v := range want {
		if got.Props[k] != v {
			t.Errorf("link property %s = %v, want %v", k, got.Props[k], v)
		}
	}
	if got.Password != want["password"] || got.Missing != "default" || got.Other != "absent" {
		t.Errorf("link p(): %q, default %q, if_link of a missing link %q", got.Password, got.Missing, got.Other)
	}
}

// TestEveryJobRendersAndPassesCheckConfig renders every job of this release on every instance
// group of every composition, checks the rendered bpm configs as bpm would, and gives every
// rendered config file to the program that reads it (`<program> check-config FILE`).
func TestEveryJobRendersAndPassesCheckConfig(t *testing.T) {
	root := repoRoot(t)
	jobs, err := boshrelease.LoadJobs(root)
	if err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t)
	checked := map[string]bool{} // job names whose configs a program checked
	for _, c := range compositions(t) {
		t.Run(c.name, func(t *testing.T) {
			m, err := c.interpolation(t).Manifest()
			if err != nil {
				t.Fatal(err)
			}
			d := boshrelease.Deployment{Manifest: m, Release: release, Jobs: jobs}
			for _, ig := range m.InstanceGroups {
				dst := t.TempDir()
				rendered, err := d.Render(r, ig.Name, 0, dst)
				if err != nil {
					t.Fatal(err)
				}
				for _, name := range rendered {
					mj, _ := ig.Job(name)
					for _, check := range checkConfig(t, jobs[name], mj, dst) {
						checked[name] = true
						out, err := exec.Command(binary(t, check.program), "check-config", check.config).CombinedOutput()
						if err != nil {
							t.Errorf("%s/%s: %s check-config %s: %v\n%s", ig.Name, name, check.program, filepath.Base(check.config), err, out)
						}
					}
				}
			}
		})
	}
	for name := range jobs {
		if !checked[name] {
			t.Errorf("job %s: no rendered config was checked (does a composition deploy it, and does it run `<program> VERB CONFIG.json`?)", name)
		}
	}
}

type configCheck struct{ program, config string }

// invocation finds `<root>/packages/docker-broker/bin/PROGRAM VERB <root>/jobs/JOB/config/FILE.json`.
var invocation = regexp.MustCompile(`(\S*)/packages/docker-broker/bin/([\w-]+)\s+[\w-]+\s+(\S*)/jobs/(\S+\.json)`)

// checkConfig validates the job's rendered bpm config and lists the config files its processes
// and scripts give to this release's programs, as paths in the rendered directory.
func checkConfig(t *testing.T, job boshrelease.Job, mj boshrelease.ManifestJob, rendered string) []configCheck {
	t.Helper()
	root, _ := job.Spec.Resolve(mj.Properties)["root_dir"].(string)
	if root == "" {
		root = "/var/vcap"
	}
	dir := filepath.Join(rendered, job.Spec.Name)
	var texts []string
	if cfg, err := boshrelease.LoadBPM(filepath.Join(dir, "config", "bpm.yml")); err == nil {
		if err := cfg.Validate(root, job.Spec.Name); err != nil {
			t.Errorf("%s: bpm.yml: %v", job.Spec.Name, err)
		}
		for _, p := range cfg.Processes {
			texts = append(texts, p.Executable+" "+strings.Join(p.Args, " "))
		}
	} else if !os.IsNotExist(err) {
		t.Errorf("%s: %v", job.Spec.Name, err)
	}
	scripts, _ := filepath.Glob(filepath.Join(dir, "bin", "*"))
	for _, s := range scripts {
		data, _ := os.ReadFile(s)
		texts = append(texts, strings.ReplaceAll(string(data), "\\\n", " "))
	}
	seen := map[configCheck]bool{}
	var checks []configCheck
	for _, text := range texts {
		for _, m := range invocation.FindAllStringSubmatch(text, -1) {
			check := configCheck{program: m[2], config: filepath.Join(rendered, m[4])}
			if !seen[check] {
				seen[check] = true
				checks = append(checks, check)
			}
		}
	}
	return checks
}

func binary(t *testing.T, name string) string {
	t.Helper()
	path, err := testenv.Binary(name)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func newRenderer(t *testing.T) *boshrelease.Renderer {
	t.Helper()
	r, err := boshrelease.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// renderDocker renders the docker instance group's jobs for composition c and returns the
// rendered directory, the instance and the interpolation (with its vars store).
func renderDocker(t *testing.T, c composition) (string, boshrelease.Instance, boshrelease.Interpolation) {
	t.Helper()
	in := c.interpolation(t)
	m, err := in.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := boshrelease.LoadJobs(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	d := boshrelease.Deployment{Manifest: m, Release: release, Jobs: jobs}
	dst := t.TempDir()
	if _, err := d.Render(newRenderer(t), "docker", 0, dst); err != nil {
		t.Fatal(err)
	}
	instances, _ := d.Instances("docker")
	return dst, instances[0], in
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestRenderedConfigsOfTheSeedDeployment(t *testing.T) {
	dst, instance, in := renderDocker(t, composition{"seed", seedServices})

	var supervisor map[string]any
	readJSON(t, filepath.Join(dst, "docker/config/supervisor.json"), &supervisor)
	for key, want := range map[string]any{
		"data_root": "/var/vcap/store/docker/docker", "socket": "/var/vcap/sys/run/docker/docker.sock",
		"socket_group": "vcap", "storage_driver": "overlay2", "live_restore": true,
		"dockerd": "/var/vcap/packages/docker/bin/dockerd",
	} {
		if supervisor[key] != want {
			t.Errorf("supervisor.json %s = %v, want %v", key, supervisor[key], want)
		}
	}
	tcp := supervisor["tcp"].(map[string]any)
	if tcp["address"] != "0.0.0.0" || tcp["port"] != 4243.0 || tcp["cert"] != "/var/vcap/jobs/docker/config/tls-cert.pem" {
		t.Errorf("supervisor.json tcp = %v, want 0.0.0.0:4243 with the rendered certificate", tcp)
	}
	server, _ := in.VarsStore.Certificate("docker-server-tls")
	for file, want := range map[string]string{"tls-ca.pem": server.CA, "tls-cert.pem": server.Certificate, "tls-key.pem": server.PrivateKey} {
		got, _ := os.ReadFile(filepath.Join(dst, "docker/config", file))
		if strings.TrimSpace(string(got)) != strings.TrimSpace(want) {
			t.Errorf("docker/config/%s does not hold docker-server-tls's PEM", file)
		}
	}

	var broker map[string]any
	readJSON(t, filepath.Join(dst, "docker-broker/config/broker.json"), &broker)
	password, _ := in.VarsStore.Value("docker-broker-password")
	for key, want := range map[string]any{
		"external_host": instance.Address, "password": password, "port": 8080.0,
		"docker_socket": supervisor["socket"], "state_file": "/var/vcap/store/docker-broker/state.db",
		"data_dir": "/var/vcap/store/docker-broker/instances",
	} {
		if broker[key] != want {
			t.Errorf("broker.json %s = %v, want %v", key, broker[key], want)
		}
	}
	if n := len(broker["services"].([]any)); n != 3 {
		t.Errorf("broker.json has %d services, want the 3 of the services ops files", n)
	}

	// The two jobs share the socket's directory: the docker job's run directory as bpm mounts
	// it into both (/var/vcap/sys is /var/vcap/data/sys on a stemcell).
	socketDir := strings.Replace(filepath.Dir(supervisor["socket"].(string)), "/var/vcap/sys/", "/var/vcap/data/sys/", 1)
	for _, job := range []string{"docker", "docker-broker"} {
		cfg, err := boshrelease.LoadBPM(filepath.Join(dst, job, "config/bpm.yml"))
		if err != nil {
			t.Fatal(err)
		}
		p := cfg.Processes[0]
		if !slices.ContainsFunc(p.AdditionalVolumes, func(v boshrelease.BPMVolume) bool { return v.Path == socketDir && v.Writable }) {
			t.Errorf("%s's bpm process does not mount %s writable: %+v", job, socketDir, p.AdditionalVolumes)
		}
		if !p.PersistentDisk || !p.Unsafe.Privileged {
			t.Errorf("%s's bpm process: persistent_disk %v, privileged %v; want both", job, p.PersistentDisk, p.Unsafe.Privileged)
		}
	}
}

func TestRenderedConfigsFollowTheOpsFiles(t *testing.T) {
	t.Run("disable-remote-docker-access", func(t *testing.T) {
		dst, _, _ := renderDocker(t, composition{"", []string{"operators/disable-remote-docker-access.yml"}})
		var supervisor map[string]any
		readJSON(t, filepath.Join(dst, "docker/config/supervisor.json"), &supervisor)
		if tcp := supervisor["tcp"].(map[string]any); len(tcp) != 0 {
			t.Errorf("tcp = %v, want none", tcp)
		}
		for _, file := range []string{"tls-ca.pem", "tls-cert.pem", "tls-key.pem"} {
			if data, _ := os.ReadFile(filepath.Join(dst, "docker/config", file)); strings.TrimSpace(string(data)) != "" {
				t.Errorf("docker/config/%s is not empty", file)
			}
		}
	})
	t.Run("external-host", func(t *testing.T) {
		dst, _, _ := renderDocker(t, composition{"", []string{"operators/external-host.yml"}})
		var broker map[string]any
		readJSON(t, filepath.Join(dst, "docker-broker/config/broker.json"), &broker)
		if broker["external_host"] != operatorVars["broker-external-host"] {
			t.Errorf("external_host = %v, want %v", broker["external_host"], operatorVars["broker-external-host"])
		}
	})
	t.Run("broker-tls", func(t *testing.T) {
		// The broker serves the certificate; the errands, given the link, register the https://
		// URL and trust the CA.
		c := composition{"", []string{"operators/cf-integration.yml", "operators/broker-tls.yml", "operators/static-ip.yml"}}
		dst, _, in := renderDocker(t, c)
		var broker map[string]any
		readJSON(t, filepath.Join(dst, "docker-broker/config/broker.json"), &broker)
		tls := broker["tls"].(map[string]any)
		if tls["cert"] != "/var/vcap/jobs/docker-broker/config/tls-cert.pem" || tls["key"] != "/var/vcap/jobs/docker-broker/config/tls-key.pem" {
			t.Errorf("broker.json tls = %v", tls)
		}
		pair, _ := in.VarsStore.Certificate("docker-broker-tls")
		for file, want := range map[string]string{"tls-cert.pem": pair.Certificate, "tls-key.pem": pair.PrivateKey} {
			if got, _ := os.ReadFile(filepath.Join(dst, "docker-broker/config", file)); strings.TrimSpace(string(got)) != strings.TrimSpace(want) {
				t.Errorf("docker-broker/config/%s does not hold docker-broker-tls's PEM", file)
			}
		}
		if script, _ := os.ReadFile(filepath.Join(dst, "docker-broker/bin/post-start")); !strings.Contains(string(script), "https://127.0.0.1:8080/v2/catalog") {
			t.Errorf("post-start does not check the catalog over HTTPS:\n%s", script)
		}

		m, err := in.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := boshrelease.LoadJobs(repoRoot(t))
		if err != nil {
			t.Fatal(err)
		}
		d := boshrelease.Deployment{Manifest: m, Release: release, Jobs: jobs}
		for _, errand := range []string{"broker-registrar", "broker-deregistrar"} {
			dst := t.TempDir()
			if _, err := d.Render(newRenderer(t), errand, 0, dst); err != nil {
				t.Fatal(err)
			}
			var cfg struct{ Broker map[string]any }
			readJSON(t, filepath.Join(dst, errand, "config/registrar.json"), &cfg)
			if cfg.Broker["url"] != "https://10.244.0.144:8080" || cfg.Broker["ca_cert"] != pair.CA {
				t.Errorf("%s: broker url %v, ca_cert %.40v...; want https://10.244.0.144:8080 and docker-broker-ca", errand, cfg.Broker["url"], cfg.Broker["ca_cert"])
			}
		}
	})
	t.Run("metrics-listener", func(t *testing.T) {
		dst, _, in := renderDocker(t, composition{"", []string{"operators/metrics-listener.yml"}})
		var broker map[string]any
		readJSON(t, filepath.Join(dst, "docker-broker/config/broker.json"), &broker)
		password, _ := in.VarsStore.Value("docker-broker-metrics-password")
		want := map[string]any{"enabled": true, "port": 9090.0, "username": "prometheus", "password": password}
		if got := broker["metrics"]; !reflect.DeepEqual(got, want) || password == "" {
			t.Errorf("metrics = %v, want %v (the generated password)", got, want)
		}
	})
	t.Run("local-run", func(t *testing.T) {
		dst, _, _ := renderDocker(t, composition{"", []string{"operators/disable-remote-docker-access.yml", "operators/local-run.yml"}})
		var supervisor, broker map[string]any
		readJSON(t, filepath.Join(dst, "docker/config/supervisor.json"), &supervisor)
		readJSON(t, filepath.Join(dst, "docker-broker/config/broker.json"), &broker)
		sandbox := operatorVars["sandbox-dir"].(string)
		for key, want := range map[string]any{"socket": sandbox + "/sys/run/docker/docker.sock", "bridge": "dbrtest0", "iptables": false, "ip_masq": false} {
			if supervisor[key] != want {
				t.Errorf("supervisor.json %s = %v, want %v", key, supervisor[key], want)
			}
		}
		for key, want := range map[string]any{"address": "127.0.0.1", "external_host": "127.0.0.1", "bind_ip": "127.0.0.1", "docker_socket": supervisor["socket"], "fetch_images": false} {
			if broker[key] != want {
				t.Errorf("broker.json %s = %v, want %v", key, broker[key], want)
			}
		}
	})
}
