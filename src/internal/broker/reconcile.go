package broker

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// Reconciliation is how the store and the engine compared when the broker started, and what
// the broker did about it. The operator reads it in the log and at GET /admin/reconciliation.
type Reconciliation struct {
	At time.Time `json:"at"`
	// ContainersWithoutRecord are containers labelled as this broker's whose instance it does
	// not know (e.g. after the state file was lost). They are left running for the operator.
	ContainersWithoutRecord []string `json:"containers_without_record"`
	// DirectoriesWithoutRecord are instance directories in the data directory of no instance.
	DirectoriesWithoutRecord []string `json:"directories_without_record"`
	// RecreatedContainers are instances whose container was missing and was created again
	// from the record (same credentials, ports and data).
	RecreatedContainers []string `json:"recreated_containers"`
	// StartedContainers are instances whose container had stopped and was started.
	StartedContainers []string `json:"started_containers"`
	// ResumedOperations were in flight when the broker stopped and run again now.
	ResumedOperations []string `json:"resumed_operations"`
	// FailedOperations were interrupted twice and are failed, so the platform can clean up.
	FailedOperations []string `json:"failed_operations"`
	// CleanedUpFailedProvisions are instances whose failed provision had left a container or
	// directories (the engine did not answer its clean-up), now removed.
	CleanedUpFailedProvisions []string `json:"cleaned_up_failed_provisions"`
	// DroppedHalfCreatedBindings (instance id/binding id) were recorded but not answered when
	// the broker stopped: their users are dropped and the records forgotten, after the start
	// (a create command that outlived the broker is waited for).
	DroppedHalfCreatedBindings []string `json:"dropped_half_created_bindings"`
	// Problems are what could not be reconciled.
	Problems []string `json:"problems"`
}

// maxResumes is how often an interrupted operation is run again before it is failed.
const maxResumes = 1

// tombstoneRetention is how long tombstones are kept at all (they answer 410 after the window).
const tombstoneRetention = 30 * 24 * time.Hour

// Start reconciles the store with the engine, then starts the background work: housekeeping,
// following the engine's events and image pulls (fetch_images). Serve requests only after it returns.
func (b *Broker) Start(ctx context.Context) error {
	report, err := b.reconcile(ctx)
	if err != nil {
		return err
	}
	b.reportMu.Lock()
	b.report = report
	b.reportMu.Unlock()
	b.log.Info("reconciled store and engine",
		"containers_without_record", strings.Join(report.ContainersWithoutRecord, ","),
		"directories_without_record", strings.Join(report.DirectoriesWithoutRecord, ","),
		"recreated_containers", strings.Join(report.RecreatedContainers, ","),
		"started_containers", strings.Join(report.StartedContainers, ","),
		"resumed_operations", strings.Join(report.ResumedOperations, ","),
		"failed_operations", strings.Join(report.FailedOperations, ","),
		"cleaned_up_failed_provisions", strings.Join(report.CleanedUpFailedProvisions, ","),
		"problems", strings.Join(report.Problems, "; "))
	b.pruneTombstones()
	b.purgeRetention(ctx)
	for _, background := range []func(context.Context){b.housekeep, b.watchContainers} {
		b.daemons.Add(1)
		go func() {
			defer b.daemons.Done()
			background(b.background)
		}()
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.dropHalfCreatedBindings(b.background)
	}()
	if b.cfg.FetchImages {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.fetchImages(b.background)
		}()
	}
	return nil
}

// Reconciliation returns the report of the last start (osbapi.Admin).
func (b *Broker) Reconciliation(context.Context) (any, error) {
	b.reportMu.Lock()
	defer b.reportMu.Unlock()
	return b.report, nil
}

func (b *Broker) reconcile(ctx context.Context) (Reconciliation, error) {
	// Empty lists, not nulls: the report is read by people and by scripts.
	report := Reconciliation{
		At: b.clock.Now(), ContainersWithoutRecord: []string{}, DirectoriesWithoutRecord: []string{},
		RecreatedContainers: []string{}, StartedContainers: []string{}, ResumedOperations: []string{},
		FailedOperations: []string{}, CleanedUpFailedProvisions: []string{}, DroppedHalfCreatedBindings: []string{}, Problems: []string{},
	}
	cmp, err := b.compare(ctx)
	if err != nil {
		return report, err
	}
	var recreate []store.Instance
	for _, inst := range cmp.records {
		c, hasContainer := cmp.containers[inst.ID]
		switch {
		case inst.Operation.InProgress():
			b.resumeOrFail(inst, &report)
		case !inst.Provisioned && (inst.Leftovers || hasContainer || b.hasDirectory(ctx, inst.ID)):
			b.cleanUpAtStart(inst, &report)
		case inst.Provisioned && !hasContainer:
			recreate = append(recreate, inst)
		case inst.Provisioned && !c.Running:
			if err := b.engine.StartContainer(ctx, c.ID); err != nil {
				report.Problems = append(report.Problems, inst.ID+": starting its stopped container: "+err.Error())
				continue
			}
			report.StartedContainers = append(report.StartedContainers, inst.ID)
		}
	}
	report.ContainersWithoutRecord = cmp.containersWithoutRecord
	report.DirectoriesWithoutRecord = cmp.directoriesWithoutRecord
	b.recreateContainers(ctx, recreate, &report)
	return report, nil
}

// comparison is how this broker's records and its containers and directories match up.
type comparison struct {
	records []store.Instance
	// containers are the containers of the records that have one, by instance id.
	containers map[string]dockerengine.Container
	// containersWithoutRecord are the names of containers labelled as this broker's whose
	// instance it has no record of; directoriesWithoutRecord the instance directories of
	// data_dir that belong to no record. Both sorted, empty rather than nil (for the reports).
	containersWithoutRecord  []string
	directoriesWithoutRecord []string
}

// compare reads the records, the engine's containers and the data directory, and matches
// them. It changes nothing: the reconciliation at start acts on it, the orphan report only
// reports it.
func (b *Broker) compare(ctx context.Context) (comparison, error) {
	containers, err := b.engine.ListContainers(ctx, map[string]string{LabelBroker: b.cfg.Name})
	if err != nil {
		return comparison{}, err
	}
	records, err := b.store.Instances()
	if err != nil {
		return comparison{}, err
	}
	cmp := comparison{records: records, containers: map[string]dockerengine.Container{}, containersWithoutRecord: []string{}, directoriesWithoutRecord: []string{}}
	byInstance := map[string]dockerengine.Container{}
	for _, c := range containers {
		byInstance[c.Labels[LabelInstanceID]] = c
	}
	known := map[string]bool{}
	for _, inst := range records {
		known[containerName(inst.ID)] = true
		if c, ok := byInstance[inst.ID]; ok {
			cmp.containers[inst.ID] = c
			delete(byInstance, inst.ID)
		}
	}
	for _, c := range byInstance {
		cmp.containersWithoutRecord = append(cmp.containersWithoutRecord, c.Name)
	}
	sort.Strings(cmp.containersWithoutRecord)
	withDirectory, err := b.disk.Instances(ctx)
	if err != nil {
		b.log.Warn("the instance directories could not be listed", "error", err.Error())
	}
	for _, id := range withDirectory {
		if !known[containerName(id)] {
			cmp.directoriesWithoutRecord = append(cmp.directoriesWithoutRecord, containerName(id))
		}
	}
	sort.Strings(cmp.directoriesWithoutRecord)
	return cmp, nil
}

// resumeOrFail runs an operation that a stop interrupted again, or fails it if it was
// resumed before: a platform polling last_operation always sees it end.
func (b *Broker) resumeOrFail(inst store.Instance, report *Reconciliation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	label := inst.ID + " (" + inst.Operation.Kind + ")"
	if inst.Operation.Attempts > maxResumes {
		if inst.Operation.Kind == store.Provision {
			if err := b.cleanUp(inst.ID); err != nil {
				inst.Leftovers = true
				report.Problems = append(report.Problems, label+": removing what it left: "+err.Error())
			}
		}
		if err := b.finish(&inst, store.Failed, inst.Operation.Kind+" was interrupted by broker restarts and gave up"); err != nil {
			report.Problems = append(report.Problems, label+": "+err.Error())
			return
		}
		report.FailedOperations = append(report.FailedOperations, label)
		return
	}
	inst.Operation.Attempts++
	if err := b.store.PutInstance(inst); err != nil {
		report.Problems = append(report.Problems, label+": "+err.Error())
		return
	}
	work := map[string]func(context.Context, string) error{
		store.Provision:   b.provisionWork,
		store.Update:      b.updateWork,
		store.Deprovision: b.deprovisionWork,
	}[inst.Operation.Kind]
	if work == nil {
		report.Problems = append(report.Problems, label+": unknown operation kind")
		return
	}
	b.startLocked(inst.ID, inst.Operation, func(ctx context.Context) error { return work(ctx, inst.ID) })
	report.ResumedOperations = append(report.ResumedOperations, label)
}

// cleanUpAtStart removes what a failed provision left: a container that restarted with the
// engine, directories its clean-up could not remove while the engine was down.
func (b *Broker) cleanUpAtStart(inst store.Instance, report *Reconciliation) {
	if err := b.cleanUp(inst.ID); err != nil {
		report.Problems = append(report.Problems, inst.ID+": removing what its failed provision left: "+err.Error())
		if !inst.Leftovers {
			inst.Leftovers = true
			_ = b.store.PutInstance(inst) // housekeeping tries again
		}
		return
	}
	report.CleanedUpFailedProvisions = append(report.CleanedUpFailedProvisions, inst.ID)
	if inst.Leftovers {
		inst.Leftovers = false
		if err := b.store.PutInstance(inst); err != nil {
			report.Problems = append(report.Problems, inst.ID+": "+err.Error())
		}
	}
}

// recreateContainers brings back the containers of provisioned instances that have none, a
// few at a time, from their records: same credentials, host ports and directories.
func (b *Broker) recreateContainers(ctx context.Context, instances []store.Instance, report *Reconciliation) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4)
	for _, inst := range instances {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := b.recreateContainer(ctx, inst)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				report.Problems = append(report.Problems, inst.ID+": recreating its missing container: "+err.Error())
				return
			}
			report.RecreatedContainers = append(report.RecreatedContainers, inst.ID)
		}()
	}
	wg.Wait()
	sort.Strings(report.RecreatedContainers)
}

func (b *Broker) recreateContainer(ctx context.Context, inst store.Instance) error {
	_, service, plan, err := b.loadWithPlan(inst.ID, "")
	if err != nil {
		return err
	}
	if err := b.runContainer(ctx, &inst, service, plan); err != nil {
		return err
	}
	// The new container runs the plan as it is now: the record says which version that is.
	b.mu.Lock()
	defer b.mu.Unlock()
	stored, found, err := b.store.Instance(inst.ID)
	if err != nil || !found || stored.MaintenanceInfo == inst.MaintenanceInfo {
		return err
	}
	stored.MaintenanceInfo = inst.MaintenanceInfo
	return b.store.PutInstance(stored)
}

// fetchImages pulls every plan's image the engine lacks, one after the other, so provisions
// find them (fetch_images). It never blocks the start; a failed pull is logged.
func (b *Broker) fetchImages(ctx context.Context) {
	seen := map[string]bool{}
	for _, service := range b.cfg.Catalog.Services {
		for _, plan := range service.Plans {
			ref := plan.Container.ImageRef()
			if seen[ref] {
				continue
			}
			seen[ref] = true
			if _, err := b.engine.InspectImage(ctx, ref); err == nil || !dockerengine.IsNotFound(err) {
				continue
			}
			b.log.Info("fetching image", "image", ref)
			if err := b.engine.PullImage(ctx, ref, nil); err != nil {
				b.cfg.Observer.ImagePullFailed(ref, pullDuringFetch)
				b.log.Error("image could not be fetched; provisions of its plans will try again", "image", ref, "error", err.Error())
				continue
			}
			b.log.Info("image fetched", "image", ref)
		}
	}
}
