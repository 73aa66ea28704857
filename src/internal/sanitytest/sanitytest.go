// Package sanitytest is the sanity-test errand: for every plan of the catalog (or those the
// operator lists) it provisions an instance through the broker as a platform does, binds it,
// proves from outside the instance that the service answers with the binding's credentials
// (the plan's sanity_check, run in a throwaway container on the engine), unbinds and
// deprovisions, and prints a table of plan, step, time and result.
//
// It leaves nothing behind: the instance and binding of a plan have fixed ids
// (sanity-test-<plan id>), and so has its check container, so that a run removes what a
// killed run left before it starts; a run told to stop (its context cancelled, SIGTERM) still
// unbinds and deprovisions what it made, within CleanupTimeout.
package sanitytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// Broker is what the errand asks of the broker: the platform's side of OSB (osbclient).
type Broker interface {
	Catalog(ctx context.Context) (osbclient.Catalog, error)
	Provision(ctx context.Context, req osbapi.ProvisionRequest) error
	GetInstance(ctx context.Context, instanceID string) (osbapi.InstanceResponse, error)
	Bind(ctx context.Context, req osbapi.BindRequest) (json.RawMessage, error)
	Unbind(ctx context.Context, instanceID, bindingID, serviceID, planID string) error
	Deprovision(ctx context.Context, instanceID, serviceID, planID string) error
}

// IDPrefix starts the ids of everything the errand makes: the instance and binding of a plan
// are IDPrefix + the plan's id, and so is the name of its check container.
const IDPrefix = "sanity-test-"

// Run tests the plans of cfg (every plan when cfg.Plans is empty) one after the other and
// writes the table to out. It returns an error when a plan failed or ctx ended the run; the
// table says so too.
func Run(ctx context.Context, cfg Config, broker Broker, engine Engine, out io.Writer) error {
	plans := selectPlans(cfg)
	t := newTable(out, plans)
	start := time.Now()
	offered, err := broker.Catalog(ctx)
	t.row("", "catalog", time.Since(start), err)
	if err != nil {
		return fmt.Errorf("the broker's catalog: %w", err)
	}
	var failed []string
	for _, p := range plans {
		if ctx.Err() != nil {
			t.row(p.name, "", 0, errors.New("not run: the errand was stopped"))
			failed = append(failed, p.name)
			continue
		}
		r := planRun{plan: p, cfg: cfg, broker: broker, engine: engine, table: t}
		if !r.run(ctx, offered) {
			failed = append(failed, p.name)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(out, "\n%d of %d plans FAILED: %s\n", len(failed), len(plans), strings.Join(failed, ", "))
		return fmt.Errorf("%d of %d plans failed the sanity test: %s", len(failed), len(plans), strings.Join(failed, ", "))
	}
	fmt.Fprintf(out, "\n%d plans passed\n", len(plans))
	return nil
}

// plan is one plan to test.
type plan struct {
	name        string // SERVICE/PLAN
	service     catalog.Service
	catalogPlan catalog.Plan
	id          string // of the instance, the binding and the check container
	bindable    bool
}

// selectPlans lists the plans to test, in the catalog's order.
func selectPlans(cfg Config) []plan {
	wanted := map[string]bool{}
	for _, name := range cfg.Plans {
		wanted[name] = true
	}
	var plans []plan
	for _, s := range cfg.catalog.Services {
		for _, p := range s.Plans {
			name := s.Name + "/" + p.Name
			if len(wanted) > 0 && !wanted[name] {
				continue
			}
			plans = append(plans, plan{name: name, service: s, catalogPlan: p, id: IDPrefix + p.ID, bindable: p.IsBindable(s)})
		}
	}
	return plans
}

// planRun is the test of one plan.
type planRun struct {
	plan
	cfg    Config
	broker Broker
	engine Engine
	table  *table
}

// run tests the plan and reports whether it passed. Whatever it made is removed before it
// returns, with a context of its own: ctx may have ended.
func (r planRun) run(ctx context.Context, offered osbclient.Catalog) bool {
	if !offers(offered, r.service.ID, r.catalogPlan.ID) {
		r.table.row(r.name, "catalog", 0, fmt.Errorf("the broker does not offer plan %s: give the errand the broker's services (the servicebroker link)", r.catalogPlan.ID))
		return false
	}
	if !r.cleanUpLeftovers(ctx) {
		return false
	}
	work, cancel := context.WithTimeout(ctx, r.cfg.Timeout.D())
	defer cancel()
	passed := r.step("provision", func() error { return r.explain(work, r.provision(work)) })
	switch {
	case passed && !r.bindable:
		r.table.row(r.name, "bind", 0, errSkipped("the plan cannot be bound"))
	case passed:
		var credentials json.RawMessage
		passed = r.step("bind", func() (err error) {
			credentials, err = r.broker.Bind(work, osbapi.BindRequest{InstanceID: r.id, BindingID: r.id, ServiceID: r.service.ID, PlanID: r.catalogPlan.ID})
			return r.explain(work, err)
		})
		passed = passed && r.step("check", func() error { return r.explain(work, r.check(work, credentials)) })
	}
	return r.tearDown(ctx) && passed
}

// explain says why a step failed when its context ended: the plan's timeout, or the errand
// was stopped.
func (r planRun) explain(ctx context.Context, err error) error {
	switch {
	case err == nil || ctx.Err() == nil:
		return err
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("not done within %v (the errand's timeout)", r.cfg.Timeout.D())
	default:
		return errors.New("stopped: the errand was told to stop")
	}
}

// step runs one step, writes its row and reports whether it succeeded.
func (r planRun) step(name string, do func() error) bool {
	start := time.Now()
	err := do()
	r.table.row(r.name, name, time.Since(start), err)
	return err == nil || errors.As(err, new(skipped))
}

func (r planRun) provision(ctx context.Context) error {
	return r.broker.Provision(ctx, osbapi.ProvisionRequest{
		InstanceID: r.id, ServiceID: r.service.ID, PlanID: r.catalogPlan.ID,
		OrganizationGUID: "sanity-test", SpaceGUID: "sanity-test",
		Context: json.RawMessage(`{"platform":"sanity-test"}`),
	})
}

// cleanUpLeftovers removes what a run that was killed left of this plan: its check container,
// binding and instance. It writes a row only when there was an instance, or a failure.
func (r planRun) cleanUpLeftovers(ctx context.Context) bool {
	cleanup, cancel := r.cleanupContext(ctx)
	defer cancel()
	start := time.Now()
	// A GET fails when there is no instance, or half of one (a provision killed early):
	// the deletes are idempotent, so they run anyway.
	_, err := r.broker.GetInstance(cleanup, r.id)
	found := err == nil
	err = errors.Join(r.removeCheckContainer(cleanup), r.delete(cleanup))
	if found || err != nil {
		r.table.row(r.name, "clean up", time.Since(start), err)
	}
	return err == nil
}

// tearDown unbinds and deprovisions the plan's instance, each a step of the table.
func (r planRun) tearDown(ctx context.Context) bool {
	cleanup, cancel := r.cleanupContext(ctx)
	defer cancel()
	unbound := !r.bindable || r.step("unbind", func() error {
		return r.broker.Unbind(cleanup, r.id, r.id, r.service.ID, r.catalogPlan.ID)
	})
	deprovisioned := r.step("deprovision", func() error {
		return r.broker.Deprovision(cleanup, r.id, r.service.ID, r.catalogPlan.ID)
	})
	return unbound && deprovisioned
}

// delete unbinds and deprovisions; both are idempotent.
func (r planRun) delete(ctx context.Context) error {
	var errs []error
	if r.bindable {
		errs = append(errs, r.broker.Unbind(ctx, r.id, r.id, r.service.ID, r.catalogPlan.ID))
	}
	return errors.Join(append(errs, r.broker.Deprovision(ctx, r.id, r.service.ID, r.catalogPlan.ID))...)
}

// cleanupContext is a context for removing what the run made: not ended by ctx, which may have
// been cancelled by SIGTERM, but bounded by CleanupTimeout.
func (r planRun) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), r.cfg.CleanupTimeout.D())
}

// offers tells whether the broker's catalog has the plan.
func offers(c osbclient.Catalog, serviceID, planID string) bool {
	for _, s := range c.Services {
		for _, p := range s.Plans {
			if s.ID == serviceID && p.ID == planID {
				return true
			}
		}
	}
	return false
}

// skipped is a step that was not run for a reason that is no failure.
type skipped string

func (s skipped) Error() string { return string(s) }

func errSkipped(reason string) error { return skipped(reason) }

// table writes the rows of plan, step, time and result as they come.
type table struct {
	out       io.Writer
	planWidth int
}

func newTable(out io.Writer, plans []plan) *table {
	t := &table{out: out, planWidth: len("plan")}
	for _, p := range plans {
		t.planWidth = max(t.planWidth, len(p.name))
	}
	fmt.Fprintf(out, "%-*s  %-11s  %7s  %s\n", t.planWidth, "plan", "step", "time", "result")
	return t
}

// row writes one step's row: "ok", "skipped: why" or "FAILED: error".
func (t *table) row(plan, step string, took time.Duration, err error) {
	result := "ok"
	var skip skipped
	switch {
	case errors.As(err, &skip):
		result = "skipped: " + skip.Error()
	case err != nil:
		result = "FAILED: " + err.Error()
	}
	elapsed := "-"
	switch {
	case took >= time.Second:
		elapsed = took.Round(100 * time.Millisecond).String()
	case took >= time.Millisecond:
		elapsed = took.Round(time.Millisecond).String()
	case took > 0:
		elapsed = "<1ms"
	}
	fmt.Fprintf(t.out, "%-*s  %-11s  %7s  %s\n", t.planWidth, plan, step, elapsed, result)
}
