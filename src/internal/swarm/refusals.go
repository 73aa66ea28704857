package swarm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// Refusal is a container setting of a plan that a swarm service cannot take on the engine in
// use, by its property name in the services file.
type Refusal struct {
	Setting string
	Reason  string
}

func (r Refusal) String() string { return "container." + r.Setting + ": " + r.Reason }

// settings are the plan settings a swarm service may not take, with the engine API version
// from which it does (0 for none the broker maps), as the swarm service API describes them.
// Capabilities (API 1.41, dockerd 20.10) and namespaced sysctls (1.40) it takes on every engine
// the broker supports.
var settings = []struct {
	name     string
	used     func(asked) bool
	minMinor int // 1.<minMinor>
	reason   string
}{
	{"privileged", func(a asked) bool { return a.privileged }, 0,
		"a swarm service cannot run privileged; grant the capabilities it needs (cap_add) instead"},
	{"ulimits", func(a asked) bool { return a.ulimits }, 42,
		"a swarm service takes ulimits from Engine 23.0 (API 1.42); dockerd 20.10 (API 1.41) ignores them"},
	{"memory_swap", func(a asked) bool { return a.memorySwap }, 0,
		"a swarm service has no memory-plus-swap limit (its swap setting needs API 1.52 and differs in meaning); leave it out"},
	{"shm_size", func(a asked) bool { return a.shmSize }, 0,
		"a swarm service has no /dev/shm size; leave it out"},
}

// asked is what a container asks for of the settings above.
type asked struct{ privileged, ulimits, memorySwap, shmSize bool }

// Refusals names the settings of the plan's container that a swarm service on an engine of API
// version apiVersion ("1.41") cannot take, so that the broker refuses the plan at catalog load
// instead of provisioning an instance without them.
func Refusals(c catalog.Container, apiVersion string) ([]Refusal, error) {
	minor, err := apiMinor(apiVersion)
	if err != nil {
		return nil, err
	}
	return refusals(asked{privileged: c.Privileged, ulimits: len(c.Ulimits) > 0, memorySwap: c.MemorySwap != 0, shmSize: c.ShmSize != 0}, minor), nil
}

// CheckCatalog refuses a catalog with a plan whose container a swarm service cannot take on an
// engine of API version apiVersion: the error names every such setting by its path in the
// broker's services property, with the plan and why. The broker's start calls it when its
// engine is a swarm, with the API version of a manager (dockerengine.Client.APIVersion).
func CheckCatalog(cat *catalog.Catalog, apiVersion string) error {
	var errs config.Errors
	for i, s := range cat.Services {
		for j, p := range s.Plans {
			refused, err := Refusals(p.Container, apiVersion)
			if err != nil {
				return err
			}
			for _, r := range refused {
				path := fmt.Sprintf("services[%d].plans[%d].container.%s", i, j, r.Setting)
				errs.Add(path, "plan %s of %s cannot run on this swarm (engine API %s): %s", p.Name, s.Name, apiVersion, r.Reason)
			}
		}
	}
	return errs.Err()
}

func refusals(a asked, minor int) []Refusal {
	var out []Refusal
	for _, s := range settings {
		if s.used(a) && (s.minMinor == 0 || minor < s.minMinor) {
			out = append(out, Refusal{Setting: s.name, Reason: s.reason})
		}
	}
	return out
}

// refusedSettings are the settings of spec no swarm service takes on any engine: the last
// guard should a plan with them reach CreateContainer. Ulimits are the catalog's to refuse,
// knowing the engine's version.
func refusedSettings(spec dockerengine.ContainerSpec) []string {
	var names []string
	for _, r := range refusals(asked{privileged: spec.Privileged, memorySwap: spec.MemorySwap != 0, shmSize: spec.ShmSize != 0}, 0) {
		names = append(names, r.Setting)
	}
	if spec.NetworkMode != "" {
		names = append(names, "network mode "+strconv.Quote(spec.NetworkMode))
	}
	return names
}

// apiMinor is the minor number of an Engine API version "1.<minor>".
func apiMinor(version string) (int, error) {
	major, minor, ok := strings.Cut(version, ".")
	n, err := strconv.Atoi(minor)
	if !ok || major != "1" || err != nil {
		return 0, fmt.Errorf("engine API version %q is not 1.<minor>", version)
	}
	return n, nil
}
