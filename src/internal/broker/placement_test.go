package broker

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
)

// placingEngine is the fake engine as an engine of several machines: it places every new
// instance on node, at address.
type placingEngine struct {
	*fakeEngine
	mu            sync.Mutex
	node, address string
	placed        []string // the names Place was asked for
}

func (p *placingEngine) Place(_ context.Context, name string, _ int64) (string, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.placed = append(p.placed, name)
	return p.node, p.address, nil
}

func TestAnInstanceStaysOnTheMachineItWasPlacedOnAndIsReachedAtItsAddress(t *testing.T) {
	e := buildEnv(t, nil)
	placing := &placingEngine{fakeEngine: e.engine, node: "node-2", address: "10.0.0.12"}
	e.brokerEngine = placing
	e.restart()

	inst := e.mustProvision("i1", svcRedis, planFree, "")
	if inst.Node != "node-2" || inst.Host != "10.0.0.12" {
		t.Errorf("record: node %q host %q, want node-2 at 10.0.0.12", inst.Node, inst.Host)
	}
	if c := e.container("i1"); c.Spec.Node != "node-2" {
		t.Errorf("container asked for on node %q, want node-2", c.Spec.Node)
	}
	resp, err := e.bind("i1", "b1", planFree, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	var creds map[string]any
	if err := json.Unmarshal(resp.Credentials, &creds); err != nil {
		t.Fatal(err)
	}
	if creds["host"] != "10.0.0.12" {
		t.Errorf("credentials host %v, want the node's address 10.0.0.12, not the broker's %s", creds["host"], externalHost)
	}

	// The engine would place a new instance elsewhere now; i1's data is on node-2.
	placing.node, placing.address = "node-3", "10.0.0.13"
	// The container is gone (its task's node lost it): the restarted broker recreates it.
	if err := e.engine.RemoveContainer(context.Background(), e.container("i1").ID); err != nil {
		t.Fatal(err)
	}
	e.restart()
	if c := e.container("i1"); c.Spec.Node != "node-2" {
		t.Errorf("recreated container on node %q, want node-2, where its data is", c.Spec.Node)
	}
	if len(placing.placed) != 1 {
		t.Errorf("Place asked %d times (%v), want once: a placed instance stays", len(placing.placed), placing.placed)
	}
}
