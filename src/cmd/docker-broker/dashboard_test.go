package main

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
)

// The job serves the dashboard by default behind the broker's credentials; dashboard.username
// and dashboard.password (the manifest sets them) give it a pair of its own, which the
// broker's no longer replace, and which never reaches the log; dashboard.external_url and
// dashboard.cloud_controller serve the developers' dashboard.
func TestDashboardPropertiesGiveItCredentialsOfItsOwn(t *testing.T) {
	p := startBrokerProcess(t, seedServices(t), func(cfg map[string]any) { cfg["dashboard"] = renderedConfig(t, "dashboard", nil) })
	if status := scrapeStatus(t, p.url+"/dashboard", "broker", "fault-test-password"); status != http.StatusOK {
		t.Errorf("GET /dashboard with the broker's credentials by default: %d, want 200", status)
	}

	dashboard := renderedConfig(t, "dashboard", map[string]any{"username": "operator", "password": "dashboard-password"})
	p = startBrokerProcess(t, seedServices(t), func(cfg map[string]any) { cfg["dashboard"] = dashboard })
	for _, c := range []struct {
		username, password string
		want               int
	}{
		{"operator", "dashboard-password", http.StatusOK},
		{"", "", http.StatusUnauthorized},
		{"broker", "fault-test-password", http.StatusUnauthorized},
	} {
		if status := scrapeStatus(t, p.url+"/dashboard", c.username, c.password); status != c.want {
			t.Errorf("GET /dashboard as %q: %d, want %d", c.username, status, c.want)
		}
	}
	p.stop(syscall.SIGTERM) // its log is complete, and no longer written, once it has exited
	if strings.Contains(p.log.String(), "dashboard-password") {
		t.Error("the dashboard password is in the broker's log")
	}

	// The developers' dashboard takes no broker credential: it signs developers on itself, and
	// tells nothing of an instance it does not know.
	developers := renderedConfig(t, "dashboard", map[string]any{"external_url": "http://127.0.0.1:1", "cloud_controller": "https://127.0.0.1:1"})
	p = startBrokerProcess(t, seedServices(t), func(cfg map[string]any) { cfg["dashboard"] = developers })
	if status := scrapeStatus(t, p.url+"/manage/instances/no-such-instance", "", ""); status != http.StatusNotFound {
		t.Errorf("GET /manage/instances/no-such-instance without credentials: %d, want 404", status)
	}

	off := renderedConfig(t, "dashboard", map[string]any{"enabled": false})
	p = startBrokerProcess(t, seedServices(t), func(cfg map[string]any) { cfg["dashboard"] = off })
	if status := scrapeStatus(t, p.url+"/dashboard", "broker", "fault-test-password"); status != http.StatusNotFound {
		t.Errorf("GET /dashboard with dashboard.enabled false: %d, want 404", status)
	}
}
