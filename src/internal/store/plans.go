package store

import bolt "go.etcd.io/bbolt"

// PlanMaintenance returns what was last published for the plan, and whether anything was.
func (s *Store) PlanMaintenance(planID string) (pm PlanMaintenance, found bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		pm, found, err = get[PlanMaintenance](tx, plansBucket, []byte(planID))
		return err
	})
	return pm, found, err
}

// PutPlanMaintenance records what is published for a plan now.
func (s *Store) PutPlanMaintenance(pm PlanMaintenance) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return put(tx, plansBucket, []byte(pm.PlanID), pm)
	})
}
