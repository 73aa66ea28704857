package swarm

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

func TestRefusalsNameWhatASwarmServiceCannotTakeOnTheEngine(t *testing.T) {
	withUlimits := catalog.Container{Ulimits: []catalog.Ulimit{{Name: "nofile", Soft: 1, Hard: 1}}, CPUShares: 512, CapAdds: []string{"SYS_NICE"}, Sysctls: map[string]string{"kernel.shmmax": "1"}}
	for _, tc := range []struct {
		name      string
		container catalog.Container
		api       string
		want      []string
	}{
		{"nothing special", catalog.Container{Memory: 1 << 30}, "1.41", nil},
		{"privileged on any engine", catalog.Container{Privileged: true}, "1.52", []string{"privileged"}},
		{"ulimits on dockerd 20.10", withUlimits, "1.41", []string{"ulimits"}},
		{"ulimits from Engine 23.0", withUlimits, "1.42", nil},
		{"swap and shm", catalog.Container{Memory: 1 << 30, MemorySwap: 2 << 30, ShmSize: 1 << 26}, "1.41", []string{"memory_swap", "shm_size"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refusals, err := Refusals(tc.container, tc.api)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range refusals {
				got = append(got, r.Setting)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("refused %q, want %q (%v)", got, tc.want, refusals)
			}
		})
	}
	if _, err := Refusals(catalog.Container{}, "v2"); err == nil {
		t.Error("API version v2 accepted")
	}
}

func TestCheckCatalogNamesThePlanAndTheSetting(t *testing.T) {
	cat := &catalog.Catalog{Services: []catalog.Service{
		{Name: "redis74", Plans: []catalog.Plan{{Name: "small"}}},
		{Name: "elasticsearch9", Plans: []catalog.Plan{{Name: "small"}, {Name: "large", Container: catalog.Container{Privileged: true, Ulimits: []catalog.Ulimit{{Name: "memlock", Soft: -1, Hard: -1}}}}}},
	}}
	err := CheckCatalog(cat, "1.41")
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want config.Errors", err)
	}
	var paths []string
	for _, e := range errs {
		paths = append(paths, e.Path)
		if !strings.Contains(e.Problem, "plan large of elasticsearch9") {
			t.Errorf("%s: %q does not name the plan", e.Path, e.Problem)
		}
	}
	want := []string{"services[1].plans[1].container.privileged", "services[1].plans[1].container.ulimits"}
	if !slices.Equal(paths, want) {
		t.Errorf("refused %q, want %q", paths, want)
	}
	cat.Services[1].Plans[1].Container.Privileged = false
	if err := CheckCatalog(cat, "1.44"); err != nil {
		t.Errorf("ulimits alone, on Engine 25: %v", err)
	}
}
