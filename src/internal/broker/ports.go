package broker

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// allocatePorts gives each of the container ports a host port and records them with the
// instance before any container uses them. Ports the instance already has are kept, so a
// recreated container (restart, update, reconciliation) keeps its address. New ones come from
// the configured range, skipping those of every other instance (running or not) and those some
// other process holds on this host.
func (b *Broker) allocatePorts(inst *store.Instance, containerPorts []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	all, err := b.store.Instances()
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	for _, other := range all {
		if other.ID == inst.ID {
			continue
		}
		for _, hostPort := range other.Ports {
			taken[hostPort] = true
		}
	}
	next := b.cfg.PortRange[0]
	allocated := map[string]string{}
	for _, containerPort := range containerPorts {
		if hostPort, ok := inst.Ports[containerPort]; ok {
			allocated[containerPort] = hostPort
			continue
		}
		_, proto, _ := strings.Cut(containerPort, "/")
		for ; next <= b.cfg.PortRange[1]; next++ {
			candidate := strconv.Itoa(next)
			if taken[candidate] || inUse(b.cfg.BindIP, proto, next) {
				continue
			}
			allocated[containerPort] = candidate
			taken[candidate] = true
			break
		}
		if _, ok := allocated[containerPort]; !ok {
			return forUser(nil, "the broker has no free host port left in its range %d-%d for the service's port %s: delete an instance, or ask the operator to widen the broker's port range", b.cfg.PortRange[0], b.cfg.PortRange[1], containerPort)
		}
	}
	inst.Ports = allocated
	// Only the ports are recorded: the rest of inst may be what an update is moving to, which
	// the record shows only once the update succeeded.
	stored, found, err := b.store.Instance(inst.ID)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("instance %s has no record", inst.ID)
	}
	stored.Ports = allocated
	return b.store.PutInstance(stored)
}

// inUse reports whether some process already listens on ip:port, by trying to listen there.
func inUse(ip, proto string, port int) bool {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	if proto == "udp" {
		conn, err := net.ListenPacket("udp", addr)
		if err != nil {
			return true
		}
		conn.Close()
		return false
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return true
	}
	l.Close()
	return false
}
