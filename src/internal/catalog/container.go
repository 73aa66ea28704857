package catalog

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// Container is how the broker runs an instance of a plan (ancestors.md §1.4).
type Container struct {
	Backend    string // "docker", the only backend
	Image      string // without tag
	Tag        string // default "latest"
	Command    []string
	Entrypoint []string
	Workdir    string
	// Hostname, when set, is the container's fixed host name: some engines key their data by
	// it (RabbitMQ's node name), and a recreated container must find its data again.
	Hostname string
	Restart  RestartPolicy // default always
	// Environment is "KEY=VALUE" entries as written; the value is everything after the first
	// '='. A value with template actions ({{) is rendered over InstanceFacts by
	// RenderEnvironment; any other is passed as written, as the original files expect.
	Environment []string
	// envTemplates are the values of Environment with template actions, by variable name,
	// parsed at load.
	envTemplates map[string]*template.Template

	ExposePorts       []string // "6379/tcp"; empty publishes every port the image exposes
	PersistentVolumes []string // absolute, cleaned container paths kept on the persistent disk
	User              string
	Memory            int64 // bytes; 0 is unlimited
	MemorySwap        int64 // bytes of memory plus swap; 0 is Docker's default, -1 unlimited
	CPUShares         int64
	Privileged        bool
	CapAdds           []string
	CapDrops          []string
	Ulimits           []Ulimit          // sorted by name
	Sysctls           map[string]string // namespaced kernel parameters only
	ShmSize           int64             // bytes of /dev/shm; 0 is Docker's default (64m)
	Files             []File            // written into the persistent volumes before the start
}

// RestartPolicy is Docker's restart policy; MaxRetries only counts for on-failure (0 is no limit).
type RestartPolicy struct {
	Name       string // no, always, unless-stopped or on-failure
	MaxRetries int
}

// ImageRef is the reference the broker pulls and runs.
func (c Container) ImageRef() string {
	return c.Image + ":" + c.Tag
}

// exposes says whether the container publishes port: all of them when ExposePorts is empty,
// since then Docker publishes whatever the image exposes.
func (c Container) exposes(port string) bool {
	return len(c.ExposePorts) == 0 || slices.Contains(c.ExposePorts, port)
}

// requireExposed reports a port the broker would look for but that the container does not publish.
func (c Container) requireExposed(r *reader, at, field, port string) {
	if port != "" && !c.exposes(port) {
		r.problem(at, "%s %s is not among container.expose_ports (%s)", field, port, strings.Join(c.ExposePorts, ", "))
	}
}

// environmentKey returns the name part of a "KEY=VALUE" environment entry.
func environmentKey(entry string) string {
	key, _, _ := strings.Cut(entry, "=")
	return key
}

// Docker's grammar for a tag; Docker refuses anything else at pull time, far from the config.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// A host name is one DNS label (RFC 1123).
var hostnamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// Capabilities are written as Docker takes them: "NET_ADMIN", "CAP_NET_ADMIN" or "ALL".
var capabilityPattern = regexp.MustCompile(`^[A-Za-z_]+$`)

// dockerMinimumMemory is the smallest memory limit Docker accepts.
const dockerMinimumMemory = 6 << 20

// parseContainer reads a plan's container; credentials are the plan's, which its files may use.
func parseContainer(o *object, credentials Credentials) Container {
	c := Container{
		Backend:    o.requiredStr("backend"),
		Image:      strings.TrimSpace(o.requiredStr("image")),
		Tag:        strings.TrimSpace(o.str("tag")),
		Command:    o.words("command"),
		Entrypoint: o.words("entrypoint"),
		Workdir:    o.str("workdir"),
		Hostname:   o.str("hostname"),
		User:       o.str("user"),
		Privileged: o.boolean("privileged", false),
		CapAdds:    o.capabilities("cap_adds"),
		CapDrops:   o.capabilities("cap_drops"),
	}
	if c.Backend != "" && c.Backend != "docker" {
		o.r.problem(o.at("backend"), "%q: unknown backend, the only one is docker", c.Backend)
	}
	checkImage(o, c.Image)
	if c.Tag == "" {
		c.Tag = "latest"
	} else if !tagPattern.MatchString(c.Tag) {
		o.r.problem(o.at("tag"), "%q: not a Docker tag (letters, digits, '_', '.' and '-', at most 128)", c.Tag)
	}
	if c.Hostname != "" && !hostnamePattern.MatchString(c.Hostname) {
		o.r.problem(o.at("hostname"), "%q: not a host name (letters, digits and '-', at most 63, not starting or ending with '-')", c.Hostname)
	}
	if c.Workdir != "" && !path.IsAbs(c.Workdir) {
		o.r.problem(o.at("workdir"), "%q: must be an absolute path", c.Workdir)
	}
	c.Restart = o.restartPolicy("restart")
	c.ExposePorts = o.exposePorts("expose_ports")
	sample := sampleFacts(c)
	c.Environment, c.envTemplates = o.environment("environment", sample)
	c.PersistentVolumes = o.volumes("persistent_volumes")
	c.Memory, c.MemorySwap = o.memory()
	c.CPUShares = o.cpuShares("cpu_shares")
	c.Ulimits = o.ulimits("ulimits")
	c.Sysctls = o.sysctls("sysctls")
	c.ShmSize = o.shmSize("shm_size")
	c.Files = o.files("files", c.PersistentVolumes, sample, credentials)
	o.warnUnknown()
	return c
}

// checkImage reports an image that Docker would refuse only at pull time, or that ImageRef
// would garble by adding a second tag.
func checkImage(o *object, image string) {
	if image == "" {
		return
	}
	lastComponent := image[strings.LastIndex(image, "/")+1:]
	switch {
	case strings.ContainsAny(image, " \t\n"):
		o.r.problem(o.at("image"), "%q: an image name has no blanks", image)
	case strings.ContainsAny(lastComponent, ":@"):
		o.r.problem(o.at("image"), "%q: the image carries a tag or digest; put the tag in container.tag", image)
	}
}

// restartPolicy reads Docker's command-line syntax: no, always, unless-stopped, on-failure[:N].
func (o *object) restartPolicy(key string) RestartPolicy {
	text := strings.TrimSpace(o.str(key))
	if text == "" {
		return RestartPolicy{Name: "always"}
	}
	name, retries, hasRetries := strings.Cut(text, ":")
	switch name {
	case "no", "always", "unless-stopped":
		if hasRetries {
			o.r.problem(o.at(key), "%q: only on-failure takes a retry count", text)
		}
		return RestartPolicy{Name: name}
	case "on-failure":
		if !hasRetries {
			return RestartPolicy{Name: name}
		}
		n, err := strconv.Atoi(retries)
		if err != nil || n < 0 {
			o.r.problem(o.at(key), "%q: the retry count after on-failure: must be a whole number from 0 up", text)
			return RestartPolicy{Name: name}
		}
		return RestartPolicy{Name: name, MaxRetries: n}
	default:
		o.r.problem(o.at(key), "%q: unknown restart policy, use no, always, unless-stopped, on-failure or on-failure:N", text)
		return RestartPolicy{Name: "always"}
	}
}

// environment reads "KEY=VALUE" entries. Only the first '=' separates: values may hold more
// (base64, connection strings), which the ancestor corrupted. A value with template actions is
// parsed and tried on sample.
func (o *object) environment(key string, sample InstanceFacts) ([]string, map[string]*template.Template) {
	var entries []string
	var templates map[string]*template.Template
	firstSeen := map[string]string{} // name → path of the entry that sets it
	for _, item := range o.stringItems(key) {
		entries = append(entries, item.text)
		name, value, hasValue := strings.Cut(item.text, "=")
		first, seen := firstSeen[name]
		switch {
		case !hasValue:
			o.r.problem(item.path, "%q: not KEY=VALUE", item.text)
		case !isEnvName(name):
			o.r.problem(item.path, "%q: %q is not a variable name (letters, digits and '_', not starting with a digit)", item.text, name)
		case seen:
			o.r.problem(item.path, "%s is already set by %s", name, first)
		default:
			firstSeen[name] = item.path
			if !strings.Contains(value, "{{") {
				continue
			}
			if t := parseTemplate(o.r, item.path, name, value, sample, instanceFactNames); t != nil {
				if templates == nil {
					templates = map[string]*template.Template{}
				}
				templates[name] = t
			}
		}
	}
	return entries, templates
}

// RenderEnvironment is Environment for an instance: each templated value rendered over facts.
func (c Container) RenderEnvironment(facts InstanceFacts) ([]string, error) {
	env := make([]string, 0, len(c.Environment))
	for _, entry := range c.Environment {
		name := environmentKey(entry)
		t, templated := c.envTemplates[name]
		if !templated {
			env = append(env, entry)
			continue
		}
		var value strings.Builder
		if err := t.Execute(&value, facts); err != nil {
			return nil, fmt.Errorf("container.environment %s: %w", name, err)
		}
		env = append(env, name+"="+value.String())
	}
	return env, nil
}

func (o *object) exposePorts(key string) []string {
	raw, ok := o.value(key)
	if !ok {
		return nil
	}
	var ports []string
	for i, item := range o.r.itemsAt(o.at(key), raw) {
		itemPath := config.Index(o.at(key), i)
		port, ok := o.r.portAt(itemPath, item)
		switch {
		case !ok:
		case slices.Contains(ports, port):
			o.r.problem(itemPath, "%s is listed twice", port)
		default:
			ports = append(ports, port)
		}
	}
	return ports
}

// volumes reads the container paths kept on the persistent disk. They name host directories
// too, so a ".." could point outside the instance's directory.
func (o *object) volumes(key string) []string {
	var volumes []string
	for _, item := range o.stringItems(key) {
		volume, cleaned := item.text, path.Clean(item.text)
		switch {
		case !strings.HasPrefix(volume, "/"):
			o.r.problem(item.path, "%q: must be an absolute path such as /data", volume)
		case slices.Contains(strings.Split(volume, "/"), ".."):
			o.r.problem(item.path, "%q: must not contain ..", volume)
		case cleaned == "/":
			o.r.problem(item.path, "%q: the root of the container cannot be a volume", volume)
		case slices.Contains(volumes, cleaned):
			o.r.problem(item.path, "%s is listed twice", cleaned)
		default:
			volumes = append(volumes, cleaned)
		}
	}
	return volumes
}

func (o *object) memory() (memory, swap int64) {
	if raw, ok := o.value("memory"); ok {
		if n, ok := o.r.sizeAt(o.at("memory"), raw); ok {
			switch {
			case n < 0:
				o.r.problem(o.at("memory"), "%d: must not be negative; leave it out for no limit", n)
			case n > 0 && n < dockerMinimumMemory:
				o.r.problem(o.at("memory"), "%d bytes: Docker refuses less than 6m", n)
			default:
				memory = n
			}
		}
	}
	if raw, ok := o.value("memory_swap"); ok {
		if n, ok := o.r.sizeAt(o.at("memory_swap"), raw); ok {
			switch {
			case n < -1:
				o.r.problem(o.at("memory_swap"), "%d: must be -1 (unlimited swap) or a size", n)
			case n != 0 && memory == 0:
				o.r.problem(o.at("memory_swap"), "needs container.memory: Docker limits swap only with memory")
			case n > 0 && n < memory:
				o.r.problem(o.at("memory_swap"), "%d bytes: less than container.memory (%d bytes); it counts memory plus swap", n, memory)
			default:
				swap = n
			}
		}
	}
	return memory, swap
}

func (o *object) cpuShares(key string) int64 {
	raw, ok := o.value(key)
	if !ok {
		return 0
	}
	n, ok := o.r.wholeNumberAt(o.at(key), raw)
	if ok && n < 0 {
		o.r.problem(o.at(key), "%d: must not be negative", n)
		return 0
	}
	return n
}

func (o *object) capabilities(key string) []string {
	var capabilities []string
	for _, item := range o.stringItems(key) {
		if !capabilityPattern.MatchString(item.text) {
			o.r.problem(item.path, "%q: not a capability name such as NET_ADMIN", item.text)
		}
		capabilities = append(capabilities, item.text)
	}
	return capabilities
}
