package broker

import (
	"context"
	"slices"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// Orphans compares the records with the engine's containers and the data directory now and
// reports what has no counterpart (osbapi.Admin, GET /admin/orphans). It changes nothing:
// unlike the reconciliation at start, it neither recreates nor removes. Instances with an
// operation running are left out: their container or record is being made or removed. A
// comparison reads the engine, the records and the directory one after the other, so an
// operation ending between two reads could make its instance look orphaned: what is reported
// is what two comparisons in a row agree on.
func (b *Broker) Orphans(ctx context.Context) (osbapi.Orphans, error) {
	first, err := b.orphans(ctx)
	if err != nil {
		return osbapi.Orphans{}, err
	}
	second, err := b.orphans(ctx)
	if err != nil {
		return osbapi.Orphans{}, err
	}
	return osbapi.Orphans{
		At:                       second.At,
		ContainersWithoutRecord:  both(first.ContainersWithoutRecord, second.ContainersWithoutRecord),
		DirectoriesWithoutRecord: both(first.DirectoriesWithoutRecord, second.DirectoriesWithoutRecord),
		RecordsWithoutContainer:  both(first.RecordsWithoutContainer, second.RecordsWithoutContainer),
	}, nil
}

// orphans is one comparison's orphans.
func (b *Broker) orphans(ctx context.Context) (osbapi.Orphans, error) {
	cmp, err := b.compare(ctx)
	if err != nil {
		return osbapi.Orphans{}, err
	}
	report := osbapi.Orphans{
		At:                       b.clock.Now(),
		ContainersWithoutRecord:  cmp.containersWithoutRecord,
		DirectoriesWithoutRecord: cmp.directoriesWithoutRecord,
		RecordsWithoutContainer:  []string{},
	}
	for _, inst := range cmp.records {
		if _, hasContainer := cmp.containers[inst.ID]; inst.Provisioned && !inst.Operation.InProgress() && !hasContainer {
			report.RecordsWithoutContainer = append(report.RecordsWithoutContainer, inst.ID)
		}
	}
	slices.Sort(report.RecordsWithoutContainer)
	return report, nil
}

// both is the entries of a that b has too, in a's order; empty rather than nil.
func both(a, b []string) []string {
	common := []string{}
	for _, s := range a {
		if slices.Contains(b, s) {
			common = append(common, s)
		}
	}
	return common
}
