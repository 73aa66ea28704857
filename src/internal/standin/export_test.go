package standin

// Internals for the black-box tests in package standin_test.

// Key is the recipe's cache key (hex sha256).
func Key(r Recipe) (string, error) { return r.key() }

// ArchiveName is the cache file name of the recipe's archive.
func ArchiveName(r Recipe) (string, error) { return r.archiveName() }

var (
	LayerTar      = layerTar
	WriteArchive  = writeArchive
	PrepareRootfs = prepareRootfs
)
