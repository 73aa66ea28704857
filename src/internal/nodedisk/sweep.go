package nodedisk

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// Sweep removes the helper containers a broker that was killed left on the nodes the managers
// hear from: a kept helper waits for work that will never come, a one-shot one may hold an
// instance's directory. The broker sweeps at start, before its first operation.
func (d *Disk) Sweep(ctx context.Context) (int, error) {
	nodes, err := d.cfg.Nodes(ctx)
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, engine := range nodes {
		left, err := engine.ListContainers(ctx, map[string]string{LabelHelper: "true"})
		if err != nil {
			errs = append(errs, fmt.Errorf("listing disk helpers: %w", err))
			continue
		}
		for _, c := range left {
			if err := engine.RemoveContainer(ctx, c.ID); err != nil && !dockerengine.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("removing disk helper %s: %w", c.Name, err))
				continue
			}
			removed++
		}
	}
	return removed, errors.Join(errs...)
}
