package broker_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
)

// TestParallelProvisionsOnARealEngine provisions 20 distinct instances at once and sends 10
// identical provisions of one more: 21 containers, each with its own host port.
func TestParallelProvisionsOnARealEngine(t *testing.T) {
	h := newHarness(t, nil)
	var wg sync.WaitGroup
	statuses := make([]int, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("par-%d", i)
			if i >= 20 {
				id = "par-same"
			}
			statuses[i], _ = h.do("PUT", "/v2/service_instances/"+id+"?accepts_incomplete=true", provisionBody(redisService, redisFree))
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusAccepted {
			t.Errorf("provision %d: %d, want 202", i, s)
		}
	}
	for i := range 21 {
		id := fmt.Sprintf("par-%d", i)
		if i == 20 {
			id = "par-same"
		}
		if state, desc := h.waitOperation(id); state != "succeeded" {
			t.Errorf("%s: %s %s", id, state, desc)
		}
	}
	containers, err := h.Docker.Engine.ListContainers(context.Background(), map[string]string{broker.LabelBroker: h.Config.Name})
	if err != nil {
		t.Fatal(err)
	}
	if len(containers) != 21 {
		t.Fatalf("%d containers, want 21 (20 distinct instances and one provisioned 10 times)", len(containers))
	}
	ports := map[string]string{}
	for _, c := range containers {
		full, err := h.Docker.Engine.InspectContainer(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !full.Running || len(full.Ports) != 1 {
			t.Errorf("%s: running %v, ports %+v", full.Name, full.Running, full.Ports)
			continue
		}
		if other, dup := ports[full.Ports[0].HostPort]; dup {
			t.Errorf("%s and %s share host port %s", full.Name, other, full.Ports[0].HostPort)
		}
		ports[full.Ports[0].HostPort] = full.Name
	}
}
