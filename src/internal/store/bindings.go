package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// Binding keys are "<instance id>\x00<binding id>": the bindings of one instance are adjacent,
// and no id can contain a NUL byte, so no instance's prefix is another's.
func bindingPrefix(instanceID string) []byte { return []byte(instanceID + "\x00") }

func bindingKey(instanceID, bindingID string) []byte {
	return append(bindingPrefix(instanceID), bindingID...)
}

// Binding returns a binding of an instance, and whether there is one.
func (s *Store) Binding(instanceID, bindingID string) (b Binding, found bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b, found, err = get[Binding](tx, bindingsBucket, bindingKey(instanceID, bindingID))
		return err
	})
	return b, found, err
}

// Bindings returns the bindings of an instance, ordered by binding id.
func (s *Store) Bindings(instanceID string) (out []Binding, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		out, err = list[Binding](tx, bindingsBucket, bindingPrefix(instanceID))
		return err
	})
	return out, err
}

// BindingCounts returns how many bindings each instance that has any has, by instance id. It
// reads keys only, no record, so that a metrics scrape stays cheap however many bindings
// there are.
func (s *Store) BindingCounts() (counts map[string]int, err error) {
	counts = map[string]int{}
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bindingsBucket).ForEach(func(k, _ []byte) error {
			instanceID, _, _ := bytes.Cut(k, []byte{0})
			counts[string(instanceID)]++
			return nil
		})
	})
	return counts, err
}

// PutBinding creates or replaces a binding.
func (s *Store) PutBinding(b Binding) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return put(tx, bindingsBucket, bindingKey(b.InstanceID, b.ID), b)
	})
}

// DeleteBinding removes a binding; removing one that does not exist is not an error.
func (s *Store) DeleteBinding(instanceID, bindingID string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bindingsBucket).Delete(bindingKey(instanceID, bindingID))
	})
}
