package standin_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

func TestDevBuild(t *testing.T) {
	if os.Getenv("STANDIN_DEV") == "" {
		t.Skip()
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	for _, r := range standin.All() {
		p, err := r.Archive(context.Background(), log)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(p)
	}
}
