package catalog

import (
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// Backup says how a backup (BBR) saves an instance's data with the engine's own tools, while
// the instance keeps running: a dump command writes the data to its stdout, and a restore
// command, run in the instance's new container once it is ready, reads it back from its stdin.
// Both run inside the instance's container with INSTANCE_USERNAME, INSTANCE_PASSWORD and
// INSTANCE_DBNAME in their environment only, as the binding commands do. A plan without one is
// backed up by stopping its container, copying its persistent volumes and starting it again.
type Backup struct {
	Dump    []string
	Restore []string
	// Timeout bounds each command; default one hour.
	Timeout config.Duration
}

const defaultBackupTimeout = config.Duration(time.Hour)

// readBackup reads a `backup` object of a service or a plan; nil when o is nil.
func readBackup(o *object) *Backup {
	if o == nil {
		return nil
	}
	b := &Backup{
		Dump:    o.words("dump"),
		Restore: o.words("restore"),
		Timeout: o.duration("timeout", defaultBackupTimeout),
	}
	for _, c := range []struct{ key, what string }{
		{"dump", "the command that writes the instance's data to its standard output"},
		{"restore", "the command that reads that data back from its standard input"},
	} {
		key, what := c.key, c.what
		if raw, given := o.value(key); !given {
			o.r.problem(o.at(key), "required: %s", what)
		} else if isList(raw) && len(o.strs(key)) == 0 {
			o.r.problem(o.at(key), "empty: give %s", what)
		}
	}
	o.warnUnknown()
	return b
}
