// Package orphanreport is the orphan-report errand: it asks the broker what its records and
// the engine disagree on now (GET /admin/orphans, which changes nothing) and prints a table an
// operator reads, with what to do about each kind of orphan.
package orphanreport

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// Config is the errand's config file, rendered by the orphan-report job
// (templates/config/orphan-report.json.erb) from the servicebroker link.
type Config struct {
	Errand string             `json:"errand"` // always ErrandName
	Broker osbclient.Endpoint `json:"broker"`
}

// ErrandName is the value of an orphan-report config's `errand` key (config.ErrandOf).
const ErrandName = "orphan-report"

// LoadConfig reads and validates the config file at path.
func LoadConfig(path string) (Config, error) {
	var c Config
	if err := config.Load(path, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate returns every problem of the config, each naming its field.
func (c Config) Validate() error {
	var errs config.Errors
	config.CheckErrand(&errs, c.Errand, ErrandName)
	c.Broker.Validate(&errs, "broker")
	return errs.Err()
}

// kinds are the kinds of orphan in the order the table lists them, with what to do.
var kinds = []struct {
	name   string
	list   func(osbapi.Orphans) []string
	remedy string
}{
	{"container without record", func(o osbapi.Orphans) []string { return o.ContainersWithoutRecord },
		"the broker has no record of its instance (a lost or older state file): restore the state file if Cloud Foundry still has the instance, else save what its volume holds and remove the container (docker rm -f NAME on the VM)"},
	{"directory without record", func(o osbapi.Orphans) []string { return o.DirectoriesWithoutRecord },
		"data of an instance the broker does not know, under /var/vcap/store/docker-broker/instances: copy away what is needed, then delete the directory"},
	{"record without container", func(o osbapi.Orphans) []string { return o.RecordsWithoutContainer },
		"an instance whose container was removed behind the broker's back: restarting the docker-broker job recreates it from its record (same credentials, ports and data); or delete the instance through Cloud Foundry (cf delete-service)"},
}

// Run fetches the report and prints it to out. It returns whether anything is orphaned; an
// error means there is no report (an *osbclient.UnreachableError when the broker did not answer).
func Run(ctx context.Context, cfg Config, out io.Writer) (orphaned bool, err error) {
	clientConfig, err := cfg.Broker.Config()
	if err != nil {
		return false, fmt.Errorf("broker.ca_cert: %w", err)
	}
	fmt.Fprintf(out, "Asking the broker at %s for orphans as %s...\n", cfg.Broker.URL, cfg.Broker.Username)
	orphans, err := osbclient.New(clientConfig).Orphans(ctx)
	if err != nil {
		return false, err
	}
	Print(out, orphans)
	return orphans.Any(), nil
}

// Print writes the report: a table of kind and name, then what to do about each kind present.
func Print(out io.Writer, orphans osbapi.Orphans) {
	if !orphans.Any() {
		fmt.Fprintf(out, "No orphans at %s: every container and directory has its record, every record its container.\n", orphans.At.UTC().Format("2006-01-02 15:04:05 MST"))
		return
	}
	fmt.Fprintf(out, "Orphans at %s:\n\n", orphans.At.UTC().Format("2006-01-02 15:04:05 MST"))
	table := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(table, "KIND\tNAME")
	total := 0
	for _, k := range kinds {
		for _, name := range k.list(orphans) {
			fmt.Fprintf(table, "%s\t%s\n", k.name, name)
			total++
		}
	}
	table.Flush()
	fmt.Fprintf(out, "\n%d orphan(s). What to do:\n", total)
	for _, k := range kinds {
		if len(k.list(orphans)) > 0 {
			fmt.Fprintf(out, "  %s: %s.\n", k.name, k.remedy)
		}
	}
}
