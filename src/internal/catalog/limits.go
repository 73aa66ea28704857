package catalog

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

// Ulimit is a resource limit of the container's processes (setrlimit), by Docker's name for it.
// Engines ask for them: Elasticsearch and Kafka for open files, Elasticsearch for memlock.
type Ulimit struct {
	Name       string // nofile, nproc, memlock, ...
	Soft, Hard int64  // -1 is unlimited
}

// ulimitNames are the limits Docker sets (docker/go-units; it leaves out "as", which breaks the
// container's init).
var ulimitNames = []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

// ulimits reads `name: number` (soft and hard alike) or `name: {soft, hard}`, sorted by name so
// that the spec (and its digest) does not depend on the order of the file.
func (o *object) ulimits(key string) []Ulimit {
	limits := o.child(key)
	if limits == nil {
		return nil
	}
	var out []Ulimit
	for _, name := range limits.keys() {
		at := limits.at(name)
		raw, _ := limits.value(name)
		if !slices.Contains(ulimitNames, name) {
			o.r.problem(at, "unknown limit, Docker's are %s", strings.Join(ulimitNames, ", "))
			continue
		}
		if u, ok := o.r.ulimitAt(at, name, raw); ok {
			out = append(out, u)
		}
	}
	return out
}

// ulimitAt reads one limit and checks it as Docker and the kernel would, only later.
func (r *reader) ulimitAt(at, name string, raw json.RawMessage) (Ulimit, bool) {
	u := Ulimit{Name: name}
	switch {
	case isAbsent(raw):
		r.problem(at, "expected a number or {soft, hard}, found null")
		return u, false
	case isObject(raw):
		limits := r.objectAt(at, raw)
		soft, softOK := r.limitValue(limits, "soft")
		hard, hardOK := r.limitValue(limits, "hard")
		limits.warnUnknown()
		if !softOK || !hardOK {
			return u, false
		}
		u.Soft, u.Hard = soft, hard
	default:
		n, ok := r.wholeNumberAt(at, raw)
		if !ok {
			return u, false
		}
		u.Soft, u.Hard = n, n
	}
	switch {
	case u.Soft < -1 || u.Hard < -1:
		r.problem(at, "soft %d, hard %d: a limit is a number from 0 up, or -1 for unlimited", u.Soft, u.Hard)
	case name == "nofile" && (u.Soft == -1 || u.Hard == -1):
		r.problem(at, "the kernel refuses an unlimited nofile: give a number (at most the host's fs.nr_open, 1048576 by default)")
	case u.Hard != -1 && u.Soft == -1:
		r.problem(at, "soft -1 (unlimited) is above hard %d", u.Hard)
	case u.Hard != -1 && u.Soft > u.Hard:
		r.problem(at, "soft %d is above hard %d", u.Soft, u.Hard)
	default:
		return u, true
	}
	return u, false
}

// limitValue reads the required soft or hard of a limit.
func (r *reader) limitValue(limits *object, key string) (int64, bool) {
	raw, ok := limits.value(key)
	if !ok {
		r.problem(limits.at(key), "required, or give a single number for soft and hard alike")
		return 0, false
	}
	return r.wholeNumberAt(limits.at(key), raw)
}

// The kernel parameters a container may set are those of a namespace of its own (network, IPC),
// which runc allows and Docker passes on; any other would be the host's, and the engine refuses
// it only when the container starts.
var (
	namespacedSysctls        = []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}
	namespacedSysctlPrefixes = []string{"net.", "fs.mqueue."}
	sysctlNamePattern        = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$`)
)

// isNamespacedSysctl says whether a container may set the kernel parameter name.
func isNamespacedSysctl(name string) bool {
	return slices.Contains(namespacedSysctls, name) || slices.ContainsFunc(namespacedSysctlPrefixes, func(prefix string) bool {
		return strings.HasPrefix(name, prefix)
	})
}

// sysctls reads `name: value`; a value may be a number, as YAML reads `net.core.somaxconn: 1024`.
func (o *object) sysctls(key string) map[string]string {
	params := o.child(key)
	if params == nil {
		return nil
	}
	out := map[string]string{}
	for _, name := range params.keys() {
		at := params.at(name)
		raw, given := params.value(name)
		switch {
		case !sysctlNamePattern.MatchString(name):
			o.r.problem(at, "%q: not a kernel parameter such as net.core.somaxconn", name)
			continue
		case !isNamespacedSysctl(name):
			o.r.problem(at, "%s is not in a namespace of the container: Docker allows net.*, fs.mqueue.*, kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced, kernel.msgmax, kernel.msgmnb and kernel.msgmni", name)
			continue
		case !given:
			o.r.problem(at, "expected a value, found null")
			continue
		}
		var value string
		if isNumber(raw) {
			value = strings.TrimSpace(string(raw))
		} else if s, ok := o.r.stringAt(at, raw); ok {
			value = strings.TrimSpace(s)
		} else {
			continue
		}
		if value == "" || strings.ContainsAny(value, "\n\r") {
			o.r.problem(at, "%q: a value is one line, not empty", value)
			continue
		}
		out[name] = value
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// shmSize reads the size of the container's /dev/shm (PostgreSQL's parallel queries outgrow
// Docker's 64m).
func (o *object) shmSize(key string) int64 {
	raw, ok := o.value(key)
	if !ok {
		return 0
	}
	n, ok := o.r.sizeAt(o.at(key), raw)
	if ok && n <= 0 {
		o.r.problem(o.at(key), "%d: must be more than 0; leave it out for Docker's default of 64m", n)
		return 0
	}
	return n
}
