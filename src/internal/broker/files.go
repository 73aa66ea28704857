package broker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/localdisk"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// volumeFile is one of the plan's files as rendered for an instance.
type volumeFile struct {
	catalog.File
	content []byte
}

// renderFiles renders the plan's files for inst: its facts and its credentials, which a file in
// the instance's volume may hold (the engine reads its secret from no file of its own).
func renderFiles(plan catalog.Plan, inst store.Instance, facts catalog.InstanceFacts) ([]volumeFile, error) {
	fileFacts := catalog.FileFacts{InstanceFacts: facts, Username: inst.Credentials.Username, Password: inst.Credentials.Password, DBName: inst.Credentials.DBName}
	var files []volumeFile
	for _, f := range plan.Container.Files {
		content, err := f.Render(fileFacts)
		if err != nil {
			return nil, fmt.Errorf("container.files %s: %w", f.Path, err)
		}
		files = append(files, volumeFile{File: f, content: content})
	}
	return files, nil
}

// fileDigest is what of a file the container spec's digest covers: the content only where the
// broker rewrites it, since a file written once stays as the service left it.
type fileDigest struct {
	Path    string
	Mode    fs.FileMode
	Once    bool
	Content []byte `json:",omitempty"`
}

func digestOfFiles(files []volumeFile) []fileDigest {
	var digests []fileDigest
	for _, f := range files {
		d := fileDigest{Path: f.Path, Mode: f.Mode, Once: f.Once}
		if !f.Once {
			d.Content = f.content
		}
		digests = append(digests, d)
	}
	return digests
}

// writeFiles writes the plan's files into the instance's volumes, owned by uid:gid (-1 keeps
// root's), before the container starts, all in one go (on a node's disk, one helper); the disk
// resolves every path inside its volume and through no symbolic link the service planted.
func (b *Broker) writeFiles(ctx context.Context, instanceID string, files []volumeFile, uid, gid int) error {
	if len(files) == 0 {
		return nil
	}
	toWrite := make([]localdisk.VolumeFile, len(files))
	for i, f := range files {
		toWrite[i] = localdisk.VolumeFile{Volume: f.Volume, Name: strings.TrimPrefix(f.Path, f.Volume+"/"), Content: f.content, Mode: f.Mode, Once: f.Once}
	}
	written, err := b.disk.WriteFiles(ctx, instanceID, toWrite, uid, gid)
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return volumeError(err)
		}
		return forUser(err, "the service's files could not be written into its data directory: ask the operator, who finds the reason in the broker's log")
	}
	for i, f := range files {
		if written[i] {
			b.log.Info("file written into the instance's volume", "instance_id", instanceID, "path", f.Path)
		}
	}
	return nil
}
