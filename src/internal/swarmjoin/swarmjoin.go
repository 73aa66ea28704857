// Package swarmjoin makes a docker VM's engine a member of its deployment's Docker Swarm, the
// way the BOSH `docker` job needs it on every start: the bootstrap VM creates the swarm when no
// manager answers; every other VM asks a manager for the join token over the managers'
// mutual-TLS Engine API and joins as manager or worker. Running it again converges: a member
// does nothing, the entry a recreated VM left behind (same address, now down) is removed, and a
// worker that the managers do not know (their swarm was made anew) leaves its old swarm and
// joins theirs. For the job's drain it takes the VM's node out of the swarm's scheduling, so
// that the swarm stops the node's tasks gracefully and restarts none there, and converging puts
// the node back when the VM starts again (drain.go).
//
// It is a package of its own, beside supervisor, because it is the deployment's topology, not
// the supervision of one dockerd: the supervisor only calls Run once dockerd answers.
package swarmjoin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// Engine is what joining asks of an engine: of this VM's own, and of a manager's.
type Engine interface {
	LocalSwarm(ctx context.Context) (dockerengine.LocalSwarm, error)
	InitSwarm(ctx context.Context, advertiseAddr string) (string, error)
	JoinSwarm(ctx context.Context, advertiseAddr, managerAddr, token string) error
	LeaveSwarm(ctx context.Context) error
	JoinTokens(ctx context.Context) (dockerengine.JoinTokens, error)
	ListNodes(ctx context.Context) ([]dockerengine.Node, error)
	InspectNode(ctx context.Context, id string) (dockerengine.Node, error)
	UpdateNode(ctx context.Context, id string, change dockerengine.NodeChange) error
	DemoteNode(ctx context.Context, id string) error
	RemoveNode(ctx context.Context, id string) error
}

// Remote is another VM's engine, reached over the network.
type Remote interface {
	Engine
	Close() error
}

// Connect opens a client of the engine whose API listens at address ("ip:port").
type Connect func(address string) (Remote, error)

// ConnectTLS reaches the managers with the config's mutual-TLS client certificate.
func ConnectTLS(cfg Config) Connect {
	files := dockerengine.TLSFiles{CACert: cfg.CACert, Cert: cfg.Cert, Key: cfg.Key, ServerName: cfg.ServerName}
	return func(address string) (Remote, error) { return dockerengine.NewTLS(address, files) }
}

// Joiner converges one engine's swarm membership.
type Joiner struct {
	cfg     Config
	local   Engine
	connect Connect
	log     *slog.Logger
}

// New returns a joiner for the engine local, configured by cfg (defaults applied, validated).
func New(cfg Config, local Engine, connect Connect, log *slog.Logger) *Joiner {
	return &Joiner{cfg: cfg, local: local, connect: connect, log: log}
}

// Run converges until this engine is a member without a stale entry, retrying every
// retry_interval while it cannot (no manager answers yet, the old entry is not seen down yet),
// or until ctx ends.
func (j *Joiner) Run(ctx context.Context) error {
	for {
		err := j.Converge(ctx)
		if err == nil {
			return nil
		}
		j.log.Info("not a member of the swarm yet; trying again", "reason", err.Error(), "in", j.cfg.RetryInterval.D().String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(j.cfg.RetryInterval.D()):
		}
	}
}

// Converge makes one attempt: nil means this engine is a member of the swarm, no other entry
// of the swarm has its address, and its node is back in the swarm's scheduling if this VM's
// BOSH drain took it out (DrainNode).
func (j *Joiner) Converge(ctx context.Context) error {
	self, err := j.local.LocalSwarm(ctx)
	if err != nil {
		return err
	}
	switch self.State {
	case "active":
		if self.Manager {
			return j.settle(ctx, j.local, self.NodeID)
		}
		return j.checkWorker(ctx, self.NodeID)
	case "inactive":
		return j.join(ctx)
	case "pending":
		return errors.New("this engine is still joining a swarm")
	default:
		return fmt.Errorf("this engine's swarm state is %q (%s); see dockerd's log", self.State, self.Error)
	}
}

// join makes an engine that is in no swarm a member: it joins the swarm of the first manager
// that answers, or creates the swarm if it is the bootstrap node and none answers.
func (j *Joiner) join(ctx context.Context) error {
	manager, managerAddr, err := j.findManager(ctx)
	if errors.Is(err, errNoManager) && j.cfg.Bootstrap {
		id, err := j.local.InitSwarm(ctx, j.cfg.AdvertiseAddress)
		if err != nil {
			return err
		}
		j.log.Info("created the swarm: no manager answered", "node_id", id, "advertise_address", j.cfg.AdvertiseAddress, "asked", j.cfg.Managers)
		return nil
	}
	if err != nil {
		return err
	}
	defer manager.Close()
	tokens, err := manager.JoinTokens(ctx)
	if err != nil {
		return err
	}
	role, token := "worker", tokens.Worker
	if j.cfg.Manager {
		role, token = "manager", tokens.Manager
	}
	if err := j.local.JoinSwarm(ctx, j.cfg.AdvertiseAddress, managerAddr, token); err != nil {
		return err
	}
	self, err := j.local.LocalSwarm(ctx)
	if err != nil {
		return err
	}
	j.log.Info("joined the swarm", "role", role, "node_id", self.NodeID, "manager", managerAddr, "advertise_address", j.cfg.AdvertiseAddress)
	return j.removeStale(ctx, manager, self.NodeID)
}

var errNoManager = errors.New("no manager answers")

// findManager returns the first engine of cfg.Managers that manages a swarm, and its swarm
// address; errNoManager (with what each one said) when none does.
func (j *Joiner) findManager(ctx context.Context) (Remote, string, error) {
	var tried []error
	for _, address := range j.cfg.Managers {
		if host, _, _ := net.SplitHostPort(address); host == j.cfg.AdvertiseAddress {
			continue // this engine, which is in no swarm
		}
		remote, err := j.connect(address)
		if err != nil {
			return nil, "", err // a config problem (certificate files), not a manager that is down
		}
		state, err := remote.LocalSwarm(ctx)
		if err == nil && state.Manager {
			return remote, net.JoinHostPort(state.NodeAddr, dockerengine.SwarmPort), nil
		}
		if err == nil {
			err = fmt.Errorf("swarm state %q, not a manager", state.State)
		}
		tried = append(tried, fmt.Errorf("%s: %w", address, err))
		remote.Close()
	}
	return nil, "", fmt.Errorf("%w: %w", errNoManager, errors.Join(tried...))
}

// checkWorker makes sure a worker belongs to the managers' swarm: one whose managers do not list
// it is left over from a swarm that is gone (its only manager lost its disk and the bootstrap
// VM made a new one), so it leaves that swarm and joins theirs.
func (j *Joiner) checkWorker(ctx context.Context, selfID string) error {
	manager, _, err := j.findManager(ctx)
	if err != nil {
		return err
	}
	defer manager.Close()
	nodes, err := manager.ListNodes(ctx)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(nodes, func(n dockerengine.Node) bool { return n.ID == selfID }) {
		return j.settle(ctx, manager, selfID)
	}
	j.log.Info("the managers do not know this node: leaving its old swarm to join theirs", "old_node_id", selfID)
	if err := j.local.LeaveSwarm(ctx); err != nil {
		return err
	}
	return j.join(ctx)
}

// settle finishes the convergence of a node that is a member already, through manager: the
// entries it left behind are removed and a drain of its VM's is undone.
func (j *Joiner) settle(ctx context.Context, manager Engine, selfID string) error {
	if err := j.removeStale(ctx, manager, selfID); err != nil {
		return err
	}
	return j.undrain(ctx, manager, selfID)
}

// removeStale removes the entries of the swarm other than selfID that carry this node's
// address: what this VM left behind before it was recreated with an empty disk. An entry the
// managers do not see down yet may still be the old node shutting down: it is waited for.
func (j *Joiner) removeStale(ctx context.Context, manager Engine, selfID string) error {
	nodes, err := manager.ListNodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.ID == selfID || n.Addr != j.cfg.AdvertiseAddress {
			continue
		}
		if !n.Down() {
			return fmt.Errorf("the swarm has another entry %s with this node's address %s, in state %q: waiting until the managers see it down to remove it", n.ID, n.Addr, n.State)
		}
		if n.Manager {
			if err := manager.DemoteNode(ctx, n.ID); err != nil {
				return err
			}
		}
		if err := manager.RemoveNode(ctx, n.ID); err != nil {
			return err
		}
		j.log.Info("removed the swarm entry this VM left before it was recreated", "old_node_id", n.ID, "node_id", selfID, "address", n.Addr)
	}
	return nil
}
