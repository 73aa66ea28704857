package main

import (
	"context"
	"net"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/cfstandin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// TestServiceKeyRotation is issue 9's credential rotation through Cloud Foundry, with the real
// cf CLI against the Cloud Foundry stand-in and a real broker running redis74, whose every
// binding is a Redis ACL user of its own: two service keys are two users sharing the data;
// once the first key is deleted its credentials are refused and its open connection is
// ended, while the second key goes on working.
func TestServiceKeyRotation(t *testing.T) {
	cf := newCFSession(t) // first: the build may take minutes on a new machine
	b := startBroker(t, brokertest.Services(t, "services/op-redis74.yml"), "rotation-"+e2eBrokerName, [2]int{19500, 19599})
	cc := cfstandin.Start(cfstandin.Options{AdminPassword: e2eAdminPassword})
	t.Cleanup(cc.Close)

	out, err := runRegistrar(t, "register", registrarConfig(cc, b))
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if !strings.HasSuffix(out, "Enabling access to all plans of service redis74 for all orgs as admin...\nOK\n") {
		t.Fatal("the registrar did not enable access to redis74")
	}
	cf.loginAsAdmin(cc.URL)
	cf.must("create-service", "redis74", "small", "r1", "--wait")
	guid := strings.TrimSpace(cf.must("service", "r1", "--guid"))
	if c, ok := b.Containers(t)[guid]; !ok || !c.Running {
		t.Fatalf("no running container for instance r1 (%s): %v", guid, b.Containers(t))
	}

	// Two service keys: two users of their own.
	cf.must("create-service-key", "r1", "k1", "--wait")
	cf.must("create-service-key", "r1", "k2", "--wait")
	k1 := cf.serviceKey("r1", "k1").Credentials
	k2 := cf.serviceKey("r1", "k2").Credentials
	for name, c := range map[string]keyCredentials{"k1": k1, "k2": k2} {
		uri := (&url.URL{Scheme: "redis", User: url.UserPassword(c.Username, c.Password), Host: net.JoinHostPort(c.Hostname, c.Port)}).String()
		if c.Username == "" || c.Password == "" || c.Port == "" || c.URI != uri {
			t.Fatalf("the credentials of %s are not a user of its own with username, password and uri %s", name, uri)
		}
	}
	if k1.Username == k2.Username || k1.Password == k2.Password {
		t.Fatalf("the two keys share a user (%s, %s): want a user per key", k1.Username, k2.Username)
	}
	if k1.Port != k2.Port || k1.Ports["6379/tcp"] != k1.Port {
		t.Fatalf("the two keys do not reach the one Redis of r1: ports %v and %v", k1.Ports, k2.Ports)
	}

	ctx := context.Background()
	s1 := mustDialRedis(t, "k1", k1.URI)
	defer s1.close()
	s2 := mustDialRedis(t, "k2", k2.URI)
	defer s2.close()
	for _, s := range []redisSession{s1, s2} {
		who, err := s.conn.Do(ctx, "ACL", "WHOAMI").Text()
		t.Logf("redis as %s: ACL WHOAMI -> %s %v", s.key, who, err)
		if err != nil || who != s.username {
			t.Fatalf("Redis does not see %s as its own user %s: %q %v", s.key, s.username, who, err)
		}
	}
	s1.mustSet(t, "rotation", "written with k1")
	s2.mustGet(t, "rotation", "written with k1")
	s2.mustSet(t, "rotation:k2", "written with k2")
	s1.mustGet(t, "rotation:k2", "written with k2")

	// Rotation: k1 goes, with its connection (s1) still open.
	cf.must("delete-service-key", "-f", "r1", "k1", "--wait")
	keys := cf.must("service-keys", "r1")
	if regexp.MustCompile(`(?m)^k1\s`).MatchString(keys) || !regexp.MustCompile(`(?m)^k2\s`).MatchString(keys) {
		t.Error("cf service-keys must list k2 and no longer k1")
	}
	if _, err := cf.run(nil, "service-key", "r1", "k1"); err == nil {
		t.Error("cf service-key still shows the deleted key k1")
	}

	if s, err := dialRedis(ctx, "k1", k1.URI); err == nil {
		s.close()
		t.Error("a new connection with the deleted key k1's credentials is accepted")
	} else {
		t.Logf("redis as k1, a new connection: %v", err)
		if !strings.Contains(err.Error(), "WRONGPASS") {
			t.Errorf("a new connection as the deleted key k1 fails with %q, want WRONGPASS", err)
		}
	}
	err = s1.conn.Ping(ctx).Err()
	t.Logf("redis as k1, the connection opened before the delete: PING -> %v", err)
	if err == nil {
		t.Error("the connection opened with k1 before its delete still works")
	}
	err = s1.conn.Set(ctx, "rotation", "overwritten with k1", 0).Err()
	t.Logf("redis as k1, the same connection: SET rotation -> %v", err)
	if err == nil {
		t.Error("the connection opened with k1 still writes after its delete")
	}

	s2.mustGet(t, "rotation", "written with k1")
	s2.mustSet(t, "rotation:after", "written with k2 after k1 was deleted")
	s3 := mustDialRedis(t, "k2", k2.URI) // and k2 still logs in anew
	s3.mustGet(t, "rotation:after", "written with k2 after k1 was deleted")
	s3.close()

	cf.must("delete-service", "-f", "r1", "--wait")
	if _, err := b.Docker.Engine.InspectContainer(ctx, "cf-"+guid); !dockerengine.IsNotFound(err) {
		t.Errorf("the container of r1 is still there after cf delete-service: %v", err)
	}
	for _, secret := range []string{e2eAdminPassword, brokertest.Password, k1.Password, k2.Password} {
		if strings.Contains(b.Logs.String(), secret) {
			t.Error("a secret appears in the broker's log")
		}
	}
}

// redisSession is one connection of an app to Redis as a service key's user: a single
// connection that does not reconnect by itself (MaxRetries -1), so that a connection the
// server closed shows as failing.
type redisSession struct {
	key, username string
	client        *redis.Client
	conn          *redis.Conn
}

// dialRedis connects to the Redis of uri (redis://user:pass@host:port) as the user of the
// service key key.
func dialRedis(ctx context.Context, key, uri string) (redisSession, error) {
	opts, err := redis.ParseURL(uri)
	if err != nil {
		return redisSession{}, err
	}
	opts.MaxRetries = -1
	client := redis.NewClient(opts)
	conn := client.Conn()
	if err := conn.Ping(ctx).Err(); err != nil {
		conn.Close()
		client.Close()
		return redisSession{}, err
	}
	return redisSession{key: key, username: opts.Username, client: client, conn: conn}, nil
}

func mustDialRedis(t *testing.T, key, uri string) redisSession {
	t.Helper()
	s, err := dialRedis(context.Background(), key, uri)
	if err != nil {
		t.Fatalf("connecting to Redis with the credentials of %s: %v", key, err)
	}
	return s
}

func (s redisSession) mustSet(t *testing.T, k, v string) {
	t.Helper()
	err := s.conn.Set(context.Background(), k, v, 0).Err()
	t.Logf("redis as %s: SET %s %q -> %v", s.key, k, v, err)
	if err != nil {
		t.Fatalf("writing with the credentials of %s: %v", s.key, err)
	}
}

func (s redisSession) mustGet(t *testing.T, k, want string) {
	t.Helper()
	got, err := s.conn.Get(context.Background(), k).Result()
	t.Logf("redis as %s: GET %s -> %q %v", s.key, k, got, err)
	if err != nil || got != want {
		t.Fatalf("reading %s with the credentials of %s: %q %v, want %q", k, s.key, got, err, want)
	}
}

func (s redisSession) close() {
	s.conn.Close()
	s.client.Close()
}
