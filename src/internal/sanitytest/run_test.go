package sanitytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// fakeBroker offers every plan of the config's catalog and records the calls it gets, by
// method and instance id; failing makes a method fail.
type fakeBroker struct {
	catalog osbclient.Catalog
	calls   []string
	failing map[string]error
	creds   string
}

func (f *fakeBroker) call(method, id string) error {
	f.calls = append(f.calls, method+" "+id)
	return f.failing[method]
}

func (f *fakeBroker) Catalog(context.Context) (osbclient.Catalog, error) {
	return f.catalog, f.failing["Catalog"]
}

func (f *fakeBroker) Provision(_ context.Context, req osbapi.ProvisionRequest) error {
	return f.call("Provision", req.InstanceID)
}

func (f *fakeBroker) GetInstance(_ context.Context, id string) (osbapi.InstanceResponse, error) {
	return osbapi.InstanceResponse{}, &osbclient.Error{Status: 404}
}

func (f *fakeBroker) Bind(_ context.Context, req osbapi.BindRequest) (json.RawMessage, error) {
	return json.RawMessage(f.creds), f.call("Bind", req.InstanceID)
}

func (f *fakeBroker) Unbind(_ context.Context, instanceID, _, _, _ string) error {
	return f.call("Unbind", instanceID)
}

func (f *fakeBroker) Deprovision(_ context.Context, instanceID, _, _ string) error {
	return f.call("Deprovision", instanceID)
}

// fakeEngine runs every check container to exitCode with output, and records what it made.
type fakeEngine struct {
	exitCode int
	output   string
	specs    []dockerengine.ContainerSpec
	files    []dockerengine.File
	removed  []string
}

func (f *fakeEngine) ImageExists(context.Context, string) (bool, error) { return true, nil }
func (f *fakeEngine) PullImage(context.Context, string, func(dockerengine.Progress)) error {
	return errors.New("no pull expected")
}
func (f *fakeEngine) CreateContainer(_ context.Context, spec dockerengine.ContainerSpec) (string, error) {
	f.specs = append(f.specs, spec)
	return "id-" + spec.Name, nil
}
func (f *fakeEngine) WriteFiles(_ context.Context, _, _ string, files []dockerengine.File) error {
	f.files = append(f.files, files...)
	return nil
}
func (f *fakeEngine) StartContainer(context.Context, string) error { return nil }
func (f *fakeEngine) WaitContainer(context.Context, string) (int, error) {
	return f.exitCode, nil
}
func (f *fakeEngine) ContainerLogs(context.Context, string, int) ([]byte, error) {
	return []byte(f.output), nil
}
func (f *fakeEngine) RemoveContainer(_ context.Context, id string) error {
	f.removed = append(f.removed, id)
	return nil
}

// runFake runs the errand on the catalog of services (config_test.go) against fakes.
func runFake(t *testing.T, broker *fakeBroker, engine *fakeEngine, plans ...string) (string, error) {
	t.Helper()
	cfg := Config{Errand: ErrandName, Broker: osbclient.Endpoint{URL: "http://b:8080", Username: "u", Password: "p"},
		DockerSocket: "/docker.sock", Services: json.RawMessage(services), Plans: plans}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if broker.catalog.Services == nil {
		for _, s := range cfg.catalog.Services {
			offered := osbclient.Service{ID: s.ID, Name: s.Name, Bindable: true}
			for _, p := range s.Plans {
				offered.Plans = append(offered.Plans, osbclient.Plan{ID: p.ID, Name: p.Name})
			}
			broker.catalog.Services = append(broker.catalog.Services, offered)
		}
	}
	if broker.creds == "" {
		broker.creds = `{"host": "10.0.0.5", "port": "20000", "password": "s3cr3t-pass", "ports": {"6379/tcp": "20000"}}`
	}
	var out bytes.Buffer
	err := Run(context.Background(), cfg, broker, engine, &out)
	return out.String(), err
}

// HasRow tells whether the table out has a row of plan and step whose result starts with result.
// Exported for the collaboration tests.
func HasRow(out, plan, step, result string) bool {
	row := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(plan) + `\s+` + regexp.QuoteMeta(step) + `\s+\S+\s+` + regexp.QuoteMeta(result))
	return row.MatchString(out)
}

func TestACheckGetsTheCredentialsAsFilesOnly(t *testing.T) {
	engine := &fakeEngine{}
	out, err := runFake(t, &fakeBroker{}, engine, "redis32/free")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(engine.specs) != 1 {
		t.Fatalf("%d check containers, want 1", len(engine.specs))
	}
	spec := engine.specs[0]
	if spec.Name != "sanity-test-p-free" || spec.Image != "frodenas/redis:3.2" || spec.NetworkMode != "host" ||
		fmt.Sprint(spec.Entrypoint, spec.Cmd) != "[redis-cli] [ping]" || spec.RestartPolicy.Name != "no" {
		t.Errorf("check container %+v", spec)
	}
	env := strings.Join(spec.Env, " ")
	if env != "CREDENTIALS_FILE=/sanity-test/credentials.json CREDENTIALS_DIR=/sanity-test/credentials HOST=10.0.0.5 PORT=20000" {
		t.Errorf("environment %q", env)
	}
	files := map[string]string{}
	for _, f := range engine.files {
		files[f.Path] = string(f.Content)
		if f.Mode != 0o444 {
			t.Errorf("%s has mode %v", f.Path, f.Mode)
		}
	}
	if files["sanity-test/credentials/password"] != "s3cr3t-pass" || files["sanity-test/credentials/port"] != "20000" ||
		!strings.Contains(files["sanity-test/credentials.json"], `"ports"`) || len(files) != 4 {
		t.Errorf("files %v: want the JSON and one file per string credential (not ports)", files)
	}
	if len(engine.removed) != 2 {
		t.Errorf("check container removed %d times (before and after the check), want 2", len(engine.removed))
	}
}

func TestStepsAfterAFailureStillRemoveTheInstance(t *testing.T) {
	broker := &fakeBroker{failing: map[string]error{"Bind": errors.New("bind refused")}}
	out, err := runFake(t, broker, &fakeEngine{}, "redis32/free")
	if err == nil || !strings.Contains(out, "bind refused") || strings.Contains(out, "check") {
		t.Errorf("a failed bind: %v\n%s", err, out)
	}
	want := "Unbind sanity-test-p-free, Deprovision sanity-test-p-free, Provision sanity-test-p-free, Bind sanity-test-p-free, Unbind sanity-test-p-free, Deprovision sanity-test-p-free"
	if got := strings.Join(broker.calls, ", "); got != want {
		t.Errorf("calls %s\nwant  %s (the leftovers' clean-up first)", got, want)
	}
}

func TestAPlanWithoutCheckIsStillProvisionedAndBound(t *testing.T) {
	broker, engine := &fakeBroker{}, &fakeEngine{}
	out, err := runFake(t, broker, engine, "postgresql96/free")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !HasRow(out, "postgresql96/free", "check", "skipped: no sanity check") || len(engine.specs) != 0 {
		t.Errorf("no skipped check row, or a check container made:\n%s", out)
	}
	if !strings.Contains(strings.Join(broker.calls, " "), "Provision sanity-test-p-pg Bind sanity-test-p-pg Unbind sanity-test-p-pg Deprovision sanity-test-p-pg") {
		t.Errorf("calls %v", broker.calls)
	}
}

func TestAFailedCheckShowsItsOutputRedacted(t *testing.T) {
	engine := &fakeEngine{exitCode: 1, output: "AUTH s3cr3t-pass\nNOAUTH Authentication required.\n"}
	out, err := runFake(t, &fakeBroker{}, engine, "redis32/free")
	if err == nil || !strings.Contains(out, "FAILED: the check (redis-cli ping) exited with status 1:\n    | AUTH [redacted]\n    | NOAUTH Authentication required.") {
		t.Errorf("%v\n%s", err, out)
	}
	if strings.Contains(out, "s3cr3t-pass") {
		t.Error("the password is in the output")
	}
}

func TestAPlanTheBrokerDoesNotOfferFails(t *testing.T) {
	broker := &fakeBroker{catalog: osbclient.Catalog{Services: []osbclient.Service{{ID: "s-redis", Plans: []osbclient.Plan{{ID: "p-free"}}}}}}
	out, err := runFake(t, broker, &fakeEngine{}, "redis32/free", "redis32/big")
	if err == nil || !HasRow(out, "redis32/big", "catalog", "FAILED") || !strings.Contains(out, "the broker does not offer plan p-big") || !strings.Contains(out, "1 of 2 plans FAILED: redis32/big") {
		t.Errorf("%v\n%s", err, out)
	}
}

func TestCredentialsWithoutHostFailTheCheck(t *testing.T) {
	out, err := runFake(t, &fakeBroker{creds: `{"password": "s3cr3t-pass"}`}, &fakeEngine{}, "redis32/free")
	if err == nil || !strings.Contains(out, "FAILED: the binding's credentials have no host and port to check") {
		t.Errorf("%v\n%s", err, out)
	}
}
