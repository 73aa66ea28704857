package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// BenchmarkBrokerAt200Instances provisions 200 instances through the docker-broker binary,
// restarts it, and reports how long it takes to answer again (reconciling 200 records with
// 200 containers) and its resident memory. It prints figures; it asserts nothing about them.
func BenchmarkBrokerAt200Instances(b *testing.B) {
	const instances, parallel = 200, 20
	p := startBrokerProcess(b, seedServices(b))
	for range b.N {
		sem := make(chan struct{}, parallel)
		var wg sync.WaitGroup
		for i := range instances {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				id := fmt.Sprintf("bench-%d", i)
				status, body := p.request("PUT", "/v2/service_instances/"+id, map[string]any{
					"service_id": redisService, "plan_id": redisFree, "organization_guid": "o", "space_guid": "s"})
				if status != http.StatusCreated {
					b.Errorf("provision %s: %d %s", id, status, body)
				}
			}()
		}
		wg.Wait()
		if b.Failed() {
			b.FailNow()
		}
		p.stop(syscall.SIGTERM)
		start := time.Now()
		p.start()
		startup := time.Since(start)
		for i := range 50 {
			p.request("GET", "/v2/catalog", nil)
			p.request("GET", fmt.Sprintf("/v2/service_instances/bench-%d/last_operation", i), nil)
		}
		rss := residentKB(b, p.cmd.Process.Pid)
		b.Logf("broker start with %d instances (until the catalog answers): %s", instances, startup.Round(time.Millisecond))
		b.Logf("broker RSS with %d instances: %.1f MB (target < 40 MB)", instances, float64(rss)/1024)
		b.ReportMetric(startup.Seconds(), "start-s")
		b.ReportMetric(float64(rss)/1024, "rss-MB")
	}
}

// residentKB reads VmRSS of pid from /proc.
func residentKB(b *testing.B, pid int) int {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkProvisionOnASwarm compares provisions through the docker-broker binary on a swarm of
// three docker VMs (testenv.StartSwarm) with provisions through it on one plain engine, same
// image (the redis stand-in) and plan: one provision to ready at a time, each after a first
// one that warmed the engine up (the target for the ratio is 1.3 at most), then 30
// provisions at once.
func BenchmarkProvisionOnASwarm(b *testing.B) {
	s := testenv.StartSwarm(b, testenv.SwarmOptions{Nodes: 3, Managers: 1, Prefix: "stb"})
	onSwarm := startSwarmBroker(b, s, 0)
	plain := startBrokerProcess(b, swarmServices(b), func(cfg map[string]any) { cfg["port_range"] = "27600-27699" })
	// Asynchronous, polled every 300 ms until every one is ready.
	provisions := func(p *brokerProcess, ids ...string) time.Duration {
		start := time.Now()
		p.provisionAll(b, redisService, redisFree, ids)
		return time.Since(start)
	}
	// Synchronous: the broker answers when the instance is ready, with no polling in between.
	one := func(p *brokerProcess, id string) time.Duration {
		start := time.Now()
		if status, body := p.request("PUT", "/v2/service_instances/"+id, provisionBody(redisService, redisFree)); status != http.StatusCreated {
			b.Fatalf("provision %s: %d %s", id, status, body)
		}
		return time.Since(start)
	}
	for i := range b.N {
		one(onSwarm, fmt.Sprintf("warm-%d", i))
		one(plain, fmt.Sprintf("warm-%d", i))
		swarm := one(onSwarm, fmt.Sprintf("one-%d", i))
		engine := one(plain, fmt.Sprintf("one-%d", i))
		b.Logf("provision to ready: swarm %s, plain engine %s, ratio %.2f (target <= 1.30)", swarm.Round(time.Millisecond), engine.Round(time.Millisecond), float64(swarm)/float64(engine))
		b.ReportMetric(float64(swarm)/float64(engine), "one-ratio")

		var ids []string
		for j := range 30 {
			ids = append(ids, fmt.Sprintf("many-%d-%d", i, j))
		}
		swarm, engine = provisions(onSwarm, ids...), provisions(plain, ids...)
		b.Logf("30 provisions at once to ready: swarm of 3 nodes %s, one plain engine %s, ratio %.2f", swarm.Round(time.Millisecond), engine.Round(time.Millisecond), float64(swarm)/float64(engine))
		b.ReportMetric(swarm.Seconds(), "30-swarm-s")
		b.ReportMetric(engine.Seconds(), "30-engine-s")
	}
}
