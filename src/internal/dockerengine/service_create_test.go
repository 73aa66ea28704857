package dockerengine

import (
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
)

func TestServiceSpecIsTheContainerAsAOneNodeSwarmTask(t *testing.T) {
	spec := ServiceSpec{
		Container: ContainerSpec{
			Name:          "cf-1",
			Image:         "redis:7.4",
			Cmd:           []string{"redis-server"},
			Entrypoint:    []string{"/entry"},
			Env:           []string{"A=b=c"},
			Labels:        map[string]string{"broker": "x"},
			Ports:         []PortMapping{{ContainerPort: "6379/tcp", HostIP: "127.0.0.1", HostPort: "26201"}},
			Binds:         []string{"/data/cf-1/data:/data", "/data/cf-1/secrets/p:/run/secrets/p:ro"},
			RestartPolicy: RestartPolicy{Name: "on-failure", MaxRetries: 3},
			Memory:        1 << 30,
			CapAdd:        []string{"SYS_NICE"},
		},
		ImageID:             "sha256:0123",
		NodeID:              "node1",
		Replicas:            0,
		MemoryReservation:   1 << 30,
		NanoCPUsReservation: 5e8,
		StopGrace:           7 * time.Second,
	}
	got, err := swarmServiceSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	cs := got.TaskTemplate.ContainerSpec
	if spec.Container.Labels[imageLabel] != "" {
		t.Errorf("the container spec's labels were changed: %v", spec.Container.Labels)
	}
	if got.Name != "cf-1" || got.Labels["broker"] != "x" || cs.Labels["broker"] != "x" {
		t.Errorf("name %q, labels %v and container labels %v: want cf-1 and the labels on both", got.Name, got.Labels, cs.Labels)
	}
	if cs.Image != "sha256:0123" || !slices.Equal(cs.Command, []string{"/entry"}) || !slices.Equal(cs.Args, []string{"redis-server"}) || !slices.Equal(cs.Env, spec.Container.Env) || !slices.Equal(cs.CapabilityAdd, []string{"SYS_NICE"}) {
		t.Errorf("container spec %+v", cs)
	}
	if *cs.StopGracePeriod != 7*time.Second {
		t.Errorf("stop grace %s, want 7s", *cs.StopGracePeriod)
	}
	wantMounts := []mount.Mount{
		{Type: mount.TypeBind, Source: "/data/cf-1/data", Target: "/data"},
		{Type: mount.TypeBind, Source: "/data/cf-1/secrets/p", Target: "/run/secrets/p", ReadOnly: true},
	}
	if !slices.EqualFunc(cs.Mounts, wantMounts, func(a, b mount.Mount) bool {
		return a.Type == b.Type && a.Source == b.Source && a.Target == b.Target && a.ReadOnly == b.ReadOnly
	}) {
		t.Errorf("mounts %+v, want %+v", cs.Mounts, wantMounts)
	}
	wantPorts := []swarm.PortConfig{{Protocol: "tcp", TargetPort: 6379, PublishedPort: 26201, PublishMode: swarm.PortConfigPublishModeHost}}
	if !slices.Equal(got.EndpointSpec.Ports, wantPorts) {
		t.Errorf("ports %+v, want %+v", got.EndpointSpec.Ports, wantPorts)
	}
	if !slices.Equal(got.TaskTemplate.Placement.Constraints, []string{"node.id==node1"}) {
		t.Errorf("constraints %v", got.TaskTemplate.Placement.Constraints)
	}
	if *got.Mode.Replicated.Replicas != 0 {
		t.Errorf("replicas %d, want 0", *got.Mode.Replicated.Replicas)
	}
	res := got.TaskTemplate.Resources
	if res.Limits.MemoryBytes != 1<<30 || res.Reservations.MemoryBytes != 1<<30 || res.Reservations.NanoCPUs != 5e8 {
		t.Errorf("resources: limits %+v, reservations %+v", res.Limits, res.Reservations)
	}
	rp := got.TaskTemplate.RestartPolicy
	if rp.Condition != swarm.RestartPolicyConditionOnFailure || *rp.MaxAttempts != 3 {
		t.Errorf("restart policy %+v, want on-failure, 3 attempts", rp)
	}
	back := service(swarm.Service{ID: "s1", Spec: got})
	if _, ok := back.Labels[imageLabel]; ok || back.Labels["broker"] != "x" {
		t.Errorf("the labels read back as %v, want the container's", back.Labels)
	}
	if back.Image != "redis:7.4" || back.NodeID != "node1" || back.Replicas != 0 || back.MemoryReservation != 1<<30 || back.RestartCondition != "on-failure" || !slices.Equal(back.Ports, []PortMapping{{ContainerPort: "6379/tcp", HostPort: "26201"}}) {
		t.Errorf("the spec read back as %+v", back)
	}
}

func TestServiceSpecRefusesWhatASwarmCannotExpress(t *testing.T) {
	for name, c := range map[string]ContainerSpec{
		"a port the engine chooses": {Ports: []PortMapping{{ContainerPort: "6379/tcp"}}},
		"a bind option":             {Binds: []string{"/a:/b:z"}},
		"a restart policy":          {RestartPolicy: RestartPolicy{Name: "sometimes"}},
	} {
		if _, err := swarmServiceSpec(ServiceSpec{Container: c}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
