package broker_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
)

// offeringsSharingTheInstance are services files whose bindings share the instance's access
// (no user of their own).
var offeringsSharingTheInstance = []offering{
	{"services/op-etcd36.yml", openEtcd},
}

// TestEveryBindingSharesItsInstance runs, for every offering whose bindings share the
// instance's access, the life of two bindings with the engine's real client: what one writes
// the other reads, before and after a container restart; unbind and deprovision.
func TestEveryBindingSharesItsInstance(t *testing.T) {
	for i, o := range offeringsSharingTheInstance {
		name := strings.TrimSuffix(strings.TrimPrefix(o.file, "services/op-"), ".yml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			services := brokertest.Services(t, o.file)
			h := startHarness(t, services, func(c *broker.Config) {
				c.PortRange = [2]int{23000 + 100*i, 23099 + 100*i} // parallel brokers, one engine
			})
			exerciseSharedBindings(t, h, services, o, "shared-"+name)
		})
	}
}

func exerciseSharedBindings(t *testing.T, h *harness, services []byte, o offering, id string) {
	ctx := context.Background()
	cat, _, err := catalog.Parse(services)
	if err != nil {
		t.Fatal(err)
	}
	service, plan := cat.Services[0].ID, cat.Services[0].Plans[0].ID
	h.provision(id, service, plan)
	_, c1 := h.bind(id, "b1", service, plan)
	_, c2 := h.bind(id, "b2", service, plan)
	s1 := mustOpen(t, o, c1)
	s2 := mustOpen(t, o, c2)
	mustWrite(t, s1, "k1", "written by the first binding")
	mustRead(t, s2, "k1", "written by the first binding")
	mustWrite(t, s2, "k2", "written by the second binding")
	mustRead(t, s1, "k2", "written by the second binding")
	if err := s2.admin(ctx); err != nil {
		t.Errorf("a binding cannot do what the instance's access allows: %v", err)
	}
	s1.close()
	s2.close()

	name := "cf-" + id
	if err := h.Docker.Engine.StopContainer(ctx, name, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.Docker.Engine.StartContainer(ctx, name); err != nil {
		t.Fatal(err)
	}
	for _, c := range []creds{c1, c2} {
		s := reopen(t, o, c, "after a container restart")
		mustRead(t, s, "k1", "written by the first binding")
		mustRead(t, s, "k2", "written by the second binding")
		s.close()
	}

	unbind(t, h, id, "b1", service, plan)
	unbind(t, h, id, "b2", service, plan)
	if status, body := h.deprovision(id, service, plan, false); status != http.StatusOK {
		t.Fatalf("deprovision: %d %s", status, body)
	}
}

// etcd: keys, over one client (gRPC).
type etcdSession struct{ c *clientv3.Client }

func openEtcd(ctx context.Context, c creds) (session, error) {
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{c.URI}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, err
	}
	s := etcdSession{client}
	if err := s.alive(ctx); err != nil {
		client.Close()
		return nil, err
	}
	return s, nil
}

func (s etcdSession) write(ctx context.Context, key, value string) error {
	_, err := s.c.Put(ctx, key, value)
	return err
}

func (s etcdSession) read(ctx context.Context, key string) (string, error) {
	res, err := s.c.Get(ctx, key)
	if err != nil {
		return "", err
	}
	if len(res.Kvs) != 1 {
		return "", errors.New("no key " + key)
	}
	return string(res.Kvs[0].Value), nil
}

func (s etcdSession) alive(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := s.c.Get(ctx, "alive")
	return err
}

// admin lists the cluster's members, which etcd allows whoever reaches it (no credentials).
func (s etcdSession) admin(ctx context.Context) error {
	_, err := s.c.MemberList(ctx)
	return err
}

func (s etcdSession) close() { s.c.Close() }
