package dockerengine

import (
	"errors"
	"net/netip"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// ContainerSpec is everything the broker decides about a container before it creates it.
// Every setting goes into the create call (Config and HostConfig); nothing is passed at start,
// which current engines would ignore.
type ContainerSpec struct {
	Name          string
	Image         string
	Hostname      string   // "" lets the engine use the container id
	Cmd           []string // nil keeps the image's CMD
	Entrypoint    []string // nil keeps the image's ENTRYPOINT
	Env           []string // "KEY=VALUE"; the value may contain '='
	WorkingDir    string
	User          string
	Labels        map[string]string
	Ports         []PortMapping // published ports; the container port is also exposed
	Binds         []string      // "hostdir:containerdir[:options]"
	RestartPolicy RestartPolicy
	Memory        int64 // bytes; 0 is unlimited
	MemorySwap    int64 // bytes; 0 is the engine default, -1 unlimited
	CPUShares     int64
	Privileged    bool
	CapAdd        []string
	CapDrop       []string
	// The settings below are left out of the JSON when unset, so that the broker's digest of a
	// spec without them is what it was before they existed.
	Ulimits []Ulimit          `json:",omitempty"`
	Sysctls map[string]string `json:",omitempty"` // namespaced kernel parameters
	ShmSize int64             `json:",omitempty"` // bytes of /dev/shm; 0 is the engine's default (64m)
	// NetworkMode is the container's network: "" is the engine's default bridge, "host" the
	// host's own network (a client that must reach the host's published ports as apps do).
	NetworkMode string `json:",omitempty"`
	// Node is the machine the container must run on, for an engine that spreads containers
	// over several (a swarm node id); empty on a plain engine.
	Node string `json:",omitempty"`
}

// Ulimit is a resource limit (setrlimit) of the container's processes, by Docker's name for it
// ("nofile"); -1 is unlimited.
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// PortMapping publishes ContainerPort ("6379/tcp") on HostIP:HostPort.
// An empty HostPort lets the engine choose one.
type PortMapping struct {
	ContainerPort string
	HostIP        string
	HostPort      string
}

// RestartPolicy is the engine's restart policy: Name is "no", "always", "unless-stopped"
// or "on-failure" (with MaxRetries).
type RestartPolicy struct {
	Name       string
	MaxRetries int
}

// Container is what the engine reports about one container.
type Container struct {
	ID           string
	Name         string // without the leading '/'
	Image        string
	Labels       map[string]string
	State        string // "created", "running", "restarting", "exited", ...
	Running      bool
	Health       string // the image's HEALTHCHECK: "healthy", "unhealthy", "starting" or "none"
	Pid          int
	ExitCode     int
	RestartCount int
	Ports        []PortMapping // published ports as the engine bound them
	IPAddress    string        // on its first network; how the host reaches it directly
	// Node is the machine it runs on when that is not the engine's own (a swarm node id): the
	// host does not reach IPAddress there, only the published ports on the node's address.
	Node string
}

// ErrNotFound is what a missing container or image is (errors.Is), for fakes of the engine.
var ErrNotFound = cerrdefs.ErrNotFound

// IsNotFound reports whether err says that a container or image does not exist.
func IsNotFound(err error) bool {
	return cerrdefs.IsNotFound(err)
}

// ErrNodeDown is what an engine of several machines (a swarm) says (errors.Is) of the
// container of a machine its managers do not hear from: it runs again when the machine returns.
var ErrNodeDown = errors.New("its docker VM is down")

// IsUnavailable reports whether err says that the engine did not answer at all (dockerd is
// down or restarting), as opposed to an answer refusing the request.
func IsUnavailable(err error) bool {
	return client.IsErrConnectionFailed(err)
}

// IsConflict reports whether err says that the request does not fit the object's state: a
// container name in use, an exec in a container that is not running.
func IsConflict(err error) bool {
	return cerrdefs.IsConflict(err)
}

func parseHostIP(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, errors.New("host IP " + s + " is not an IP address")
	}
	return addr, nil
}
