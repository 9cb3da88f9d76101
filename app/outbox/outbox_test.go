package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/outbox"
	"github.com/orderflow/orderflow/messages"
)

type entry struct {
	name, correlationID string
	published           bool
}

func published(e entry) bool     { return e.published }
func flag(e *entry) *bool        { return &e.published }
func correlation(e entry) string { return e.correlationID }
func event(e entry) any          { return e.name }

type recorder struct {
	events, correlations []string
	failAt               int
}

func (r *recorder) Publish(ctx context.Context, ev any) error {
	if len(r.events) == r.failAt {
		return errors.New("broker down")
	}
	r.events = append(r.events, ev.(string))
	r.correlations = append(r.correlations, messages.CorrelationID(ctx))
	return nil
}

func TestPendingAndMarkFirst(t *testing.T) {
	t.Parallel()
	history := []entry{{name: "a", published: true}, {name: "b"}, {name: "c"}}
	assert.Equal(t, []entry{{name: "b"}, {name: "c"}}, outbox.Pending(history, published))

	assert.True(t, outbox.MarkFirst(history, 2, flag))
	assert.Equal(t, []entry{{name: "c"}}, outbox.Pending(history, published))
	assert.False(t, outbox.MarkFirst(history, 2, flag), "marking again changes nothing")
	assert.True(t, outbox.MarkFirst(history, 10, flag), "n past the end marks everything")
	assert.Empty(t, outbox.Pending(history, published))
}

func TestPublishInOrderWithEachCorrelationID(t *testing.T) {
	t.Parallel()
	pending := []entry{{name: "a", correlationID: "c-1"}, {name: "b", correlationID: "c-2"}}
	r := &recorder{failAt: -1}
	require.NoError(t, outbox.Publish(context.Background(), r, pending, correlation, event))
	assert.Equal(t, []string{"a", "b"}, r.events)
	assert.Equal(t, []string{"c-1", "c-2"}, r.correlations)

	failing := &recorder{failAt: 1}
	require.Error(t, outbox.Publish(context.Background(), failing, pending, correlation, event))
	assert.Equal(t, []string{"a"}, failing.events, "stops at the first failure; the rest stays pending")
}

func TestFlush(t *testing.T) {
	t.Parallel()
	pending := []entry{{name: "a", correlationID: "c-1"}, {name: "b", correlationID: "c-2"}}
	errMark := errors.New("store down")
	cases := []struct {
		name       string
		pending    []entry
		failAt     int
		markErr    error
		wantEvents []string
		wantMarks  int
		wantErr    string
	}{
		{name: "nothing pending publishes and marks nothing", failAt: -1},
		{name: "publishes in order, then marks", pending: pending, failAt: -1, wantEvents: []string{"a", "b"}, wantMarks: 1},
		{name: "a failed publish marks nothing", pending: pending, failAt: 1, wantEvents: []string{"a"}, wantErr: "order o-1: publish string: broker down"},
		{name: "a failed mark is said", pending: pending, failAt: -1, markErr: errMark, wantEvents: []string{"a", "b"}, wantMarks: 1, wantErr: "mark events of order o-1 published: store down"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{failAt: tc.failAt}
			marks := 0
			err := outbox.Flush(context.Background(), r, "order o-1", tc.pending, correlation, event, func(context.Context) error {
				marks++
				return tc.markErr
			})
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.EqualError(t, err, tc.wantErr)
			}
			assert.Equal(t, tc.wantEvents, r.events)
			assert.Equal(t, tc.wantMarks, marks)
		})
	}
}

func TestRelay(t *testing.T) {
	t.Parallel()
	before := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	errStore, errOne := errors.New("store down"), errors.New("one failed")
	for _, tc := range []struct {
		name     string
		found    []int
		listErr  error
		failOn   int // the aggregate finish fails on (0: none)
		wantN    int
		wantErrs []error
		wantText string
	}{
		{name: "every aggregate finished, events counted", found: []int{1, 2, 3}, wantN: 6},
		{name: "nothing to relay", wantN: 0},
		{name: "goes on past one that fails", found: []int{1, 2, 3}, failOn: 2, wantN: 4, wantErrs: []error{errOne}, wantText: "relay: one failed"},
		{name: "a list that fails names what it lists", listErr: errStore, wantErrs: []error{errStore}, wantText: "list things with unpublished events: store down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			list := func(_ context.Context, gotBefore time.Time, limit int) ([]int, error) {
				assert.Equal(t, before, gotBefore)
				assert.Equal(t, 10, limit)
				return tc.found, tc.listErr
			}
			n, err := outbox.Relay(t.Context(), list, before, 10, "things", func(a int) (int, error) {
				if a == tc.failOn {
					return 0, errOne
				}
				return a, nil
			})
			assert.Equal(t, tc.wantN, n)
			if len(tc.wantErrs) == 0 {
				require.NoError(t, err)
				return
			}
			for _, want := range tc.wantErrs {
				require.ErrorIs(t, err, want)
			}
			assert.EqualError(t, err, tc.wantText)
		})
	}
}
