package standin

import (
	"context"
	"log/slog"
	"os"
)

// Internals for the black-box tests in package standin_test.

// Key is the recipe's cache key (hex sha256).
func Key(r Recipe) (string, error) { return r.key() }

// ArchiveName is the cache file name of the recipe's archive.
func ArchiveName(r Recipe) (string, error) { return r.archiveName() }

// EntrypointScript is the recipe's entrypoint script.
func EntrypointScript(r Recipe) ([]byte, error) { return r.entrypoint() }

// Layer is a layer tar of an image and its diff id.
type Layer = layerFile

// NewLayer is the layer tar at path with that diff id.
func NewLayer(path, diffID string) Layer { return layerFile{path, diffID} }

// BuildBase builds the base of the images in the cache, unless it has it.
func BuildBase(ctx context.Context, log *slog.Logger) error {
	dir, err := CacheDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_, release, err := useBase(ctx, dir, log)
	if err == nil {
		release()
	}
	return err
}

var (
	DiffLayer     = diffLayer
	LayerTar      = layerTar
	WriteArchive  = writeArchive
	PrepareRootfs = prepareRootfs
	Lock          = lock
	RemoveStale   = removeStale
	RemoveWorkDir = removeWorkDir
)
