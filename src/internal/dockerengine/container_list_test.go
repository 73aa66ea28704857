package dockerengine

import (
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestListedHealthReadsTheFieldOrElseTheStatusText(t *testing.T) {
	for _, c := range []struct {
		summary container.Summary
		want    string
	}{
		{container.Summary{Health: &container.HealthSummary{Status: container.Unhealthy}, Status: "Up 1 second (healthy)"}, "unhealthy"},
		{container.Summary{Status: "Up 2 minutes (healthy)"}, "healthy"},
		{container.Summary{Status: "Up 2 minutes (unhealthy)"}, "unhealthy"},
		{container.Summary{Status: "Up 3 seconds (health: starting)"}, "starting"},
		{container.Summary{Status: "Up 2 minutes"}, "none"},
		{container.Summary{Status: "Exited (1) 5 seconds ago"}, "none"},
	} {
		if got := listedHealth(c.summary); got != c.want {
			t.Errorf("%+v: %q, want %q", c.summary, got, c.want)
		}
	}
}
