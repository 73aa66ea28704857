package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

func TestBackoffDoublesUpToTheLimit(t *testing.T) {
	s := &Supervisor{cfg: Config{Restart: RestartConfig{InitialBackoff: config.Duration(time.Second), MaxBackoff: config.Duration(5 * time.Second)}}}
	var got []time.Duration
	for n := 1; n <= 5; n++ {
		got = append(got, s.backoff(n))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoffs %v, want %v", got, want)
		}
	}
}

func TestLogTailShowsOnlyThisRunsLastLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dockerd.log")
	previous := "old run: fine\n"
	var b strings.Builder
	b.WriteString(previous)
	for i := range 30 {
		b.WriteString("line ")
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString("\n")
	}
	b.WriteString("failed to start daemon: pid file found\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &dockerd{logFile: path, logOffset: int64(len(previous))}
	tail := d.logTail()
	lines := strings.Split(tail, "\n")
	if len(lines) != 20 || lines[19] != "failed to start daemon: pid file found" {
		t.Fatalf("tail has %d lines ending %q, want 20 ending with the failure", len(lines), lines[len(lines)-1])
	}
	if strings.Contains(tail, "old run") {
		t.Error("the tail shows output of an earlier run")
	}
	empty := &dockerd{logFile: path, logOffset: int64(b.Len())}
	if got := empty.logTail(); got != "(dockerd wrote nothing)" {
		t.Errorf("tail of a silent run: %q", got)
	}
}
