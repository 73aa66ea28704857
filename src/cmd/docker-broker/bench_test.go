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
