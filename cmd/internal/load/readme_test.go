package load_test

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/load"
)

// The README's performance section documents every LOADGEN_* variable, with
// its flag and default.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	typ := reflect.TypeFor[load.Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := strings.Split(f.Tag.Get("env"), ",")[0]
		require.NotEmpty(t, name, "field %s has no variable", f.Name)
		assert.Contains(t, string(readme), "| `"+name+"` | `-", "README's load generator table lacks %s", name)
		if def := f.Tag.Get("envDefault"); def != "" {
			assert.Contains(t, string(readme), "| `"+name+"` | ", "%s", name)
			assert.Regexp(t, "\\| `"+name+"` \\| `-[a-z-]+` \\| `"+regexp.QuoteMeta(def)+"` \\|", string(readme), "README gives %s's default, %s", name, def)
		}
	}
}
