package store

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "broker.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestStateFileIsPrivateAndSurvivesReopen(t *testing.T) {
	s, path := openTemp(t)
	inst := Instance{ID: "i-1", PlanID: "p", Credentials: Credentials{Password: "secret"}, Ports: map[string]string{"6379/tcp": "20001"}}
	if err := s.PutInstance(inst); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBinding(Binding{ID: "b-1", InstanceID: "i-1", Response: []byte(`{"credentials":{}}`)}); err != nil {
		t.Fatal(err)
	}
	published := PlanMaintenance{PlanID: "p", Digest: "3f2a9c1e", Version: "1.0.1"}
	if err := s.PutPlanMaintenance(published); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("state file mode %o, want 600: it holds credentials", mode)
	}
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "another docker-broker") {
		t.Errorf("a second broker opening the same state file: %v", err)
	}
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, found, err := s2.Instance("i-1")
	if err != nil || !found {
		t.Fatalf("instance lost on reopen: %v %v", found, err)
	}
	if got.Credentials.Password != "secret" || got.Ports["6379/tcp"] != "20001" {
		t.Errorf("instance changed on reopen: %+v", got)
	}
	if _, found, _ := s2.Binding("i-1", "b-1"); !found {
		t.Error("binding lost on reopen")
	}
	if got, found, err := s2.PlanMaintenance("p"); err != nil || !found || got != published {
		t.Errorf("plan maintenance on reopen: %+v %v %v, want %+v", got, found, err, published)
	}
}

func TestBindingsBelongToTheirInstanceOnly(t *testing.T) {
	s, _ := openTemp(t)
	for _, b := range []Binding{{ID: "b1", InstanceID: "ab"}, {ID: "b2", InstanceID: "ab"}, {ID: "b3", InstanceID: "abc"}, {ID: "b4", InstanceID: "a"}} {
		if err := s.PutBinding(b); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Bindings("ab")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "b1" || got[1].ID != "b2" {
		t.Errorf("bindings of ab: %+v, want b1 and b2 only (not those of abc or a)", got)
	}
	counts, err := s.BindingCounts()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"ab": 2, "abc": 1, "a": 1}; !maps.Equal(counts, want) {
		t.Errorf("binding counts %v, want %v", counts, want)
	}
}

func TestDeleteInstanceTakesItsBindingsAndLeavesATombstone(t *testing.T) {
	s, _ := openTemp(t)
	for _, id := range []string{"gone", "kept"} {
		if err := s.PutInstance(Instance{ID: id}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutBinding(Binding{ID: "b", InstanceID: id}); err != nil {
			t.Fatal(err)
		}
	}
	deletedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.DeleteInstance("gone", &Tombstone{Operation: Operation{ID: "op-9", Kind: Deprovision, State: Succeeded}, DeletedAt: deletedAt}); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Instance("gone"); found {
		t.Error("instance still there")
	}
	if b, _ := s.Bindings("gone"); len(b) != 0 {
		t.Errorf("bindings of the deleted instance remain: %+v", b)
	}
	if b, _ := s.Bindings("kept"); len(b) != 1 {
		t.Errorf("the other instance lost its binding: %+v", b)
	}
	tomb, found, err := s.Tombstone("gone")
	if err != nil || !found || tomb.Operation.ID != "op-9" || !tomb.DeletedAt.Equal(deletedAt) {
		t.Fatalf("tombstone %+v found=%v err=%v", tomb, found, err)
	}
	if n, err := s.PruneTombstones(deletedAt); err != nil || n != 0 {
		t.Errorf("pruned %d (%v) tombstones not older than the cutoff", n, err)
	}
	if err := s.PutInstance(Instance{ID: "gone"}); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Tombstone("gone"); found {
		t.Error("a reused id keeps its old tombstone")
	}
	if err := s.DeleteInstance("gone", &Tombstone{DeletedAt: deletedAt}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneTombstones(deletedAt.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("pruned %d (%v), want 1", n, err)
	}
	if err := s.PutInstance(Instance{ID: "forgotten"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteInstance("forgotten", nil); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Tombstone("forgotten"); found {
		t.Error("an instance deleted without a tombstone has one")
	}
}
