package nodedisk

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/localdisk"
)

// writeFilesScript writes files below the volumes mounted at workMount/<n>, owned by $1
// (chown's argument, "" keeps root's); the other arguments come five per file: the volume's
// mount, the name below it, the mode, 1 when the file is written once, and the size of its
// content, which the standard input holds, file after file. It prints "written" or "kept" for
// each file as it is done with it. The helper mounts the instance's volumes alone: a symbolic
// link the service planted in one leads nowhere but into the helper's own throw-away file system
// or back into a volume, never to the node's files. As on the local disk, a symbolic link among
// the parent directories is refused and a file is replaced by a rename (linked, when once),
// never written through whatever has its name.
//
// head -c (coreutils) reads no more of its input than it copies, which leaves the next file's
// content to the next file.
const writeFilesScript = `owner=$1; shift
set -f
write_file() {
	cd "$1"
	name=$2 mode=$3 once=$4 size=$5
	dir=$(dirname -- "$name") base=$(basename -- "$name")
	p=.
	IFS=/
	for part in $dir; do
		p=$p/$part
		if [ -L "$p" ]; then echo "${p#./} is a symbolic link, which the broker does not follow" >&2; exit 1; fi
		if [ ! -e "$p" ]; then
			mkdir -m 750 -- "$p"
			if [ -n "$owner" ]; then chown -h -- "$owner" "$p"; fi
		fi
		if [ ! -d "$p" ]; then echo "${p#./} is not a directory" >&2; exit 1; fi
	done
	unset IFS
	if [ -e "$name" ] || [ -L "$name" ]; then
		if [ "$once" = 1 ]; then head -c "$size" > /dev/null; echo kept; return; fi
		if [ -d "$name" ] && [ ! -L "$name" ]; then echo "a directory has its name" >&2; exit 1; fi
	fi
	temp=$dir/.$base.docker-broker
	rm -f -- "$temp"
	(umask 077; head -c "$size" > "$temp")
	if [ -n "$owner" ]; then chown -- "$owner" "$temp"; fi
	chmod "$mode" "$temp"
	sync "$temp" 2>/dev/null || sync
	if [ "$once" = 1 ]; then
		if ln -- "$temp" "$name" 2>/dev/null; then echo written; else echo kept; fi
		rm -f -- "$temp"
	else
		mv -f -- "$temp" "$name"
		echo written
	fi
}
while [ $# -gt 0 ]; do
	write_file "$1" "$2" "$3" "$4" "$5"
	shift 5
done`

// WriteFiles writes files below the instance's volumes on its node, owned by uid:gid with
// their modes, and says which it wrote: a file written once is left alone when anything has its
// name. One helper writes them all; it mounts each volume that receives files at a mount of its
// own, and nothing else of the node.
func (d *Disk) WriteFiles(ctx context.Context, instanceID string, files []localdisk.VolumeFile, uid, gid int) ([]bool, error) {
	if len(files) == 0 {
		return nil, nil
	}
	mounts := map[string]string{} // by volume
	var binds []string
	args := []string{owner(uid, gid)}
	var contents bytes.Buffer
	for _, f := range files {
		mount, ok := mounts[f.Volume]
		if !ok {
			mount = workMount + "/" + strconv.Itoa(len(mounts))
			mounts[f.Volume] = mount
			binds = append(binds, filepath.Join(d.Dir(instanceID), f.Volume)+":"+mount)
		}
		once := "0"
		if f.Once {
			once = "1"
		}
		args = append(args, mount, relPaths([]string{f.Name})[0], fmt.Sprintf("%o", f.Mode.Perm()), once, strconv.Itoa(len(f.Content)))
		contents.Write(f.Content)
	}
	var out bytes.Buffer
	var scriptErr error
	err := d.inInstanceDirs(ctx, instanceID, binds, func(h helper) error {
		scriptErr = h.run(ctx, writeFilesScript, args, &contents, &out)
		return scriptErr
	})
	// The files done are those the script reported on; when it failed, the next one did.
	var written []bool
	for _, result := range strings.Fields(out.String()) {
		written = append(written, result == "written")
	}
	switch {
	case scriptErr != nil && len(written) < len(files):
		return nil, fmt.Errorf("on the node of instance %s: %w", instanceID, files[len(written)].Failed(err))
	case err != nil:
		return nil, fmt.Errorf("on the node of instance %s: %w", instanceID, err)
	case len(written) != len(files):
		return nil, fmt.Errorf("on the node of instance %s: the helper reported on %d of %d files", instanceID, len(written), len(files))
	}
	return written, nil
}
