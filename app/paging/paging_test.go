package paging_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/paging"
	"github.com/orderflow/orderflow/messages"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 20, 0, 0, 123456789, time.UTC)
	gotAt, gotID, err := paging.Decode(paging.Encode(at, "order:1"))
	require.NoError(t, err)
	assert.Equal(t, at, gotAt)
	assert.Equal(t, "order:1", gotID, "only the first colon separates")
}

func TestDecodeRefusesWhatNoListHandedOut(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"", "!!!", "bm9jb2xvbg", "MTIzOg", "eHl6OmlkLTE"} { // "", bad base64, "nocolon", "123:", "xyz:id-1"
		_, _, err := paging.Decode(c)
		assert.ErrorIs(t, err, paging.ErrBadCursor, "%q", c)
	}
}

func TestLimit(t *testing.T) {
	t.Parallel()
	assert.Equal(t, messages.DefaultListLimit, paging.Limit(0))
	assert.Equal(t, messages.DefaultListLimit, paging.Limit(-3))
	assert.Equal(t, 7, paging.Limit(7))
	assert.Equal(t, messages.MaxListLimit, paging.Limit(messages.MaxListLimit+1))
}
