package orphanreport

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// TestPrintListsEveryOrphanByKindWithWhatToDo: the table has one row per orphan, grouped by
// kind in a fixed order, and the remedy of each kind present follows.
func TestPrintListsEveryOrphanByKindWithWhatToDo(t *testing.T) {
	var out strings.Builder
	Print(&out, osbapi.Orphans{
		At:                       time.Date(2026, 12, 2, 23, 0, 0, 0, time.UTC),
		ContainersWithoutRecord:  []string{"cf-a"},
		DirectoriesWithoutRecord: []string{"cf-a", "cf-b"},
		RecordsWithoutContainer:  []string{"c"},
	})
	want := `Orphans at 2026-12-02 23:00:00 UTC:

KIND                       NAME
container without record   cf-a
directory without record   cf-a
directory without record   cf-b
record without container   c

4 orphan(s). What to do:
  container without record: the broker has no record of its instance`
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("printed:\n%s\nwant it to start with:\n%s", out.String(), want)
	}
	for _, remedy := range []string{"\n  directory without record: data of an instance", "\n  record without container: an instance whose container was removed"} {
		if !strings.Contains(out.String(), remedy) {
			t.Errorf("the remedy %q is missing:\n%s", remedy, out.String())
		}
	}
}

func TestConfigProblemsNameTheirField(t *testing.T) {
	err := Config{}.Validate()
	for _, field := range []string{"errand", "broker.url", "broker.username", "broker.password"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("an empty config must name %s: %v", field, err)
		}
	}
	cfg := Config{Errand: ErrandName}
	cfg.Broker.URL, cfg.Broker.Username, cfg.Broker.Password, cfg.Broker.CACert = "https://10.0.0.5:8080", "broker", "secret", "not a PEM"
	if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "broker.ca_cert: holds no PEM certificate") {
		t.Errorf("a CA that is no PEM must be named: %v", err)
	}
}
