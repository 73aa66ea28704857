package broker_test

import (
	"context"
	"errors"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

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
