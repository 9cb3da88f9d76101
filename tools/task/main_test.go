package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The shim finds Task's pinned module from anywhere in the tree, as `go tool task` may be run
// from any directory of the module.
func TestFindModfile(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	want := filepath.Join(root, "tools", "task", "pin", "go.mod")

	for _, tc := range []struct {
		name string
		dir  string
	}{
		{name: "module root", dir: root},
		{name: "a package below it", dir: filepath.Join(root, "tools", "task")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(tc.dir)
			got, err := findModfile(t.Context())
			require.NoError(t, err)
			require.Equal(t, want, got)
			_, err = os.Stat(got)
			require.NoError(t, err)
		})
	}
}

// Outside any module the shim says so rather than running Task against the wrong go.mod.
func TestFindModfileOutsideModule(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("GO111MODULE", "on")
	t.Setenv("GOFLAGS", "")
	_, err := findModfile(t.Context())
	require.ErrorContains(t, err, "not inside the orderflow module")
}
