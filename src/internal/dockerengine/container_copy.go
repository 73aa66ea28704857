package dockerengine

import (
	"archive/tar"
	"context"
	"fmt"
	"io"

	"github.com/moby/moby/client"
)

// ReadFile returns the contents of the regular file at path inside container id (which need
// not run), e.g. its /etc/passwd to resolve a user name to the uid that must own a volume.
func (c *Client) ReadFile(ctx context.Context, id, path string) ([]byte, error) {
	res, err := c.api.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		return nil, fmt.Errorf("reading %s from container %s: %w", path, id, err)
	}
	defer res.Content.Close()
	// The engine answers with a tar stream holding the one file.
	tr := tar.NewReader(res.Content)
	hdr, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("reading %s from container %s: %w", path, id, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("reading %s from container %s: not a regular file", path, id)
	}
	return io.ReadAll(io.LimitReader(tr, 1<<20))
}
