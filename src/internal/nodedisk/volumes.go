package nodedisk

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cloudfoundry-community/docker-broker/src/internal/localdisk"
)

// ReadVolumes writes the instance's volumes vols on its node to w as a tar archive, as the
// local disk writes it: entries named by the volume's path without its leading '/', numeric
// owners, a volume without a directory left out.
func (d *Disk) ReadVolumes(ctx context.Context, instanceID string, vols []string, w io.Writer) error {
	err := d.inInstanceDir(ctx, instanceID, func(h helper) error {
		return h.run(ctx, `cd `+workMount+`
for vol; do shift; if [ -d "$vol" ]; then set -- "$@" "$vol"; fi; done
if [ $# -eq 0 ]; then exec tar -cf - -T /dev/null; fi
exec tar --numeric-owner -cf - -- "$@"`, relPaths(vols), nil, w)
	})
	if err != nil {
		return fmt.Errorf("archiving the volumes of instance %s on its node: %w", instanceID, err)
	}
	return nil
}

// ReplaceVolumes replaces the instance's volumes vols on its node by those of an archive that
// ReadVolumes wrote. Every entry is checked as the local disk checks it (localdisk.CheckEntry)
// before it reaches the helper's tar, which mounts the instance's directory alone.
func (d *Disk) ReplaceVolumes(ctx context.Context, instanceID string, vols []string, r io.Reader) error {
	checked, feed := io.Pipe()
	copied := make(chan error, 1)
	go func() {
		err := copyChecked(feed, r, vols)
		feed.CloseWithError(err)
		copied <- err
	}()
	err := d.inInstanceDir(ctx, instanceID, func(h helper) error {
		return h.run(ctx, `chmod 700 `+workMount+`; cd `+workMount+`; rm -rf -- "$@"; exec tar --numeric-owner --same-owner -xpf -`, relPaths(vols), checked, nil)
	})
	checked.Close() // ends the copy if the helper stopped reading
	// A refused entry is the reason, whatever the helper's tar made of the cut archive.
	if cerr := <-copied; cerr != nil && !errors.Is(cerr, io.ErrClosedPipe) {
		return fmt.Errorf("restoring the volumes of instance %s on its node: %w", instanceID, cerr)
	}
	if err != nil {
		return fmt.Errorf("restoring the volumes of instance %s on its node: %w", instanceID, err)
	}
	return nil
}

// copyChecked copies the archive r to w, entry by entry, refusing any entry that
// localdisk.CheckEntry refuses.
func copyChecked(w io.Writer, r io.Reader, vols []string) error {
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tw.Close()
		}
		if err != nil {
			return fmt.Errorf("reading the archive of the volumes: %w", err)
		}
		if _, err := localdisk.CheckEntry(hdr, vols); err != nil {
			return err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}
