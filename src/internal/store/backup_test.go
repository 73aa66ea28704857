package store

import (
	"bytes"
	"strings"
	"testing"
)

func TestASnapshotRestoresTheRecordsButNotThePublishedPlans(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.PutInstance(Instance{ID: "kept", Credentials: Credentials{Password: "pw-1"}, Ports: map[string]string{"6379/tcp": "20001"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBinding(Binding{ID: "b", InstanceID: "kept", Response: []byte(`{"credentials":{"password":"pw-1"}}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPlanMaintenance(PlanMaintenance{PlanID: "p", Digest: "old", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	var snapshot bytes.Buffer
	if _, err := s.WriteSnapshot(&snapshot); err != nil {
		t.Fatal(err)
	}

	// After the backup: the instance is deleted, another made, the plan changed.
	if err := s.DeleteInstance("kept", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutInstance(Instance{ID: "later"}); err != nil {
		t.Fatal(err)
	}
	published := PlanMaintenance{PlanID: "p", Digest: "new", Version: "1.0.1"}
	if err := s.PutPlanMaintenance(published); err != nil {
		t.Fatal(err)
	}

	restored, err := s.ReplaceRecords(bytes.NewReader(snapshot.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(restored) != 1 || restored[0].ID != "kept" {
		t.Fatalf("restored instances %+v, want kept only", restored)
	}
	inst, found, err := s.Instance("kept")
	if err != nil || !found || inst.Credentials.Password != "pw-1" || inst.Ports["6379/tcp"] != "20001" {
		t.Errorf("instance after restore: %+v %v %v", inst, found, err)
	}
	if _, found, _ := s.Instance("later"); found {
		t.Error("an instance made after the backup survived its restore")
	}
	if b, found, _ := s.Binding("kept", "b"); !found || !strings.Contains(string(b.Response), "pw-1") {
		t.Errorf("binding after restore: %+v %v", b, found)
	}
	if pm, _, _ := s.PlanMaintenance("p"); pm != published {
		t.Errorf("published plan after restore: %+v, want the current %+v", pm, published)
	}
}

func TestReplaceRecordsRefusesWhatIsNoStateFile(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.PutInstance(Instance{ID: "kept"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceRecords(strings.NewReader("not a bbolt file")); err == nil || !strings.Contains(err.Error(), "no state file of docker-broker") {
		t.Errorf("restoring garbage: %v", err)
	}
	if _, found, _ := s.Instance("kept"); !found {
		t.Error("a refused restore changed the records")
	}
}
