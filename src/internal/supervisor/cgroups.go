package supervisor

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const cgroupRoot = "/sys/fs/cgroup"

// cgroupMount is one filesystem to mount so that dockerd finds cgroups.
type cgroupMount struct {
	source, target, fstype, data string
}

// mountCgroups mounts cgroupfs where the host has none (some minimal VMs and containers):
// cgroup v2 when the kernel has it, else a tmpfs with one v1 hierarchy per enabled controller.
// A host that has any cgroup mount is left as it is, v1, v2 or hybrid.
func mountCgroups(log *slog.Logger) error {
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("reading /proc/self/mountinfo: %w", err)
	}
	filesystems, _ := os.ReadFile("/proc/filesystems")
	controllers, _ := os.ReadFile("/proc/cgroups")
	for _, m := range planCgroupMounts(string(mountinfo), string(filesystems), string(controllers)) {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", m.target, err)
		}
		if err := syscall.Mount(m.source, m.target, m.fstype, 0, m.data); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.fstype, m.target, err)
		}
		log.Info("mounted cgroupfs", "type", m.fstype, "target", m.target, "options", m.data)
	}
	return nil
}

// planCgroupMounts decides what to mount from the contents of /proc/self/mountinfo,
// /proc/filesystems and /proc/cgroups.
func planCgroupMounts(mountinfo, filesystems, controllers string) []cgroupMount {
	for _, line := range strings.Split(mountinfo, "\n") {
		// mountinfo: id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		_, after, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		fstype := strings.Fields(after)[0]
		if fstype == "cgroup" || fstype == "cgroup2" {
			return nil
		}
	}
	for _, line := range strings.Split(filesystems, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[len(f)-1] == "cgroup2" {
			return []cgroupMount{{source: "cgroup2", target: cgroupRoot, fstype: "cgroup2"}}
		}
	}
	mounts := []cgroupMount{{source: "cgroup", target: cgroupRoot, fstype: "tmpfs", data: "mode=755"}}
	scanner := bufio.NewScanner(strings.NewReader(controllers))
	for scanner.Scan() {
		// /proc/cgroups: subsys_name hierarchy num_cgroups enabled
		f := strings.Fields(scanner.Text())
		if len(f) != 4 || strings.HasPrefix(f[0], "#") || f[3] != "1" {
			continue
		}
		mounts = append(mounts, cgroupMount{source: "cgroup", target: filepath.Join(cgroupRoot, f[0]), fstype: "cgroup", data: f[0]})
	}
	return mounts
}
