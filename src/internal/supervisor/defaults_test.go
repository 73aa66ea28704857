package supervisor_test

import (
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/supervisor"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// TestDefaultsAreTheDockerJobs: a config that leaves a key out must mean what the docker job
// renders for it when the manifest sets nothing, so that a dockerd supervised from a config
// written by hand (the tests') runs as on a BOSH VM.
func TestDefaultsAreTheDockerJobs(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	mismatches, err := boshrelease.DefaultMismatches(root, "docker", "config/supervisor.json", nil,
		func(path string) (any, error) { return supervisor.Load(path) })
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mismatches {
		t.Error(m)
	}
}
