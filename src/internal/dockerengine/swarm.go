package dockerengine

// SwarmPort is the port of swarm's cluster management traffic (raft and joins) on every node.
const SwarmPort = "2377"

// LocalSwarm is what an engine knows of its own swarm membership.
type LocalSwarm struct {
	NodeID   string // empty unless the engine is in a swarm
	NodeAddr string // the address this node advertises to the swarm
	// State is "inactive" (in no swarm), "pending" (joining), "active", "error" or "locked".
	State string
	// Manager says that this node is a manager that answers swarm API calls (ControlAvailable).
	Manager bool
	Error   string // why State is "error"
}

// Member tells whether the engine takes part in a swarm.
func (l LocalSwarm) Member() bool { return l.State == "active" }

// JoinTokens are the secrets that let an engine join a swarm as a worker or as a manager.
type JoinTokens struct {
	Worker  string
	Manager string
}
