package dockerengine

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// File is a file to write into a container: Path is relative to the directory it is written
// to, and its parent directories are made as needed.
type File struct {
	Path    string
	Content []byte
	Mode    fs.FileMode
}

// WriteFiles writes files into the directory dir (which must exist) of container id, created
// or stopped: they land in the container's own file system, so that neither a host path nor
// their content shows in `docker inspect`, and go with the container when it is removed.
func (c *Client) WriteFiles(ctx context.Context, id, dir string, files []File) error {
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	now := time.Now()
	made := map[string]bool{}
	for _, f := range files {
		// Parent directories first, each once, readable by whichever user the container runs as.
		parts := strings.Split(path.Dir(f.Path), "/")
		for i := range parts {
			parent := path.Join(parts[:i+1]...)
			if parent == "." || made[parent] {
				continue
			}
			made[parent] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: parent + "/", Mode: 0o755, ModTime: now}); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.Path, Mode: int64(f.Mode.Perm()), Size: int64(len(f.Content)), ModTime: now}); err != nil {
			return err
		}
		if _, err := tw.Write(f.Content); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if _, err := c.api.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: dir, Content: &archive}); err != nil {
		return fmt.Errorf("writing files into %s of container %s: %w", dir, id, err)
	}
	return nil
}
