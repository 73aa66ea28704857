package catalog

import (
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// SanityCheck is how the sanity-test errand proves that an instance of a plan answers, from
// outside the instance, with a binding's credentials: Command runs in a throwaway container of
// Image (the engine's image, so its own client: redis-cli, psql, mysql) on the engine host's
// network, and exit status 0 means the service answered. What differs between engines is
// here, in the services file, never in the errand.
//
// The command gets the binding's credentials as files, never on a command line or in the
// container's environment (which `docker inspect` shows): CREDENTIALS_FILE is the path of the
// credentials JSON as the broker answered the bind, and CREDENTIALS_DIR a directory with one
// file per credential whose value is a string or a number (host, port, username, password,
// dbname, uri, ...), for images without a JSON tool. HOST and PORT, which are no secrets, are
// also in the environment.
type SanityCheck struct {
	Image   string // image:tag to run; the plan's container image and tag unless the file names another
	Command []string
	// Timeout bounds the command; default one minute.
	Timeout config.Duration
}

// The environment of a sanity check's command.
const (
	EnvCredentialsFile = "CREDENTIALS_FILE"
	EnvCredentialsDir  = "CREDENTIALS_DIR"
	EnvHost            = "HOST"
	EnvPort            = "PORT"
)

const defaultSanityCheckTimeout = config.Duration(time.Minute)

// readSanityCheck reads a `sanity_check` object of a service or a plan; nil when o is nil. The
// image stays empty unless the object names one: each plan fills in its own (forPlan).
func readSanityCheck(o *object) *SanityCheck {
	if o == nil {
		return nil
	}
	s := &SanityCheck{
		Image:   strings.TrimSpace(o.str("image")),
		Command: o.words("command"),
		Timeout: o.duration("timeout", defaultSanityCheckTimeout),
	}
	if len(s.Command) == 0 {
		o.r.problem(o.at("command"), "required: the client command that proves the service answers, e.g. [sh, -ec, 'redis-cli -h \"$HOST\" -p \"$PORT\" ...']")
	}
	if strings.ContainsAny(s.Image, " \t\n") {
		o.r.problem(o.at("image"), "%q: an image reference has no blanks, e.g. postgres:17", s.Image)
	}
	o.warnUnknown()
	return s
}

// sanityCheckFor completes a sanity check for a plan: by default it runs the plan's own image.
func sanityCheckFor(s *SanityCheck, c Container) *SanityCheck {
	if s == nil {
		return nil
	}
	own := *s
	if own.Image == "" {
		own.Image = c.ImageRef()
	}
	return &own
}
