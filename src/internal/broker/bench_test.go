package broker_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

// The benchmarks print figures (make bench); they assert nothing about speed.

// BenchmarkProvisionToReady compares a provision through the broker (HTTP, synchronous: the
// answer comes when the container accepts connections) with the same container made directly
// through the Engine API (create, start, wait for the port), one at a time and 20 at once.
func BenchmarkProvisionToReady(b *testing.B) {
	h := newHarness(b, nil)
	image := h.Docker.Standin(b, standin.Redis)
	const rounds, parallel = 5, 20

	serial := func(fn func(i int)) time.Duration {
		var total time.Duration
		for i := range rounds {
			start := time.Now()
			fn(i)
			total += time.Since(start)
		}
		return total / rounds
	}
	concurrent := func(fn func(i int)) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for i := range parallel {
			wg.Add(1)
			go func() { defer wg.Done(); fn(i) }()
		}
		wg.Wait()
		return time.Since(start)
	}
	viaBroker := func(prefix string) func(i int) {
		return func(i int) {
			status, body := h.do("PUT", fmt.Sprintf("/v2/service_instances/%s-%d", prefix, i), provisionBody(redisService, redisFree))
			if status != http.StatusCreated {
				b.Fatalf("provision: %d %s", status, body)
			}
		}
	}
	// The broker's readiness includes the plan's hold; the raw path holds as long.
	_, plan, _ := h.Config.Catalog.PlanByID(redisFree)
	raw := func(prefix string) func(i int) {
		return func(i int) {
			rawProvision(b, h.Docker.Engine, image, fmt.Sprintf("%s-%d", prefix, i), plan.HealthCheck.Hold.D())
		}
	}
	// The engine's first container of an image is slower; warm both paths up untimed.
	viaBroker("bench-warm")(0)
	raw("raw-warm")(0)
	b.ResetTimer()
	for range b.N {
		brokerOne, rawOne := serial(viaBroker("bench-one")), serial(raw("raw-one"))
		brokerMany, rawMany := concurrent(viaBroker("bench-many")), concurrent(raw("raw-many"))
		b.Logf("provision to ready, one at a time: broker %s, raw engine %s, ratio %.2f (target <= 1.10)", brokerOne.Round(time.Millisecond), rawOne.Round(time.Millisecond), float64(brokerOne)/float64(rawOne))
		b.Logf("provision to ready, %d at once:    broker %s, raw engine %s, ratio %.2f (target <= 1.30)", parallel, brokerMany.Round(time.Millisecond), rawMany.Round(time.Millisecond), float64(brokerMany)/float64(rawMany))
		b.ReportMetric(float64(brokerOne)/float64(rawOne), "ratio-serial")
		b.ReportMetric(float64(brokerMany)/float64(rawMany), "ratio-20")
	}
}

// rawProvision is what a provision amounts to without the broker: the same container made
// through the Engine API, ready when its port has accepted connections for hold.
func rawProvision(b *testing.B, engine *dockerengine.Client, image, name string, hold time.Duration) {
	ctx := context.Background()
	id, err := engine.CreateContainer(ctx, dockerengine.ContainerSpec{
		Name: name, Image: image, Env: []string{"REDIS_PASSWORD=raw-password-0123456789"},
		Ports:         []dockerengine.PortMapping{{ContainerPort: "6379/tcp", HostIP: "127.0.0.1"}},
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
}

// BenchmarkCatalogAndBindLatency measures request latency as a platform sees it.
func BenchmarkCatalogAndBindLatency(b *testing.B) {
	h := newHarness(b, nil)
	h.provision("latency", redisService, redisFree)
	b.ResetTimer()
	for range b.N {
		catalog := measure(1000, func(int) {
			if status, _ := h.do("GET", "/v2/catalog", nil); status != http.StatusOK {
				b.Fatal(status)
			}
		})
		bind := measure(200, func(i int) {
			h.bind("latency", fmt.Sprintf("binding-%d", i), redisService, redisFree)
		})
		b.Logf("catalog: p50 %s p99 %s (1000 requests)", catalog[0], catalog[1])
		b.Logf("bind:    p50 %s p99 %s (200 new bindings)", bind[0], bind[1])
	}
}

// measure runs fn n times and returns the 50th and 99th percentile durations.
func measure(n int, fn func(i int)) [2]time.Duration {
	d := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		fn(i)
		d[i] = time.Since(start)
	}
	return percentiles(d)
}

// BenchmarkBindingUsers compares bind and unbind with per-binding users through the broker
// (HTTP, the user created or dropped by the plan's command before the answer) with a raw exec
// of the same command through the Engine API, for PostgreSQL and Redis. The two are
// interleaved, so that both see the same load.
func BenchmarkBindingUsers(b *testing.B) {
	for _, file := range []string{"services/op-postgresql17.yml", "services/op-redis74.yml"} {
		b.Run(file, func(b *testing.B) {
			services := brokertest.Services(b, file)
			cat, _, err := catalog.Parse(services)
			if err != nil {
				b.Fatal(err)
			}
			service, plan := cat.Services[0].ID, cat.Services[0].Plans[0]
			h := startHarness(b, services, nil)
			const id, n = "bench-users", 40
			h.provision(id, service, plan.ID)
			inst, _, err := h.Store.Instance(id)
			if err != nil {
				b.Fatal(err)
			}
			raw := func(cmd []string, user int) {
				env := []string{
					catalog.EnvBindingUsername + fmt.Sprintf("=uraw%011d", user), catalog.EnvBindingPassword + "=rawpassword0123456789abc",
					catalog.EnvInstanceUsername + "=" + inst.Credentials.Username, catalog.EnvInstancePassword + "=" + inst.Credentials.Password,
					catalog.EnvInstanceDBName + "=" + inst.Credentials.DBName,
				}
				execID, err := h.Docker.Engine.CreateExec(context.Background(), "cf-"+id, dockerengine.Exec{Cmd: cmd, Env: env})
				if err != nil {
					b.Fatal(err)
				}
				if res, err := h.Docker.Engine.StartExec(context.Background(), execID); err != nil || res.ExitCode != 0 {
					b.Fatalf("raw exec: %v %d %s", err, res.ExitCode, res.Output)
				}
			}
			b.ResetTimer()
			for range b.N {
				var bind, rawCreate, unbindT, rawDrop []time.Duration
				timed := func(into *[]time.Duration, fn func()) {
					start := time.Now()
					fn()
					*into = append(*into, time.Since(start))
				}
				for i := range n {
					binding := fmt.Sprintf("b-%d", i)
					timed(&bind, func() { h.bind(id, binding, service, plan.ID) })
					timed(&rawCreate, func() { raw(plan.Bindings.Create, i) })
					timed(&unbindT, func() { unbind(b, h, id, binding, service, plan.ID) })
					timed(&rawDrop, func() { raw(plan.Bindings.Drop, i) })
				}
				for _, row := range []struct {
					what       string
					broker, rw []time.Duration
				}{{"bind  ", bind, rawCreate}, {"unbind", unbindT, rawDrop}} {
					bp, rp := percentiles(row.broker), percentiles(row.rw)
					b.Logf("%s %s: broker p50 %s p99 %s; raw exec p50 %s p99 %s; ratio p50 %.2f p99 %.2f (target <= 1.2)",
						cat.Services[0].Name, row.what, bp[0], bp[1], rp[0], rp[1], float64(bp[0])/float64(rp[0]), float64(bp[1])/float64(rp[1]))
				}
			}
		})
	}
}

// percentiles returns the 50th and 99th percentile of d.
func percentiles(d []time.Duration) [2]time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	n := len(d)
	return [2]time.Duration{d[n/2].Round(time.Microsecond), d[n*99/100].Round(time.Microsecond)}
}
