package standin

// Internals for the black-box tests in package standin_test.

// Key is the recipe's cache key (hex sha256).
func Key(r Recipe) (string, error) { return r.key() }

// ArchiveName is the cache file name of the recipe's archive.
func ArchiveName(r Recipe) (string, error) { return r.archiveName() }

// EntrypointScript is the recipe's entrypoint script.
func EntrypointScript(r Recipe) ([]byte, error) { return r.entrypoint() }

var (
	LayerTar      = layerTar
	WriteArchive  = writeArchive
	PrepareRootfs = prepareRootfs
	Lock          = lock
	RemoveStale   = removeStale
	RemoveWorkDir = removeWorkDir
)
