package localdisk

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestARestoreWritesNothingOutsideThePlansVolumes(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"../escaped", "etc/passwd", "data/../../escaped"} {
		var archive bytes.Buffer
		tw := tar.NewWriter(&archive)
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte("x"))
		tw.Close()
		err := New(dir, "").ReplaceVolumes(context.Background(), "x", []string{"/data"}, &archive)
		if err == nil || !strings.Contains(err.Error(), "in none of the plan's persistent volumes") {
			t.Errorf("archive entry %q: %v", name, err)
		}
	}
	// A link the archive holds is never followed.
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	_ = tw.WriteHeader(&tar.Header{Name: "data/link", Typeflag: tar.TypeSymlink, Linkname: "/etc"})
	_ = tw.WriteHeader(&tar.Header{Name: "data/link/owned", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	_, _ = tw.Write([]byte("x"))
	tw.Close()
	if err := New(dir, "").ReplaceVolumes(context.Background(), "x", []string{"/data"}, &archive); err == nil {
		t.Error("an archive writing through its own symbolic link was restored")
	}
	if _, err := os.Stat("/etc/owned"); !errors.Is(err, os.ErrNotExist) {
		t.Error("a restore wrote through a symbolic link")
	}
}
