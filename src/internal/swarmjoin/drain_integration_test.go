package swarmjoin_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/swarmjoin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// recorder is the task's process: it appends "start" to /rec/log when it starts and "term" when
// it gets SIGTERM, then exits 0; killed, it writes nothing more.
const recorder = `echo start >> /rec/log
trap 'echo term >> /rec/log; exit 0' TERM
while :; do sleep 1 & wait $!; done`

// TestBoshStopOfASwarmVMDrainsItsTasksAndTheyReturnWithIt runs the docker job's drain (the
// docker-supervisor binary, as drain.erb runs it) on a worker VM whose instance is a pinned
// one-replica service restarted always, then stops and starts the VM's supervisor as BOSH does.
func TestBoshStopOfASwarmVMDrainsItsTasksAndTheyReturnWithIt(t *testing.T) {
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Nodes: 2, Managers: 1, Prefix: "dr1"})
	manager, vm := s.Nodes[0], s.Nodes[1]
	ctx := context.Background()
	image, err := vm.Engine.InspectImage(ctx, vm.Standin(t, standin.Redis))
	if err != nil {
		t.Fatal(err)
	}
	rec := t.TempDir()
	if err := os.Chmod(rec, 0o777); err != nil { // whatever user the image runs as
		t.Fatal(err)
	}
	service, err := manager.Engine.CreateService(ctx, dockerengine.ServiceSpec{
		Container: dockerengine.ContainerSpec{
			Name:          "dr-recorder",
			Image:         standin.Redis.Tags[0],
			Entrypoint:    []string{"sh", "-c", recorder},
			Binds:         []string{rec + ":/rec"},
			RestartPolicy: dockerengine.RestartPolicy{Name: "always"},
		},
		ImageID:   image.ID,
		NodeID:    vm.NodeID,
		Replicas:  1,
		StopGrace: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = manager.Engine.RemoveService(context.Background(), service) })
	records := func() string {
		b, _ := os.ReadFile(filepath.Join(rec, "log"))
		return string(b)
	}
	testenv.WaitFor(t, 2*time.Minute, "the task to start on the VM", func() bool { return records() == "start\n" })

	out, err := drain(vm, "20s")
	if err != nil {
		t.Fatalf("drain: %v\n%s", err, out)
	}
	t.Logf("the drain logged:\n%s", out)
	if got := records(); got != "start\nterm\n" {
		t.Errorf("the task recorded %q, want it to have got SIGTERM and exited (start, term)\n%s", got, out)
	}
	if running := runningTasks(t, vm); len(running) > 0 {
		t.Errorf("task containers %v still run on the VM after the drain", running)
	}
	node, err := manager.Engine.InspectNode(ctx, vm.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	if node.Availability != "drain" || node.Labels[swarmjoin.DrainLabel] != swarmjoin.DrainedByBOSH {
		t.Errorf("the VM's node is %s with labels %v, want drained with the drain's mark", node.Availability, node.Labels)
	}
	// The swarm replaces the stopped task by one that no node may run: the service is pinned.
	testenv.WaitFor(t, time.Minute, "the service's replacement task to be pending", func() bool {
		tasks, err := manager.Engine.ListTasks(ctx, service)
		return err == nil && slices.ContainsFunc(tasks, func(task dockerengine.Task) bool {
			return task.DesiredState == "running" && task.State == "pending"
		})
	})
	if got := records(); got != "start\nterm\n" {
		t.Errorf("the task recorded %q after the drain, want no new start on the drained node", got)
	}

	if err := vm.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitMembers(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 2*time.Minute, "the VM's node to be active again", func() bool {
		node, err = manager.Engine.InspectNode(ctx, vm.NodeID)
		return err == nil && node.Availability == "active"
	})
	if _, ok := node.Labels[swarmjoin.DrainLabel]; ok {
		t.Errorf("the VM's node keeps the drain's mark %v once active again", node.Labels)
	}
	testenv.WaitFor(t, 2*time.Minute, "the task to start again on the VM", func() bool {
		return records() == "start\nterm\nstart\n" && len(runningTasks(t, vm)) == 1
	})
}

// drain runs the docker job's drain on node, in its network namespace, and returns what it
// wrote; it fails unless it printed the 0 BOSH reads.
func drain(node *testenv.SwarmNode, grace string) (string, error) {
	binary, err := testenv.SupervisorBinary()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("nsenter", "--net=/var/run/netns/"+node.Netns, binary, "drain", "-grace", grace, filepath.Join(node.Dir, "supervisor.json"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err == nil && string(stdout) != "0\n" {
		err = fmt.Errorf("printed %q, want the integer 0 alone", stdout)
	}
	return stderr.String(), err
}

// runningTasks names the running containers of swarm tasks on node.
func runningTasks(t *testing.T, node *testenv.SwarmNode) []string {
	t.Helper()
	containers, err := node.Engine.ListContainers(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range containers {
		if c.Running && c.Labels["com.docker.swarm.task.id"] != "" {
			names = append(names, c.Name)
		}
	}
	return names
}
