package swarmjoin

import (
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

func TestConfigNamesEveryProblem(t *testing.T) {
	var errs config.Errors
	Config{Enabled: true, AdvertiseAddress: "vm-1", Managers: []string{"10.0.0.1"}, Cert: "client.pem"}.Validate(&errs)
	got := errs.Error()
	for _, want := range []string{"swarm.advertise_address", "swarm.managers[0]", "swarm.ca_cert", "swarm.cert", "swarm.key"} {
		if !strings.Contains(got, want+":") {
			t.Errorf("no problem named %s in:\n%s", want, got)
		}
	}
}

func TestADisabledConfigIsNotChecked(t *testing.T) {
	var errs config.Errors
	Config{AdvertiseAddress: "not an address"}.Validate(&errs)
	if err := errs.Err(); err != nil {
		t.Errorf("swarm off: %v", err)
	}
}
