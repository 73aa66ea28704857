package upgrade

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// fakePlatform is a Platform of n outdated instances i0, i1, ... Each Upgrade answers the next
// error scripted for its instance (nil once the script is used up) and counts the upgrades in
// flight. The instances of barrier are held until they are all in flight at once.
type fakePlatform struct {
	instances []Instance
	listErr   error

	mu          sync.Mutex
	script      map[string][]error
	attempts    map[string]int
	inFlight    int
	maxInFlight int
	barrier     map[string]bool
	arrived     int
	released    chan struct{}
}

func newFake(n int) *fakePlatform {
	f := &fakePlatform{script: map[string][]error{}, attempts: map[string]int{}, released: make(chan struct{})}
	for i := range n {
		id := fmt.Sprintf("i%d", i)
		f.instances = append(f.instances, Instance{ID: id, Name: id, Service: "redis", Plan: "small", ServiceID: "s", PlanID: "p", From: "1.0.0", To: "1.0.1"})
	}
	return f
}

func (f *fakePlatform) Outdated(context.Context) ([]Instance, error) { return f.instances, f.listErr }

func (f *fakePlatform) Upgrade(_ context.Context, inst Instance) error {
	f.mu.Lock()
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.attempts[inst.ID]++
	var err error
	if s := f.script[inst.ID]; len(s) > 0 {
		err, f.script[inst.ID] = s[0], s[1:]
	}
	held := f.barrier[inst.ID]
	if held {
		if f.arrived++; f.arrived == len(f.barrier) {
			close(f.released)
		}
	}
	f.mu.Unlock()
	if held {
		<-f.released
	}
	for range 10 { // give the other upgrades of the batch a chance to overlap this one
		runtime.Gosched()
	}
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
	return err
}

func (f *fakePlatform) totalAttempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, a := range f.attempts {
		n += a
	}
	return n
}

func policy(canaries, maxInFlight, attempts int) Policy {
	return Policy{Canaries: canaries, MaxInFlight: maxInFlight, Attempts: attempts, Backoff: config.Duration(time.Millisecond)}
}

func run(t *testing.T, f *fakePlatform, p Policy) (Summary, string, error) {
	t.Helper()
	var out strings.Builder
	s, err := Run(context.Background(), f, p, &out)
	return s, out.String(), err
}

func TestNothingOutdatedChangesNothing(t *testing.T) {
	f := newFake(0)
	s, out, err := run(t, f, DefaultPolicy())
	if err != nil || s != (Summary{}) || !strings.Contains(out, "0 instances need an upgrade") {
		t.Fatalf("summary %+v, error %v, output:\n%s", s, err, out)
	}
}

func TestAListingErrorIsTheRunsError(t *testing.T) {
	f := newFake(2)
	f.listErr = errors.New("GET /admin/instances: the broker answered 401")
	if _, _, err := run(t, f, DefaultPolicy()); !errors.Is(err, f.listErr) || f.totalAttempts() != 0 {
		t.Fatalf("error %v after %d upgrades, want the listing's and none", err, f.totalAttempts())
	}
}

func TestAFailedCanaryStopsTheRollout(t *testing.T) {
	f := newFake(5)
	f.script["i0"] = []error{errors.New("update of instance i0 failed: the image redis:8 is not on this VM")}
	s, out, err := run(t, f, policy(1, 3, 5))
	if !errors.Is(err, ErrNotAllUpgraded) {
		t.Errorf("error %v, want ErrNotAllUpgraded", err)
	}
	if want := (Summary{Outdated: 5, Failed: 1, NotAttempted: 4}); s != want {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	if f.totalAttempts() != 1 {
		t.Errorf("%d upgrades attempted, want the canary's only (a failure that is not retryable is not retried)", f.totalAttempts())
	}
	for _, line := range []string{"(canary)", "FAILED    i0 (redis/small 1.0.0 -> 1.0.1) after 1 attempt", "the image redis:8 is not on this VM",
		"1 canary failed: not upgrading the other 4 instances", "Upgraded 0 of 5 instances"} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
}

func TestCanariesThenTheRestAllSucceed(t *testing.T) {
	f := newFake(4)
	s, out, err := run(t, f, policy(2, 2, 1))
	if err != nil || s != (Summary{Outdated: 4, Upgraded: 4}) {
		t.Fatalf("summary %+v, error %v", s, err)
	}
	if strings.Count(out, "(canary)") != 2 || strings.Count(out, "upgraded  ") != 4 || !strings.Contains(out, "Upgraded 4 of 4 instances") {
		t.Errorf("output:\n%s", out)
	}
	// Every progress line is stamped with the time.
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, "(redis/small") {
			if _, err := time.Parse(time.RFC3339, strings.Fields(line)[0]); err != nil {
				t.Errorf("progress line without a time: %q", line)
			}
		}
	}
}

// max_in_flight bounds the upgrades at once and is used: the first batch after the canary is
// held until max_in_flight upgrades run together (the test would hang if they never did).
func TestMaxInFlightIsReachedAndNeverExceeded(t *testing.T) {
	f := newFake(20)
	f.barrier = map[string]bool{"i1": true, "i2": true, "i3": true}
	s, _, err := run(t, f, policy(1, 3, 1))
	if err != nil || s.Upgraded != 20 {
		t.Fatalf("summary %+v, error %v", s, err)
	}
	if f.maxInFlight != 3 {
		t.Errorf("at most %d upgrades ran at once, want max_in_flight 3", f.maxInFlight)
	}
}

func TestARetryableErrorIsTriedAgain(t *testing.T) {
	busy := Retryable(errors.New("PATCH /v2/service_instances/i0: the broker answered 422 ConcurrencyError"))
	f := newFake(1)
	f.script["i0"] = []error{busy, busy}
	s, out, err := run(t, f, policy(1, 1, 3))
	if err != nil || s.Upgraded != 1 || f.attempts["i0"] != 3 {
		t.Fatalf("summary %+v, error %v after %d attempts; want upgraded at the third", s, err, f.attempts["i0"])
	}
	for _, line := range []string{"attempt 1 of 3: PATCH", "trying again in 1ms", "attempt 2 of 3", "trying again in 2ms", "upgraded  i0"} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}

	// attempts bounds the tries.
	f = newFake(1)
	f.script["i0"] = []error{busy, busy, busy, busy}
	s, out, err = run(t, f, policy(0, 1, 3))
	if !errors.Is(err, ErrNotAllUpgraded) || s.Failed != 1 || f.attempts["i0"] != 3 || !strings.Contains(out, "after 3 attempts") {
		t.Fatalf("summary %+v, error %v after %d attempts, want failed after 3:\n%s", s, err, f.attempts["i0"], out)
	}
}

// A failure after the canaries fails that instance only: the others are upgraded, the summary
// names the failure and the run's error says not all were upgraded.
func TestAFailureAfterTheCanariesFailsThatInstanceOnly(t *testing.T) {
	f := newFake(4)
	f.script["i2"] = []error{errors.New("update of instance i2 failed: health check timed out")}
	s, out, err := run(t, f, policy(1, 2, 2))
	if want := (Summary{Outdated: 4, Upgraded: 3, Failed: 1}); s != want {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	if !errors.Is(err, ErrNotAllUpgraded) || !strings.Contains(err.Error(), "1 failed, 0 not attempted") {
		t.Errorf("error %v", err)
	}
	if !strings.Contains(out, "Upgraded 3 of 4 instances") || !strings.Contains(out, "  failed: i2 (redis/small 1.0.0 -> 1.0.1): update of instance i2 failed: health check timed out") {
		t.Errorf("output:\n%s", out)
	}
}

// A stopped errand starts no further upgrade: the rest count as not attempted.
func TestAStoppedRunStartsNoMoreUpgrades(t *testing.T) {
	f := newFake(3)
	ctx, cancel := context.WithCancel(context.Background())
	stopping := &stopAfterFirst{fakePlatform: f, cancel: cancel}
	var out strings.Builder
	s, err := Run(ctx, stopping, policy(0, 1, 1), &out)
	if want := (Summary{Outdated: 3, Upgraded: 1, NotAttempted: 2}); s != want || !errors.Is(err, ErrNotAllUpgraded) {
		t.Fatalf("summary %+v, error %v, want %+v:\n%s", s, err, want, out.String())
	}
}

// stopAfterFirst stops the run (as SIGTERM does) during the first upgrade.
type stopAfterFirst struct {
	*fakePlatform
	cancel context.CancelFunc
}

func (s *stopAfterFirst) Upgrade(ctx context.Context, inst Instance) error {
	s.cancel()
	return s.fakePlatform.Upgrade(ctx, inst)
}

func TestPolicyProblemsNameTheirField(t *testing.T) {
	var errs config.Errors
	Policy{Canaries: -1, MaxInFlight: 0, Attempts: 0, Backoff: config.Duration(-time.Second)}.Check(&errs)
	for _, field := range []string{"canaries:", "max_in_flight:", "attempts:", "backoff:"} {
		if !strings.Contains(errs.Error(), field) {
			t.Errorf("no problem for %s in %v", field, errs)
		}
	}
	errs = nil
	DefaultPolicy().Check(&errs)
	if errs.Err() != nil {
		t.Errorf("the default policy: %v", errs)
	}
}
