package standin_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

// Every image is the shared base's layer plus its own: an engine stores the base once.
func TestImagesShareTheBaseLayer(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping a stand-in image build in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("building stand-in images needs root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	recipes := standin.All()
	paths, err := standin.Archives(ctx, recipes, 0, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	var base string
	for i, p := range paths {
		ids := diffIDs(t, p)
		if len(ids) != 2 {
			t.Errorf("%s: %d layers, want the base's and its own", recipes[i].Name, len(ids))
			continue
		}
		if base == "" {
			base = ids[0]
		} else if ids[0] != base {
			t.Errorf("%s: first layer %s, want the base's %s", recipes[i].Name, ids[0], base)
		}
	}
}

// diffIDs returns the diff ids of the layers of the image in the archive, reading only its
// manifest and configuration.
func diffIDs(t *testing.T, archive string) []string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f) // skips the layers' contents with Seek
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(h.Name, ".json") {
			if files[h.Name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	var manifest []struct{ Config string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("%s: manifest.json %s: %v", archive, files["manifest.json"], err)
	}
	var config struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(files[manifest[0].Config], &config); err != nil {
		t.Fatalf("%s: config: %v", archive, err)
	}
	return config.RootFS.DiffIDs
}
