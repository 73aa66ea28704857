package supervisor_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/supervisor"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// processAlive reports whether pid runs (a zombie does not count).
func processAlive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return after != "" && after[0] != 'Z'
}

func TestStartsDockerdAndReportsReady(t *testing.T) {
	d := testenv.StartOwn(t, nil)
	testenv.WaitFor(t, 10*time.Second, "the readiness log line", func() bool {
		return strings.Contains(d.SupervisorLog(), `"msg":"dockerd ready"`)
	})
	pid, err := d.DockerdPid()
	if err != nil || !processAlive(pid) {
		t.Fatalf("dockerd pid %d (%v) is not running", pid, err)
	}
}

func TestKilledDockerdIsRestartedAndContainersRunAfterwards(t *testing.T) {
	// As on a BOSH VM: live-restore on (testenv turns it off elsewhere).
	yes := true
	d := testenv.StartOwn(t, func(c *supervisor.Config) { c.LiveRestore = &yes })
	image := d.Standin(t, standin.Redis)
	c := d.Run(t, dockerengine.ContainerSpec{
		Name:          "survivor",
		Image:         image,
		RestartPolicy: dockerengine.RestartPolicy{Name: "unless-stopped"},
	})
	if !c.Running {
		t.Fatalf("container not running before the kill: %+v", c)
	}
	oldPid, err := d.DockerdPid()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(oldPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 60*time.Second, "a new dockerd", func() bool {
		pid, err := d.DockerdPid()
		return err == nil && pid != oldPid && processAlive(pid)
	})
	if err := d.WaitReady(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "the container to run again", func() bool {
		after, err := d.Engine.InspectContainer(context.Background(), c.ID)
		return err == nil && after.Running
	})
	if !strings.Contains(d.SupervisorLog(), "restarting it") {
		t.Errorf("the restart was not logged:\n%s", d.SupervisorLog())
	}
}

func TestSIGTERMStopsDockerdAndExitsZero(t *testing.T) {
	d := testenv.StartOwn(t, nil)
	pid, err := d.DockerdPid()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Exited():
	case <-time.After(60 * time.Second):
		t.Fatal("docker-supervisor still runs 60s after SIGTERM")
	}
	if err := d.ExitErr(); err != nil {
		t.Errorf("docker-supervisor exited with %v, want status 0\n%s", err, d.SupervisorLog())
	}
	if processAlive(pid) {
		t.Errorf("dockerd (pid %d) still runs after the supervisor stopped", pid)
	}
	if _, err := os.Stat(d.Config.Pidfile); !os.IsNotExist(err) {
		t.Errorf("dockerd's pidfile is left behind (%v): it did not shut down cleanly", err)
	}
	if !strings.Contains(d.SupervisorLog(), `"msg":"dockerd stopped"`) {
		t.Errorf("the graceful stop was not logged:\n%s", d.SupervisorLog())
	}
}

func TestBadConfigIsRejectedWithTheFieldNamed(t *testing.T) {
	binary, err := testenv.SupervisorBinary()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte(`{"tcp": {"address": "0.0.0.0"}, "dns_servers": ["not-an-ip"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"check-config", "run"} {
		out, err := exec.Command(binary, verb, path).CombinedOutput()
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
			t.Errorf("%s on a bad config: %v, want exit status 1\n%s", verb, err, out)
		}
		for _, field := range []string{"tcp.ca_cert", "dns_servers[0]"} {
			if !strings.Contains(string(out), field) {
				t.Errorf("%s does not name %s:\n%s", verb, field, out)
			}
		}
	}
	good := filepath.Join(t.TempDir(), "good.json")
	if err := os.WriteFile(good, []byte(`{"dns_servers": ["10.0.0.2"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "check-config", good).CombinedOutput(); err != nil {
		t.Errorf("check-config on a good config: %v\n%s", err, out)
	}
}

func TestPreloadsArchivesAndPullFailureDoesNotBlockReadiness(t *testing.T) {
	archive, err := standin.Redis.Archive(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	preload := t.TempDir()
	if err := os.Symlink(archive, filepath.Join(preload, "redis.tar")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(preload, "broken.tar"), []byte("not an archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A registry address on this machine where nothing listens: the pull fails at once.
	unreachable := "127.0.0.1:9/nothing/here:1"
	d := testenv.StartOwn(t, func(c *supervisor.Config) {
		c.Images = supervisor.ImagesConfig{PreloadDir: preload, Pull: []string{unreachable}}
	})
	testenv.WaitFor(t, 2*time.Minute, "the preload to finish", func() bool {
		return strings.Contains(d.SupervisorLog(), "image archives preloaded")
	})
	for _, tag := range standin.Redis.Tags {
		if ok, err := d.Engine.ImageExists(context.Background(), tag); err != nil || !ok {
			t.Errorf("image %s not loaded from the preload directory (%v)", tag, err)
		}
	}
	log := d.SupervisorLog()
	if !strings.Contains(log, `"loaded":1,"failed":1`) {
		t.Errorf("the preload summary does not count one loaded and one broken archive:\n%s", log)
	}
	testenv.WaitFor(t, time.Minute, "the pull failure to be reported", func() bool {
		return strings.Contains(d.SupervisorLog(), `"msg":"image pull failed","image":"`+unreachable+`"`)
	})
	if err := d.Engine.Ping(context.Background()); err != nil {
		t.Errorf("dockerd is not serving after a failed pull: %v", err)
	}
}
