package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// recordBuckets are what a backup restores: what the platform asked for. The plans bucket is
// not among them: it says what this broker publishes for its catalog as it is now, which a
// restore must not take back to an older catalog's versions.
var recordBuckets = [][]byte{instancesBucket, bindingsBucket, tombstonesBucket}

// WriteSnapshot writes a consistent copy of the whole state file to w (one read transaction:
// writers go on meanwhile) and returns how many bytes it wrote.
func (s *Store) WriteSnapshot(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// ReplaceRecords makes the instances, bindings and tombstones those of a snapshot that
// WriteSnapshot wrote, in one write transaction: a reader sees either the records before or
// those of the snapshot. Every record of the snapshot must decode, or nothing changes. It
// returns the snapshot's instances.
func (s *Store) ReplaceRecords(snapshot io.Reader) ([]Instance, error) {
	// bbolt opens files only: the snapshot goes beside the state file (same disk, same privacy).
	tmp, err := os.CreateTemp(filepath.Dir(s.db.Path()), ".restore-*.db")
	if err != nil {
		return nil, fmt.Errorf("writing the snapshot to restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, snapshot)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("writing the snapshot to restore: %w", err)
	}
	from, err := bolt.Open(tmp.Name(), 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("the snapshot to restore is no state file of docker-broker: %w", err)
	}
	defer from.Close()
	var instances []Instance
	err = from.View(func(src *bolt.Tx) error {
		for _, name := range recordBuckets {
			if src.Bucket(name) == nil {
				return fmt.Errorf("the snapshot to restore has no %s: it is no state file of docker-broker", name)
			}
		}
		if instances, err = list[Instance](src, instancesBucket, nil); err != nil {
			return err
		}
		if _, err := list[Binding](src, bindingsBucket, nil); err != nil {
			return err
		}
		if _, err := list[Tombstone](src, tombstonesBucket, nil); err != nil {
			return err
		}
		return s.db.Update(func(dst *bolt.Tx) error {
			for _, name := range recordBuckets {
				if err := dst.DeleteBucket(name); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
					return err
				}
				into, err := dst.CreateBucket(name)
				if err != nil {
					return err
				}
				// Put keeps the slices until the commit: they are the snapshot's, whose read
				// transaction outlives this one.
				if err := src.Bucket(name).ForEach(into.Put); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return instances, err
}
