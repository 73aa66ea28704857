package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/upgrade"
)

// BenchmarkUpgradeAllInstances compares the upgrade-all-instances errand (the binary, directly
// through the broker, one instance at a time) after a tag bump of redis74 with what an upgrade
// amounts to without the broker: the same kind of container recreated on the new tag through
// the Engine API (stop, remove, create, start, wait until its port has accepted connections
// for the plan's hold, as the broker's health check does). Per instance, and their ratio.
func BenchmarkUpgradeAllInstances(b *testing.B) {
	const instances = 5
	br := startBroker(b, brokertest.Services(b, "services/op-redis74.yml"), "upgradeall-bench-"+e2eBrokerName, [2]int{25400, 25449})
	ctx := context.Background()
	client := osbclient.New(osbclient.Config{URL: br.URL, Username: brokertest.Username, Password: brokertest.Password, PollInterval: 100 * time.Millisecond})
	cat, err := client.Catalog(ctx)
	if err != nil {
		b.Fatal(err)
	}
	service, plan := cat.Services[0], cat.Services[0].Plans[0]
	hold := br.Config.Catalog.Services[0].Plans[0].HealthCheck.Hold.D()
	engine := br.Docker.Engine
	policy := upgrade.Policy{Canaries: 1, MaxInFlight: 1, Attempts: 1}

	for round := range b.N {
		for i := range instances {
			id := fmt.Sprintf("bench-%d-%d", round, i)
			if err := client.Provision(ctx, osbapi.ProvisionRequest{InstanceID: id, ServiceID: service.ID, PlanID: plan.ID, OrganizationGUID: "o", SpaceGUID: "s"}); err != nil {
				b.Fatal(err)
			}
		}
		br.Config.Catalog.Services[0].Plans[0].Container.Tag = []string{"7", "7.4"}[round%2]
		br.Restart()
		start := time.Now()
		if out, err := runUpgradeAll(b, upgradeConfig(br, policy)); err != nil {
			b.Fatalf("upgrade-all-instances: %v\n%s", err, out)
		}
		errand := time.Since(start) / instances

		raw := make([]string, instances)
		for i := range raw {
			raw[i] = rawRedis(b, engine, "redis:7.4", fmt.Sprintf("raw-%d-%d", round, i), hold)
		}
		start = time.Now()
		for i, id := range raw {
			if err := engine.StopContainer(ctx, id, br.Config.StopGrace); err != nil {
				b.Fatal(err)
			}
			if err := engine.RemoveContainer(ctx, id); err != nil {
				b.Fatal(err)
			}
			rawRedis(b, engine, "redis:7", fmt.Sprintf("raw-%d-%d", round, i), hold)
		}
		recreate := time.Since(start) / instances
		b.Logf("upgrade per instance, %d one at a time: errand %s, raw recreate through the Engine API %s, ratio %.2f",
			instances, errand.Round(time.Millisecond), recreate.Round(time.Millisecond), float64(errand)/float64(recreate))
		b.ReportMetric(errand.Seconds(), "errand-s/instance")
		b.ReportMetric(recreate.Seconds(), "raw-s/instance")
		b.ReportMetric(float64(errand)/float64(recreate), "ratio")
		for i := range instances { // the next round upgrades its own
			if err := client.Deprovision(ctx, fmt.Sprintf("bench-%d-%d", round, i), service.ID, plan.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// rawRedis creates and starts the stand-in Redis on image as a broker instance would run
// (published port, data volume, restart policy) and returns once it is ready.
func rawRedis(b *testing.B, engine *dockerengine.Client, image, name string, hold time.Duration) string {
	ctx := context.Background()
	data := filepath.Join(os.TempDir(), "upgrade-bench-"+name)
	if err := os.MkdirAll(data, 0o755); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(data) })
	id, err := engine.CreateContainer(ctx, dockerengine.ContainerSpec{
		Name: name, Image: image, Env: []string{"REDIS_PASSWORD=raw-password-0123456789"},
		Ports:         []dockerengine.PortMapping{{ContainerPort: "6379/tcp", HostIP: "127.0.0.1"}},
		Binds:         []string{data + ":/data"},
		RestartPolicy: dockerengine.RestartPolicy{Name: "always"},
		Labels:        map[string]string{"bench": "raw"},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = engine.RemoveContainer(context.Background(), id) })
	if err := engine.StartContainer(ctx, id); err != nil {
		b.Fatal(err)
	}
	c, err := engine.InspectContainer(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	brokertest.WaitAccepting(net.JoinHostPort(c.IPAddress, "6379"), hold)
	return id
}
