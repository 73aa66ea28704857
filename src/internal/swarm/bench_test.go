package swarm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// The benchmark prints figures (make bench); it asserts nothing about speed.

// BenchmarkProvisionToReadyOnASwarm compares a provision of redis74 through a broker on the
// swarm Engine with one through a broker on the plain engine of the same node, same image:
// each synchronous (the answer comes when the instance is ready), one at a time.
func BenchmarkProvisionToReadyOnASwarm(b *testing.B) {
	node := testenv.StartSwarm(b, testenv.SwarmOptions{Nodes: 1, Prefix: swarmPrefix}).Nodes[0]
	cat := redis74(b, node)
	onSwarm := startBroker(b, swarmEngine(b, node), node, nil, cat, "swe-bench-swarm", [2]int{27000, 27099})
	plain := startBroker(b, node.Engine, node, nil, cat, "swe-bench-plain", [2]int{27100, 27199})
	service := cat.Services[0]
	provision := func(br *testBroker, id string) time.Duration {
		start := time.Now()
		provisionSync(b, br.url, id, service.ID, service.Plans[0].ID)
		return time.Since(start)
	}
	// The first container of an image, and the first service, are slower: warm both up.
	provision(onSwarm, "swe-warm-swarm")
	provision(plain, "swe-warm-plain")
	b.ResetTimer()
	for i := range b.N {
		swarm := provision(onSwarm, fmt.Sprintf("swe-swarm-%d", i))
		engine := provision(plain, fmt.Sprintf("swe-plain-%d", i))
		b.Logf("provision to ready: swarm %s, plain engine %s, ratio %.2f (target <= 1.30)", swarm.Round(time.Millisecond), engine.Round(time.Millisecond), float64(swarm)/float64(engine))
		b.ReportMetric(float64(swarm)/float64(engine), "ratio")
	}
}

// provisionSync provisions instanceID without accepting an asynchronous answer: the broker
// answers when the instance is ready.
func provisionSync(tb testing.TB, url, instanceID, serviceID, planID string) {
	tb.Helper()
	body, _ := json.Marshal(osbapi.ProvisionRequest{ServiceID: serviceID, PlanID: planID, OrganizationGUID: "org", SpaceGUID: "space"})
	req, err := http.NewRequest(http.MethodPut, url+"/v2/service_instances/"+instanceID, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.SetBasicAuth(brokertest.Username, brokertest.Password)
	req.Header.Set("X-Broker-API-Version", "2.17")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		var msg bytes.Buffer
		_, _ = msg.ReadFrom(resp.Body)
		tb.Fatalf("provision %s: %s %s", instanceID, resp.Status, msg.String())
	}
}
