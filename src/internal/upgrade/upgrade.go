// Package upgrade rolls the plans' current maintenance_info out to every service instance that
// is behind it: the upgrade-all-instances errand, as On-Demand Service Broker's
// upgrade-all-service-instances. Canaries go first and stop the rollout when one fails; then
// up to max_in_flight instances at a time; an instance that is busy or a platform that does not
// answer is tried again after a doubling backoff. One line per instance and step, a summary,
// and an error when any instance was not upgraded. Where the instances are listed and upgraded
// — Cloud Foundry, so that its records change too, or the broker directly — is a Platform.
package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// Instance is a service instance whose maintenance_info is behind its plan's.
type Instance struct {
	// ID is what the platform upgrades it by: Cloud Foundry's GUID, or the broker's instance id.
	ID string
	// Name is how the operator knows it: its Cloud Foundry name, org and space, or the id.
	Name string
	// Service and Plan are the names of its service offering and plan.
	Service, Plan string
	// ServiceID and PlanID are the broker's catalog ids of its service and plan.
	ServiceID, PlanID string
	// From is the maintenance_info version the instance runs ("" for none), To its plan's.
	From, To string
}

func (i Instance) String() string {
	from := i.From
	if from == "" {
		from = "(none)"
	}
	return fmt.Sprintf("%s (%s/%s %s -> %s)", i.Name, i.Service, i.Plan, from, i.To)
}

// Platform lists the instances that need an upgrade and upgrades one.
type Platform interface {
	// Outdated lists the instances whose maintenance_info version differs from their plan's.
	Outdated(ctx context.Context) ([]Instance, error)
	// Upgrade upgrades inst to version inst.To and returns when that has succeeded or failed.
	// An error that Retryable marks is worth another attempt.
	Upgrade(ctx context.Context, inst Instance) error
}

// Retryable marks err as a passing condition — the instance is busy with another operation,
// the platform did not answer — that another attempt after a while may not meet.
func Retryable(err error) error { return retryable{err} }

type retryable struct{ error }

func (r retryable) Unwrap() error { return r.error }

func isRetryable(err error) bool { return errors.As(err, new(retryable)) }

// Policy is how the rollout goes; the errand's properties of the same names.
type Policy struct {
	// Canaries are upgraded first (at most MaxInFlight at a time); if one fails, no other
	// instance is touched. 0 means none.
	Canaries int `json:"canaries"`
	// MaxInFlight bounds the upgrades running at once.
	MaxInFlight int `json:"max_in_flight"`
	// Attempts bounds the tries of one instance, the first included.
	Attempts int `json:"attempts"`
	// Backoff is the wait before the second attempt; it doubles before each further one.
	Backoff config.Duration `json:"backoff"`
}

// DefaultPolicy is the errand job's defaults (jobs/upgrade-all-instances/spec).
func DefaultPolicy() Policy {
	return Policy{Canaries: 1, MaxInFlight: 2, Attempts: 5, Backoff: config.Duration(10 * time.Second)}
}

// Check adds the policy's problems to errs.
func (p Policy) Check(errs *config.Errors) {
	if p.Canaries < 0 {
		errs.Add("canaries", "is %d: use 0 for no canaries, or the number of instances to upgrade first", p.Canaries)
	}
	if p.MaxInFlight < 1 {
		errs.Add("max_in_flight", "is %d: it must be at least 1", p.MaxInFlight)
	}
	if p.Attempts < 1 {
		errs.Add("attempts", "is %d: it must be at least 1 (the first try)", p.Attempts)
	}
	if p.Backoff < 0 {
		errs.Add("backoff", "is %s: it must not be negative", p.Backoff.D())
	}
}

// Summary counts what a rollout did.
type Summary struct {
	Outdated     int // instances that needed an upgrade
	Upgraded     int
	Failed       int
	NotAttempted int // left alone after a canary failed, or because the errand was stopped
}

// ErrNotAllUpgraded is Run's error when an instance failed or was not attempted.
var ErrNotAllUpgraded = errors.New("not every instance was upgraded")

// Run upgrades every outdated instance of platform as policy says, printing progress to out.
// Its error is ErrNotAllUpgraded (wrapped, with the counts) when the rollout did not upgrade
// them all, or why the outdated instances could not be listed.
func Run(ctx context.Context, platform Platform, policy Policy, out io.Writer) (Summary, error) {
	r := &rollout{platform: platform, policy: policy, out: out}
	fmt.Fprintln(out, "Finding the instances whose maintenance_info is behind their plan's...")
	instances, err := platform.Outdated(ctx)
	if err != nil {
		return Summary{}, err
	}
	r.results = make([]result, len(instances))
	if len(instances) == 0 {
		fmt.Fprintln(out, "0 instances need an upgrade")
		return Summary{}, nil
	}
	canaries := min(policy.Canaries, len(instances))
	verb := "need"
	if len(instances) == 1 {
		verb = "needs"
	}
	fmt.Fprintf(out, "%s %s an upgrade: %s first, then up to %d at a time, each tried up to %s\n",
		plural(len(instances), "instance"), verb, plural(canaries, "canary"), policy.MaxInFlight, plural(policy.Attempts, "time"))
	start := time.Now()
	r.batch(ctx, instances, 0, canaries, true)
	if n := r.tally(0, canaries, failed); n > 0 {
		fmt.Fprintf(out, "%s failed: not upgrading the other %s\n", plural(n, "canary"), plural(len(instances)-canaries, "instance"))
	} else {
		r.batch(ctx, instances, canaries, len(instances), false)
	}

	all := len(instances)
	s := Summary{Outdated: all, Upgraded: r.tally(0, all, upgraded), Failed: r.tally(0, all, failed), NotAttempted: r.tally(0, all, notAttempted)}
	fmt.Fprintf(out, "Upgraded %d of %s in %s: %d failed, %d not attempted\n", s.Upgraded, plural(s.Outdated, "instance"), seconds(time.Since(start)), s.Failed, s.NotAttempted)
	for i, res := range r.results {
		if res.outcome == failed {
			fmt.Fprintf(out, "  failed: %s: %v\n", instances[i], res.err)
		}
	}
	if s.Upgraded < s.Outdated {
		return s, fmt.Errorf("%w: %d failed, %d not attempted", ErrNotAllUpgraded, s.Failed, s.NotAttempted)
	}
	return s, nil
}

type outcome int

const (
	notAttempted outcome = iota
	upgraded
	failed
)

type result struct {
	outcome outcome
	err     error
}

type rollout struct {
	platform Platform
	policy   Policy
	out      io.Writer

	mu      sync.Mutex // out and results: the upgrades of a batch run in parallel
	results []result   // by index in the list of instances
}

// batch upgrades instances[from:to], at most MaxInFlight at a time, and returns when they
// have all ended. Once ctx ends no further upgrade starts.
func (r *rollout) batch(ctx context.Context, instances []Instance, from, to int, canary bool) {
	slots := make(chan struct{}, r.policy.MaxInFlight)
	var wg sync.WaitGroup
	for i := from; i < to; i++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			res := r.upgrade(ctx, instances[i], canary)
			r.mu.Lock()
			r.results[i] = res
			r.mu.Unlock()
		}()
	}
	wg.Wait()
}

// upgrade upgrades one instance, trying again after a retryable error as the policy allows.
func (r *rollout) upgrade(ctx context.Context, inst Instance, canary bool) result {
	role := ""
	if canary {
		role = " (canary)"
	}
	r.printf("start     %s%s", inst, role)
	start := time.Now()
	wait := r.policy.Backoff.D()
	for attempt := 1; ; attempt++ {
		err := r.platform.Upgrade(ctx, inst)
		if err == nil {
			r.printf("upgraded  %s in %s", inst, seconds(time.Since(start)))
			return result{outcome: upgraded}
		}
		if !isRetryable(err) || attempt >= r.policy.Attempts || ctx.Err() != nil {
			r.printf("FAILED    %s after %s in %s: %v", inst, plural(attempt, "attempt"), seconds(time.Since(start)), err)
			return result{outcome: failed, err: err}
		}
		r.printf("retry     %s: attempt %d of %d: %v; trying again in %s", inst, attempt, r.policy.Attempts, err, wait)
		select {
		case <-ctx.Done():
			r.printf("FAILED    %s after %s: stopped: %v", inst, plural(attempt, "attempt"), context.Cause(ctx))
			return result{outcome: failed, err: err}
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// printf prints one progress line, stamped with the time.
func (r *rollout) printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.out, "%s %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// tally counts the results of instances [from, to) with outcome o.
func (r *rollout) tally(from, to int, o outcome) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, res := range r.results[from:to] {
		if res.outcome == o {
			n++
		}
	}
	return n
}

// seconds rounds d for a person to read: 3.2s, 1m4.5s.
func seconds(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }

// plural is "1 instance", "2 instances", "0 canaries".
func plural(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	default:
		return fmt.Sprintf("%d %ss", n, noun)
	}
}
