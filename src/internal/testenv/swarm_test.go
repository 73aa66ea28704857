package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// diskUser runs a container on node that mounts the swarm's DiskRoot at /disk, as the node
// disk's helpers and the instances' containers mount their directories there.
func diskUser(t *testing.T, s *Swarm, node *SwarmNode, name string) string {
	t.Helper()
	c := node.Run(t, dockerengine.ContainerSpec{
		Name:       name,
		Image:      node.Standin(t, standin.Redis),
		Entrypoint: []string{"sleep", "infinity"},
		Binds:      []string{s.DiskRoot + ":/disk"},
	})
	return c.ID
}

func TestEachSwarmNodeHasADiskOfItsOwnAtTheSamePath(t *testing.T) {
	s := StartSwarm(t, SwarmOptions{Nodes: 2, Prefix: "hadisk"})
	ctx := context.Background()
	if err := os.WriteFile(filepath.Join(s.Nodes[0].DiskDir, "node0"), []byte("node 0's\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	writer := diskUser(t, s, s.Nodes[1], "hadisk-writer")
	if _, err := s.Nodes[1].Shell(ctx, writer, "mkdir /disk/cf-1 && echo hello > /disk/cf-1/data"); err != nil {
		t.Fatalf("writing on node 1's disk: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(s.Nodes[1].DiskDir, "cf-1", "data")); err != nil || string(got) != "hello\n" {
		t.Errorf("node 1's DiskDir holds %q, %v; want what its container wrote", got, err)
	}
	for _, path := range []string{filepath.Join(s.Nodes[0].DiskDir, "cf-1"), filepath.Join(s.DiskRoot, "cf-1")} {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s: %v; want no such file: node 1's directory is on node 1's disk alone", path, err)
		}
	}

	reader := diskUser(t, s, s.Nodes[0], "hadisk-reader")
	if out, err := s.Nodes[0].Shell(ctx, reader, "cat /disk/node0; ls /disk"); err != nil || out != "node 0's\nnode0" {
		t.Errorf("node 0 sees on its disk %q, %v; want its own file alone", out, err)
	}

	// A recreated VM gets its persistent disk back.
	s.Recreate(t, 1)
	again := diskUser(t, s, s.Nodes[1], "hadisk-again")
	if out, err := s.Nodes[1].Shell(ctx, again, "cat /disk/cf-1/data"); err != nil || out != "hello" {
		t.Errorf("node 1 recreated reads %q, %v from its disk; want what it wrote before", out, err)
	}
}
