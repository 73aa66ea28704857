package supervisor

import "testing"

const procCgroups = `#subsys_name	hierarchy	num_cgroups	enabled
cpuset	3	1	1
cpu	1	1	1
memory	4	1	1
hugetlb	0	1	0
`

func TestCgroupsLeftAloneWhereTheHostHasThem(t *testing.T) {
	for name, mountinfo := range map[string]string{
		"v1":     "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n",
		"v2":     "30 25 0:26 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw\n",
		"hybrid": "29 25 0:25 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n31 29 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
	} {
		if plan := planCgroupMounts(mountinfo, "nodev\tcgroup2\n", procCgroups); len(plan) != 0 {
			t.Errorf("%s host: planned %v, want nothing", name, plan)
		}
	}
}

func TestCgroupsMountedWhereMissing(t *testing.T) {
	mountinfo := "22 1 252:1 / / rw - ext4 /dev/vda rw\n"
	v2 := planCgroupMounts(mountinfo, "nodev\tsysfs\nnodev\tcgroup\nnodev\tcgroup2\n", procCgroups)
	if len(v2) != 1 || v2[0].fstype != "cgroup2" || v2[0].target != "/sys/fs/cgroup" {
		t.Errorf("kernel with cgroup2: planned %v, want one cgroup2 mount on /sys/fs/cgroup", v2)
	}
	v1 := planCgroupMounts(mountinfo, "nodev\tcgroup\n", procCgroups)
	want := []cgroupMount{
		{"cgroup", "/sys/fs/cgroup", "tmpfs", "mode=755"},
		{"cgroup", "/sys/fs/cgroup/cpuset", "cgroup", "cpuset"},
		{"cgroup", "/sys/fs/cgroup/cpu", "cgroup", "cpu"},
		{"cgroup", "/sys/fs/cgroup/memory", "cgroup", "memory"},
	}
	if len(v1) != len(want) {
		t.Fatalf("kernel without cgroup2: planned %v, want %v (disabled hugetlb left out)", v1, want)
	}
	for i := range want {
		if v1[i] != want[i] {
			t.Errorf("mount %d: %v, want %v", i, v1[i], want[i])
		}
	}
}
