package broker_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/nodedisk"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// nodeDiskServices is a redis offering run as the image's redis user, with a config file in
// its volume that holds the password and the password as a secret file: everything the broker
// puts on an instance's disk.
const nodeDiskServices = `[{"id": "nd-redis", "name": "redis-on-node", "description": "Redis with its data on its node",
  "plans": [{"id": "nd-redis-plan", "name": "node", "description": "On its node",
    "container": {"backend": "docker", "image": "redis", "tag": "7", "user": "redis", "persistent_volumes": ["/data"],
      "command": ["/data/conf/redis.conf"],
      "files": [{"path": "/data/conf/redis.conf", "content": "requirepass {{.Password}}\n"}]},
    "credentials": {"password": {"key": "GENERATED_PASSWORD_FILE", "as_file": true}, "uri": {"prefix": "redis", "port": "6379/tcp"}}}]}]`

// TestAnInstanceLivesOnItsNodesDisk runs the broker with the node disk on a plain dockerd whose
// node data root is not the broker's DataDir: provision, bind, write and read with the real
// client, deprovision. The instance's directory appears and goes on the node; the broker's
// DataDir is never made.
func TestAnInstanceLivesOnItsNodesDisk(t *testing.T) {
	nodeRoot := filepath.Join(t.TempDir(), "node", "instances")
	var dataDir string
	var disk *nodedisk.Disk
	h := startHarness(t, []byte(nodeDiskServices), func(c *broker.Config) {
		dataDir = c.DataDir
		// The helpers run the plan's image, which is on the node since the instance runs it.
		cfg := nodedisk.OnEngine(testenv.Docker(t).Engine, nodeRoot, "", "redis:7")
		cfg.KeepHelpers = true
		var err error
		if disk, err = nodedisk.New(cfg); err != nil {
			t.Fatal(err)
		}
		c.Disk = disk
	})
	ctx := context.Background()
	const id = "nd-inst"
	h.provision(id, "nd-redis", "nd-redis-plan")
	nodeDir := filepath.Join(nodeRoot, "cf-"+id)
	if _, err := os.Stat(filepath.Join(nodeDir, "data", "conf", "redis.conf")); err != nil {
		t.Fatalf("the instance's file is not on its node: %v", err)
	}

	status, c := h.bind(id, "nd-key", "nd-redis", "nd-redis-plan")
	if status != http.StatusCreated {
		t.Fatalf("bind: %d", status)
	}
	client := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(c.Host, c.Port), Password: c.Password})
	defer client.Close()
	if err := client.Set(ctx, "greeting", "hello", 0).Err(); err != nil {
		t.Fatalf("writing with the handed-out credentials: %v", err)
	}
	if got, err := client.Get(ctx, "greeting").Result(); err != nil || got != "hello" {
		t.Fatalf("reading: %q %v", got, err)
	}
	secret, err := os.ReadFile(filepath.Join(nodeDir, "secrets", "password"))
	if err != nil || string(secret) != c.Password {
		t.Errorf("the secret file on the node does not hold the password: %v", err)
	}

	if status, body := h.deprovision(id, "nd-redis", "nd-redis-plan", false); status != http.StatusOK {
		t.Fatalf("deprovision: %d %s", status, body)
	}
	if _, err := os.Stat(nodeDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the instance's directory remains on its node: %v", err)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the broker's own data directory was used: %v", err)
	}
	if err := disk.Close(); err != nil {
		t.Fatal(err)
	}
	if left, err := h.Docker.Engine.ListContainers(ctx, map[string]string{nodedisk.LabelHelper: "true"}); err != nil || len(left) > 0 {
		t.Errorf("%d helper containers left on the node after Close: %v", len(left), err)
	}
}
