package nodedisk

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strings"
)

// writeFileScript writes its standard input to $1, below the volume mounted at workMount, with
// the mode $2 and the owner $4 (chown's argument, "" keeps root's), once only when $3 is 1, and
// prints "written" when it did. The helper mounts the volume alone: a symbolic link the service
// planted in it leads nowhere but into the helper's own throw-away file system or back into
// the volume, never to the node's files. As on the local disk, a symbolic link among the parent
// directories is refused and the file is replaced by a rename (linked, when once), never
// written through whatever has its name.
const writeFileScript = `cd ` + workMount + `
name=$1 mode=$2 once=$3 owner=$4
dir=$(dirname -- "$name") base=$(basename -- "$name")
p=.
IFS=/
set -f
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
	if [ "$once" = 1 ]; then exit 0; fi
	if [ -d "$name" ] && [ ! -L "$name" ]; then echo "a directory has its name" >&2; exit 1; fi
fi
temp=$dir/.$base.docker-broker
rm -f -- "$temp"
(umask 077; cat > "$temp")
if [ -n "$owner" ]; then chown -- "$owner" "$temp"; fi
chmod "$mode" "$temp"
sync "$temp" 2>/dev/null || sync
if [ "$once" = 1 ]; then
	if ln -- "$temp" "$name" 2>/dev/null; then echo written; fi
	rm -f -- "$temp"
else
	mv -f -- "$temp" "$name"
	echo written
fi`

// WriteFile writes name below the instance's volume vol on its node, owned by uid:gid with
// mode, and says whether it did: a file written once is left alone when anything has its name.
func (d *Disk) WriteFile(ctx context.Context, instanceID, vol, name string, content []byte, mode fs.FileMode, once bool, uid, gid int) (bool, error) {
	onceArg := "0"
	if once {
		onceArg = "1"
	}
	var out bytes.Buffer
	err := d.inInstanceDir(ctx, instanceID, vol, func(h helper) error {
		args := []string{relPaths([]string{name})[0], fmt.Sprintf("%o", mode.Perm()), onceArg, owner(uid, gid)}
		return h.run(ctx, writeFileScript, args, bytes.NewReader(content), &out)
	})
	if err != nil {
		return false, fmt.Errorf("on the node of instance %s: %w", instanceID, err)
	}
	return strings.TrimSpace(out.String()) == "written", nil
}
