package supervisor

import (
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strings"
)

// ensureBridge creates the bridge dockerd is told to use (--bridge) when it does not exist yet,
// with address cidr, and brings it up. dockerd does not create a named bridge itself.
// It is how several engines share one host: each gets its own bridge (tests, the local run).
func ensureBridge(name, cidr string, log *slog.Logger) error {
	if _, err := net.InterfaceByName(name); err == nil {
		return nil
	}
	for _, args := range [][]string{
		{"link", "add", "name", name, "type", "bridge"},
		{"addr", "add", cidr, "dev", name},
		{"link", "set", name, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("creating bridge %s (bridge, bridge_cidr): ip %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	log.Info("created bridge", "bridge", name, "address", cidr)
	return nil
}
