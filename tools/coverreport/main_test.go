package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMergeAndReport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		profiles []string
		merged   string
		contains []string
	}{
		{
			name: "the same block from two test binaries counts once, covered if either covered it",
			profiles: []string{`mode: atomic
m/a/x.go:1.1,2.2 3 0
m/a/x.go:3.1,4.2 1 2
m/b/y.go:1.1,2.2 4 0
m/a/x.go:1.1,2.2 3 5
m/b/y.go:1.1,2.2 4 0
`},
			merged: "mode: atomic\nm/a/x.go:1.1,2.2 3 5\nm/a/x.go:3.1,4.2 1 2\nm/b/y.go:1.1,2.2 4 0\n",
			contains: []string{"a                 4        4  100.0%", "b                 4        0    0.0%",
				"coverage total: 50.0% of 8 statements in 2 packages"},
		},
		{
			name:     "set mode across two profiles (unit and integration runs)",
			profiles: []string{"mode: set\nm/a/x.go:1.1,2.2 2 0\nm/a/x.go:3.1,4.2 2 0\n", "mode: set\nm/a/x.go:1.1,2.2 2 1\n"},
			merged:   "mode: set\nm/a/x.go:1.1,2.2 2 1\nm/a/x.go:3.1,4.2 2 0\n",
			contains: []string{"coverage total: 50.0% of 4 statements in 1 packages"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var args []string
			for i, p := range tc.profiles {
				name := filepath.Join(dir, "p"+string(rune('0'+i)))
				require.NoError(t, os.WriteFile(name, []byte(p), 0o600))
				args = append(args, name)
			}
			merged := filepath.Join(dir, "merged")
			var out strings.Builder
			require.NoError(t, run(append([]string{"-o", merged}, args...), &out))
			got, err := os.ReadFile(merged)
			require.NoError(t, err)
			assert.Equal(t, tc.merged, string(got))
			for _, s := range tc.contains {
				assert.Contains(t, out.String(), s)
			}
		})
	}
}

func TestBadProfiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		profile string
		err     string
	}{
		{name: "empty", profile: "", err: "no blocks"},
		{name: "no mode line", profile: "m/a/x.go:1.1,2.2 2 0\n", err: "no mode line"},
		{name: "mixed modes", profile: "mode: set\nm/a/x.go:1.1,2.2 2 0\nmode: atomic\n", err: "mode atomic after mode set"},
		{name: "not a block", profile: "mode: set\nhello\n", err: "not a block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := filepath.Join(t.TempDir(), "p")
			require.NoError(t, os.WriteFile(name, []byte(tc.profile), 0o600))
			var out strings.Builder
			require.ErrorContains(t, run([]string{name}, &out), tc.err)
		})
	}
}
