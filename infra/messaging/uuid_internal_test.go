package messaging

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewUUIDIsARandomUUIDEachTime(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 3 * len(uuidBatch{}.buf) / 16 { // across several batches
		s := newUUID()
		u, err := uuid.Parse(s)
		require.NoError(t, err)
		assert.Equal(t, uuid.Version(4), u.Version())
		assert.Equal(t, uuid.RFC4122, u.Variant())
		assert.False(t, seen[s], "repeated: %s", s)
		seen[s] = true
	}
}

func TestNewUUIDAllocatesOnlyItsString(t *testing.T) {
	allocs := testing.AllocsPerRun(1000, func() { _ = newUUID() })
	assert.LessOrEqual(t, allocs, 1.0)
}
