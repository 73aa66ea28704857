package swarm

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

var _ broker.NodeLister = (*Engine)(nil)

func TestNodesListsEveryMemberWithTheAddressClientsReachItAt(t *testing.T) {
	down := node("b", 8*gib)
	down.State = "down"
	m := newFakeManager(node("a", 8*gib), down)
	e, err := New(Config{Manager: m, MaxContainersPerNode: 7, Nodes: map[string]Node{
		"a": {Engine: newFakeNode(), Address: "10.0.0.1"},
		"b": {Engine: newFakeNode()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := e.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(nodes, func(x, y dockerengine.Node) int { return strings.Compare(x.ID, y.ID) })
	var got []string
	for _, n := range nodes {
		got = append(got, n.ID+" "+n.State+" "+n.Addr)
	}
	if want := []string{"a ready 10.0.0.1", "b down addr-b"}; !slices.Equal(got, want) {
		t.Errorf("nodes %q, want %q: the address the broker was given, else the one the node reaches the managers from, and a node that is down too", got, want)
	}
	if e.MaxContainersPerNode() != 7 {
		t.Errorf("max containers per node %d, want 7", e.MaxContainersPerNode())
	}
}
