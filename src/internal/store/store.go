// Package store keeps what the platform asked of the broker on the persistent disk, in one
// bbolt file: instances (with their credentials, host ports and last operation), bindings
// (with the credentials they were given, so that a repeated bind answers the same) and
// tombstones of deleted instances (so that last_operation still answers after an async delete)
// and the maintenance version published for each plan (so that a changed plan gets a new one).
// Docker is the truth about what runs; this is the truth about what should.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	instancesBucket  = []byte("instances")
	bindingsBucket   = []byte("bindings")
	tombstonesBucket = []byte("tombstones")
	plansBucket      = []byte("plans")
)

// Store is the broker's state file. Its methods are safe for concurrent use; each is one
// transaction.
type Store struct {
	db *bolt.DB
}

// Open opens (or creates, mode 0600: it holds credentials) the state file at path.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("state file %s is locked by another process: is another docker-broker running?", path)
		}
		return nil, fmt.Errorf("opening state file %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{instancesBucket, bindingsBucket, tombstonesBucket, plansBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing state file %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the state file.
func (s *Store) Close() error { return s.db.Close() }

func get[T any](tx *bolt.Tx, bucket, key []byte) (T, bool, error) {
	var v T
	data := tx.Bucket(bucket).Get(key)
	if data == nil {
		return v, false, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, false, fmt.Errorf("state record %s/%s is corrupt: %w", bucket, key, err)
	}
	return v, true, nil
}

func put(tx *bolt.Tx, bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key, data)
}

// list decodes every record of bucket whose key starts with prefix.
func list[T any](tx *bolt.Tx, bucket, prefix []byte) ([]T, error) {
	var out []T
	c := tx.Bucket(bucket).Cursor()
	for k, data := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, data = c.Next() {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("state record %s/%s is corrupt: %w", bucket, k, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func hasPrefix(k, prefix []byte) bool {
	return len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix)
}
