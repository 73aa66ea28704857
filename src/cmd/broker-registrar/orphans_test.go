package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/orphanreport"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// exitCode is the exit status of a finished errand run (0 when err is nil).
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	if exit != nil {
		return exit.ExitCode()
	}
	return 0
}

// TestOrphanReportErrandExitsByWhatItFinds runs the errand's program against a real broker:
// exit 0 and a one-line all-clear with nothing orphaned, 1 and a table with what to do once a
// directory belongs to no instance, and 2 with a clear message when the broker does not answer.
func TestOrphanReportErrandExitsByWhatItFinds(t *testing.T) {
	b := startBroker(t, brokertest.Services(t, "services/op-redis32.yml"), "orphans-"+e2eBrokerName, [2]int{25200, 25249})
	cfg := orphanreport.Config{Errand: orphanreport.ErrandName, Broker: osbclient.Endpoint{URL: b.URL, Username: brokertest.Username, Password: brokertest.Password}}

	out, err := runRegistrar(t, "orphan-report", cfg)
	if code := exitCode(t, err); code != 0 || !strings.Contains(out, "No orphans at ") {
		t.Errorf("a broker without orphans: exit %d, output:\n%s", code, out)
	}

	if err := os.MkdirAll(filepath.Join(b.Config.DataDir, "cf-stray"), 0o700); err != nil { // the data directory is made on first use
		t.Fatal(err)
	}
	out, err = runRegistrar(t, "orphan-report", cfg)
	if code := exitCode(t, err); code != 1 {
		t.Errorf("with a directory without record the errand must exit 1, exit %d", code)
	}
	for _, want := range []string{
		"Asking the broker at " + b.URL + " for orphans as broker...\n",
		"KIND                       NAME\ndirectory without record   cf-stray\n",
		"1 orphan(s). What to do:\n  directory without record: data of an instance the broker does not know",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "container without record:") || strings.Contains(out, "record without container:") {
		t.Errorf("the remedies of kinds that did not occur are printed:\n%s", out)
	}

	cfg.Broker.URL = "http://127.0.0.1:1"
	out, err = runRegistrar(t, "orphan-report", cfg)
	if code := exitCode(t, err); code != 2 || !strings.Contains(out, "FAILED: no orphan report") || !strings.Contains(out, "the broker could not be reached") {
		t.Errorf("an unreachable broker: exit %d, output:\n%s", code, out)
	}
}

// TestOrphanReportErrandRendersFromTheLink renders the orphan-report job as a director would,
// from the servicebroker link (with the CA of operators/broker-tls.yml), and checks that its
// program accepts the config and that bin/run runs it.
func TestOrphanReportErrandRendersFromTheLink(t *testing.T) {
	ca := newCA(t, "docker-broker-ca")
	link := brokerLink(map[string]any{"name": "docker-broker", "username": "broker", "password": "broker-secret", "port": 8080, "protocol": "https", "tls": map[string]any{"ca": ca}})
	dst, err := renderJob(t, "orphan-report", map[string]any{}, map[string]boshrelease.Link{"servicebroker": link})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dst, "config", "orphan-report.json")
	cfg, err := orphanreport.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := osbclient.Endpoint{URL: "https://10.244.0.144:8080", Username: "broker", Password: "broker-secret", CACert: ca}
	if cfg.Broker != want {
		t.Errorf("broker %+v, want %+v", cfg.Broker, want)
	}
	runCheckConfig(t, path)
	run, err := os.ReadFile(filepath.Join(dst, "bin", "run"))
	if err != nil || !strings.Contains(string(run), "exec /var/vcap/packages/docker-broker/bin/broker-registrar orphan-report /var/vcap/jobs/orphan-report/config/orphan-report.json") {
		t.Errorf("bin/run does not run the orphan report: %v\n%s", err, run)
	}

	if _, err := renderJob(t, "orphan-report", map[string]any{}, nil); err == nil || !strings.Contains(err.Error(), "servicebroker.url is not set") {
		t.Errorf("without a link and without servicebroker.url the rendering must fail naming it, got %v", err)
	}
}
