package repotest

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/poison"
)

// PoisonStores runs the contract of poison.Store against the stores newStore makes.
func PoisonStores(t *testing.T, newStore func(t *testing.T) poison.Store) {
	t.Run("Get and Update of a missing entry are ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := uniquePrefix() + "missing"

		_, err := s.Get(t.Context(), id)
		require.ErrorIs(t, err, poison.ErrNotFound)

		ran := false
		_, err = s.Update(t.Context(), id, func(e *poison.Entry) error {
			ran = true
			return e.Discard(at(2031, 0))
		})
		require.ErrorIs(t, err, poison.ErrNotFound)
		assert.False(t, ran, "fn must not run for a missing entry")
		_, err = s.Get(t.Context(), id)
		require.ErrorIs(t, err, poison.ErrNotFound, "Update of a missing entry must store nothing")
	})

	t.Run("Save stores the entry as given, and Get reads it back", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		cases := []struct {
			name  string
			entry poison.Entry
		}{
			{"full", sampleEntry(uniquePrefix()+"full", at(2031, 0))},
			{"binary payload and odd metadata keys", func() poison.Entry {
				e := sampleEntry(uniquePrefix()+"odd", at(2031, time.Second))
				e.Payload = []byte{0, 1, 2, 0xff, 0xfe}
				e.Metadata = map[string]string{"a.b": "dotted", "$x": "dollar", "": "empty key", "k": ""}
				return e
			}()},
			{"nothing but the id and status", poison.Entry{ID: uniquePrefix() + "bare", Status: poison.StatusPoisoned, PoisonedAt: at(2031, 2*time.Second), Revision: 1}},
		}
		for _, tc := range cases {
			require.NoError(t, s.Save(t.Context(), tc.entry), tc.name)
			got, err := s.Get(t.Context(), tc.entry.ID)
			require.NoError(t, err, tc.name)
			assert.Equal(t, normEntry(tc.entry), normEntry(got), tc.name)
		}
	})

	t.Run("Save is idempotent by id: a second save changes nothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := uniquePrefix() + "e"
		first := sampleEntry(id, at(2031, 0))
		require.NoError(t, s.Save(t.Context(), first))
		requeued, err := s.Update(t.Context(), id, func(e *poison.Entry) error { return e.MarkRequeued(at(2031, time.Minute)) })
		require.NoError(t, err)

		again := sampleEntry(id, at(2031, time.Hour))
		again.Reason = "another reason"
		require.NoError(t, s.Save(t.Context(), again))

		got, err := s.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, normEntry(requeued), normEntry(got), "a redelivered poison message must not undo a requeue")
		assert.Equal(t, poison.StatusRequeued, got.Status)
	})

	t.Run("Update stores what fn did when Revision moves, and nothing when fn fails or leaves it", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := uniquePrefix() + "e"
		stored := sampleEntry(id, at(2031, 0))
		require.NoError(t, s.Save(t.Context(), stored))

		_, err := s.Update(t.Context(), id, func(e *poison.Entry) error {
			e.Reason = "not stored: Revision did not move"
			return nil
		})
		require.NoError(t, err)
		errBoom := errors.New("boom")
		_, err = s.Update(t.Context(), id, func(e *poison.Entry) error {
			require.NoError(t, e.Discard(at(2031, time.Minute)))
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		got, err := s.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, normEntry(stored), normEntry(got))

		want := stored.Clone()
		require.NoError(t, want.MarkRequeued(at(2031, time.Hour)))
		returned, err := s.Update(t.Context(), id, func(e *poison.Entry) error { return e.MarkRequeued(at(2031, time.Hour)) })
		require.NoError(t, err)
		assert.Equal(t, normEntry(want), normEntry(returned), "Update returns the entry as stored")
		got, err = s.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, normEntry(want), normEntry(got))
	})

	t.Run("returned entries are copies", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := uniquePrefix() + "e"
		e := sampleEntry(id, at(2031, 0))
		require.NoError(t, s.Save(t.Context(), e))
		e.Metadata["reason_poisoned"] = "changed after Save"
		e.Payload[0] = 'X'
		want := normEntry(sampleEntry(id, at(2031, 0)))

		got, err := s.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, want, normEntry(got), "changing what was saved changed the store")
		got.Metadata["reason_poisoned"] = "mutated"
		got.Payload[0] = 'Y'
		listed, err := s.List(t.Context(), poison.ListQuery{Limit: 100, After: &poison.Cursor{PoisonedAt: at(2031, time.Second)}})
		require.NoError(t, err)
		for i := range listed {
			if listed[i].ID == id {
				listed[i].Metadata["reason_poisoned"] = "mutated"
			}
		}
		again, err := s.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, want, normEntry(again), "changing what Get or List returned changed the store")
	})

	t.Run("List pages newest first, filtered by status, with stable cursors", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		prefix := uniquePrefix()
		base := at(2032, 0)
		// Seven entries; two pairs share a millisecond, so the id breaks the tie.
		offsets := []time.Duration{0, time.Millisecond, time.Millisecond, 2 * time.Millisecond, time.Second, time.Second, time.Minute}
		var all []poison.Entry
		for i, off := range offsets {
			e := sampleEntry(fmt.Sprintf("%s%d", prefix, i), base.Add(off))
			require.NoError(t, s.Save(t.Context(), e))
			if i%3 == 0 {
				var err error
				e, err = s.Update(t.Context(), e.ID, func(e *poison.Entry) error { return e.Discard(base) })
				require.NoError(t, err)
			}
			all = append(all, e)
		}
		newestFirst := func(status poison.Status) []string {
			var ids []string
			for i := len(all) - 1; i >= 0; i-- {
				if status == "" || all[i].Status == status {
					ids = append(ids, all[i].ID)
				}
			}
			return ids
		}
		top := &poison.Cursor{PoisonedAt: base.Add(time.Hour)} // above this window, below later ones
		for _, tc := range []struct {
			name   string
			status poison.Status
			limit  int
		}{
			{"every status, pages of 2", "", 2},
			{"every status, pages of 3", "", 3},
			{"POISONED, pages of 1", poison.StatusPoisoned, 1},
			{"DISCARDED, pages of 2", poison.StatusDiscarded, 2},
			{"REQUEUED, none", poison.StatusRequeued, 2},
		} {
			var got []string
			after := top
			for range 20 {
				page, err := s.List(t.Context(), poison.ListQuery{Status: tc.status, Limit: tc.limit, After: after})
				require.NoError(t, err, tc.name)
				require.LessOrEqual(t, len(page), tc.limit, tc.name)
				mine := 0
				for _, e := range page {
					if strings.HasPrefix(e.ID, prefix) {
						got = append(got, e.ID)
						mine++
					}
					if tc.status != "" {
						assert.Equal(t, tc.status, e.Status, tc.name)
					}
				}
				if len(page) < tc.limit || mine < len(page) {
					break // the last page of this window
				}
				last := page[len(page)-1]
				after = &poison.Cursor{PoisonedAt: last.PoisonedAt, ID: last.ID}
			}
			assert.Equal(t, newestFirst(tc.status), got, tc.name)
		}
	})

	t.Run("concurrent updates of one entry: exactly one requeue wins", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := uniquePrefix() + "e"
		require.NoError(t, s.Save(t.Context(), sampleEntry(id, at(2031, 0))))

		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				_, errs[i] = s.Update(t.Context(), id, func(e *poison.Entry) error {
					return e.MarkRequeued(at(2031, time.Duration(i)*time.Second))
				})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
				continue
			}
			require.ErrorIs(t, err, poison.ErrNotPoisoned)
		}
		assert.Equal(t, 1, won)
		got, err := s.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, poison.StatusRequeued, got.Status)
		assert.Equal(t, int64(2), got.Revision)
	})
}

// sampleEntry is a POISONED entry as Record makes it.
func sampleEntry(id string, poisonedAt time.Time) poison.Entry {
	return poison.Entry{
		ID:         id,
		Service:    "inventory",
		Handler:    "inventory.order_events",
		Topic:      "orders.events",
		OrderID:    "order-1",
		Reason:     "unknown: inventory cannot handle this order",
		Payload:    []byte(`{"order_id":"order-1","items":[{"sku":"SKU-1","quantity":2}]}`),
		Metadata:   map[string]string{"name": "OrderPlaced", "partition_key": "order-1", "reason_poisoned": "unknown: inventory cannot handle this order"},
		PoisonedAt: poisonedAt,
		Status:     poison.StatusPoisoned,
		Revision:   1,
	}
}

// normEntry is how an entry reads back from a store that keeps milliseconds
// in UTC and may read empty maps and slices as nil.
func normEntry(e poison.Entry) poison.Entry {
	e = e.Clone()
	e.PoisonedAt, e.RequeuedAt, e.DiscardedAt = normTime(e.PoisonedAt), normTime(e.RequeuedAt), normTime(e.DiscardedAt)
	e.Payload = nilIfEmpty(e.Payload)
	if len(e.Metadata) == 0 {
		e.Metadata = nil
	} else {
		e.Metadata = maps.Clone(e.Metadata)
	}
	return e
}
