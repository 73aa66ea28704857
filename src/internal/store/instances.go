package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Instance returns the instance with id, and whether there is one.
func (s *Store) Instance(id string) (inst Instance, found bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		inst, found, err = get[Instance](tx, instancesBucket, []byte(id))
		return err
	})
	return inst, found, err
}

// Instances returns every instance, ordered by id.
func (s *Store) Instances() (out []Instance, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		out, err = list[Instance](tx, instancesBucket, nil)
		return err
	})
	return out, err
}

// PutInstance creates or replaces an instance. A tombstone of the same id is removed: the id
// is in use again.
func (s *Store) PutInstance(inst Instance) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(tombstonesBucket).Delete([]byte(inst.ID)); err != nil {
			return err
		}
		return put(tx, instancesBucket, []byte(inst.ID), inst)
	})
}

// DeleteInstance removes an instance and its bindings, all in one transaction: a crash never
// leaves bindings of a deleted instance behind. A tombstone, when given, stays in its place so
// that last_operation can still tell how the deletion ended; without one the id is forgotten.
func (s *Store) DeleteInstance(id string, tomb *Tombstone) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		bindings := tx.Bucket(bindingsBucket)
		prefix := bindingPrefix(id)
		c := bindings.Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := bindings.Delete(k); err != nil {
				return err
			}
		}
		if err := tx.Bucket(instancesBucket).Delete([]byte(id)); err != nil {
			return err
		}
		if tomb == nil {
			return nil
		}
		tomb.ID = id
		return put(tx, tombstonesBucket, []byte(id), tomb)
	})
}

// Tombstone returns the tombstone of a deleted instance, and whether there is one.
func (s *Store) Tombstone(id string) (t Tombstone, found bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		t, found, err = get[Tombstone](tx, tombstonesBucket, []byte(id))
		return err
	})
	return t, found, err
}

// PruneTombstones removes the tombstones of instances deleted before cutoff and returns how
// many it removed.
func (s *Store) PruneTombstones(cutoff time.Time) (removed int, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		tombs, err := list[Tombstone](tx, tombstonesBucket, nil)
		if err != nil {
			return err
		}
		for _, t := range tombs {
			if t.DeletedAt.Before(cutoff) {
				if err := tx.Bucket(tombstonesBucket).Delete([]byte(t.ID)); err != nil {
					return err
				}
				removed++
			}
		}
		return nil
	})
	return removed, err
}
