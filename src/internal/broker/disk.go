package broker

import (
	"context"
	"io"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/localdisk"
)

// Disk is where instances' directories are: their persistent volumes, their secret files and
// the plan's files. Beside a plain engine it is the broker's own disk (package localdisk); on a
// swarm it is the disk of the node that runs the instance, worked on through that node's engine
// (package nodedisk). Paths are relative to the instance's directory ("data",
// "secrets/password"); Dir says where that directory is for the engine's bind mounts.
type Disk interface {
	// Dir is the instance's directory as the engine that runs its container sees it.
	Dir(instanceID string) string
	// Exists says whether the instance has a directory.
	Exists(ctx context.Context, instanceID string) (bool, error)
	// MakeDirs creates the instance's directory, private to root, and the directories rels in it.
	MakeDirs(ctx context.Context, instanceID string, rels []string) error
	// Chown gives the paths rels to uid:gid (-1 keeps an id).
	Chown(ctx context.Context, instanceID string, rels []string, uid, gid int) error
	// WriteSecrets writes the files of secrets (values by path), readable by their owner (root)
	// only.
	WriteSecrets(ctx context.Context, instanceID string, secrets map[string][]byte) error
	// WriteFiles writes the files below their volume directories, owned by uid:gid with their
	// modes, through no symbolic link the service planted, and says which it wrote: a file
	// written once is left alone when anything has its name. An error names the file.
	WriteFiles(ctx context.Context, instanceID string, files []localdisk.VolumeFile, uid, gid int) ([]bool, error)
	// Remove deletes the instance's directory, if any.
	Remove(ctx context.Context, instanceID string) error
	// Retain moves the instance's directory where deleted instances' data waits out the
	// retention period, named for the time at, and says where it went.
	Retain(ctx context.Context, instanceID string, at time.Time) (string, error)
	// PurgeRetained deletes the retained directories deleted before cutoff, telling purged of
	// each with the error of its removal, if any.
	PurgeRetained(ctx context.Context, cutoff time.Time, purged func(dir string, err error))
	// Instances lists the instances that have a directory.
	Instances(ctx context.Context) ([]string, error)
	// NearlyFull says whether the file system of the instance's directory has (almost) no room.
	NearlyFull(ctx context.Context, instanceID string) bool
	// ReadVolumes writes the volumes vols to w as a tar archive (FormatVolumes).
	ReadVolumes(ctx context.Context, instanceID string, vols []string, w io.Writer) error
	// ReplaceVolumes replaces the volumes vols by those of an archive that ReadVolumes wrote;
	// nothing is written outside them.
	ReplaceVolumes(ctx context.Context, instanceID string, vols []string, r io.Reader) error
}
