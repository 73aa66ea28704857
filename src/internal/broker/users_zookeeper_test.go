package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-zookeeper/zk"
)

// ZooKeeper: a node per key under the root, created with the creator's ACL (the instance's
// digest identity, which every binding shares), on one session authenticated with addauth
// digest, as an app does.
type zkSession struct{ conn *zk.Conn }

func openZooKeeper(ctx context.Context, c creds) (session, error) {
	conn, events, err := zk.Connect([]string{net.JoinHostPort(c.Host, c.Port)}, 10*time.Second, zk.WithLogger(zkQuiet{}))
	if err != nil {
		return nil, err
	}
	s := zkSession{conn}
	// The client retries a server that does not answer for ever, and its requests wait:
	// a session, or an error for the caller to retry.
	if err := zkWaitForSession(ctx, events); err != nil {
		conn.Close()
		return nil, err
	}
	// The container's command gave the root node to the instance's identity: a client that
	// has not authenticated may not even list it.
	if _, _, err := conn.Children("/"); !errors.Is(err, zk.ErrNoAuth) {
		conn.Close()
		return nil, fmt.Errorf("listing the root without the binding's credentials: %v, want %v", err, zk.ErrNoAuth)
	}
	if err := conn.AddAuth("digest", []byte(c.Username+":"+c.Password)); err != nil {
		conn.Close()
		return nil, err
	}
	if err := s.alive(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

func zkWaitForSession(ctx context.Context, events <-chan zk.Event) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		select {
		case e := <-events:
			if e.State == zk.StateHasSession {
				return nil
			}
		case <-ctx.Done():
			return errors.New("no ZooKeeper session within 10s")
		}
	}
}

func (s zkSession) write(_ context.Context, key, value string) error {
	_, err := s.conn.Create("/"+key, []byte(value), 0, zk.AuthACL(zk.PermAll))
	if errors.Is(err, zk.ErrNodeExists) {
		_, err = s.conn.Set("/"+key, []byte(value), -1)
	}
	return err
}

func (s zkSession) read(_ context.Context, key string) (string, error) {
	v, _, err := s.conn.Get("/" + key)
	return string(v), err
}

// alive lists the root's children, which the root's ACL allows the instance's identity only.
func (s zkSession) alive(context.Context) error {
	_, _, err := s.conn.Children("/")
	return err
}

// admin sets the root node's ACL (to the same identity): the bindings own the tree.
func (s zkSession) admin(context.Context) error {
	_, err := s.conn.SetACL("/", zk.AuthACL(zk.PermAll), -1)
	return err
}

func (s zkSession) close() { s.conn.Close() }

// zkQuiet drops the client's log of every connection attempt.
type zkQuiet struct{}

func (zkQuiet) Printf(string, ...any) {}
