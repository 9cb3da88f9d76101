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

func TestCut(t *testing.T) {
	t.Parallel()
	type item struct {
		at time.Time
		id string
	}
	at := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	three := []item{{at, "a"}, {at.Add(-time.Second), "b"}, {at.Add(-2 * time.Second), "c"}}
	key := func(it *item) (time.Time, string) { return it.at, it.id }
	for _, tc := range []struct {
		name       string
		found      []item
		limit      int
		wantLen    int
		wantCursor string
	}{
		{name: "one more than the page: cut, cursor of the last kept", found: three, limit: 2, wantLen: 2, wantCursor: paging.Encode(three[1].at, "b")},
		{name: "as many as the page: the last page", found: three, limit: 3, wantLen: 3},
		{name: "fewer than the page: the last page", found: three[:1], limit: 3, wantLen: 1},
		{name: "nothing found", found: nil, limit: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			page, next := paging.Cut(tc.found, tc.limit, key)
			assert.Len(t, page, tc.wantLen)
			assert.Equal(t, tc.wantCursor, next)
		})
	}
}
