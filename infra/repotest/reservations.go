package repotest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/messages"
)

// Reservations runs the contract of inventory.Reservations against the repositories newRepo makes.
func Reservations(t *testing.T, newRepo func(t *testing.T) inventory.Reservations) {
	t.Run("Get of a missing reservation is ErrNoReservation", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)

		_, err := repo.Get(t.Context(), uniquePrefix()+"missing")

		require.ErrorIs(t, err, inventory.ErrNoReservation)
	})

	t.Run("Update of a missing reservation hands fn a new reservation and stores nothing while Revision stays 0", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "new"

		var seen inventory.Reservation
		got, err := repo.Update(t.Context(), id, func(r *inventory.Reservation) error {
			seen = normReservation(*r)
			r.Status = inventory.Reserving
			return nil
		})

		require.NoError(t, err)
		assert.Equal(t, normReservation(inventory.Reservation{OrderID: id}), normReservation(seen), "fn must get a reservation with only its order id")
		assert.Zero(t, got.Revision)
		_, err = repo.Get(t.Context(), id)
		require.ErrorIs(t, err, inventory.ErrNoReservation, "a reservation whose Revision did not move must not be stored")
	})

	t.Run("Update that leaves Revision unchanged stores nothing", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "r"
		stored := storeReservation(t, repo, id)

		_, err := repo.Update(t.Context(), id, func(r *inventory.Reservation) error {
			r.Status = inventory.Committed
			r.Lines[0].Quantity = 99
			return nil
		})

		require.NoError(t, err)
		got, err := repo.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, normReservation(stored), normReservation(got))
	})

	t.Run("Update stores the result when Revision moves and hands it to the next Update", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		now := at(2030, 0)
		lines := []inventory.Line{{SKU: "SKU-1", Quantity: 2}, {SKU: "SKU-2", Quantity: 3}}
		cases := []struct {
			name  string
			build func(r *inventory.Reservation) error
		}{
			{"reserved then released", func(r *inventory.Reservation) error {
				r.Begin(lines)
				r.Succeed(now, "corr-reserve")
				r.MarkPublished(1)
				r.Release(now.Add(time.Minute), "corr-release")
				return nil
			}},
			{"failed", func(r *inventory.Reservation) error {
				r.Begin(lines)
				r.Fail([]messages.LineFailure{
					{SKU: "SKU-1", Reason: messages.ReasonUnknownSKU, Requested: 2},
					{SKU: "SKU-2", Reason: messages.ReasonInsufficientStock, Requested: 3, Available: 1},
				}, now, "corr-reserve")
				return nil
			}},
			{"released before it began", func(r *inventory.Reservation) error {
				r.Release(now, "corr-release")
				return nil
			}},
		}
		for i, tc := range cases {
			id := fmt.Sprintf("%s%d", prefix, i)
			want := inventory.Reservation{OrderID: id}
			require.NoError(t, tc.build(&want))

			returned, err := repo.Update(t.Context(), id, tc.build)

			require.NoError(t, err, tc.name)
			assert.Equal(t, normReservation(want), normReservation(returned), "%s: Update returns the reservation as stored", tc.name)
			got, err := repo.Get(t.Context(), id)
			require.NoError(t, err, tc.name)
			assert.Equal(t, normReservation(want), normReservation(got), tc.name)

			var seen inventory.Reservation
			_, err = repo.Update(t.Context(), id, func(r *inventory.Reservation) error {
				seen = normReservation(*r)
				return nil
			})
			require.NoError(t, err, tc.name)
			assert.Equal(t, normReservation(want), normReservation(seen), "%s: fn must get the stored reservation", tc.name)
		}
	})

	t.Run("Update whose fn fails stores nothing and returns the error", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		errBoom := errors.New("boom")
		stored := storeReservation(t, repo, prefix+"existing")

		_, err := repo.Update(t.Context(), prefix+"existing", func(r *inventory.Reservation) error {
			r.Succeed(at(2030, time.Hour), "corr")
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		got, err := repo.Get(t.Context(), prefix+"existing")
		require.NoError(t, err)
		assert.Equal(t, normReservation(stored), normReservation(got))

		_, err = repo.Update(t.Context(), prefix+"missing", func(r *inventory.Reservation) error {
			r.Begin([]inventory.Line{{SKU: "SKU-1", Quantity: 1}})
			return fmt.Errorf("wrapped: %w", errBoom)
		})
		require.ErrorIs(t, err, errBoom)
		_, err = repo.Get(t.Context(), prefix+"missing")
		require.ErrorIs(t, err, inventory.ErrNoReservation)
	})

	t.Run("returned reservations are copies", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "r"
		var inside *inventory.Reservation
		returned, err := repo.Update(t.Context(), id, func(r *inventory.Reservation) error {
			inside = r
			r.Begin([]inventory.Line{{SKU: "SKU-1", Quantity: 1}})
			r.Fail([]messages.LineFailure{{SKU: "SKU-1", Reason: messages.ReasonUnknownSKU, Requested: 1}}, at(2030, 0), "corr")
			return nil
		})
		require.NoError(t, err)
		want := normReservation(returned)

		returned.Lines[0].Quantity = 999
		returned.Failures[0].Reason = "mutated"
		returned.History[0].CorrelationID = "mutated"
		inside.Lines[0].SKU = "MUTATED"
		inside.History = append(inside.History, inventory.Change{Status: inventory.Committed})
		got, err := repo.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, want, normReservation(got), "changing what Update returned changed the store")

		got.Lines[0].Quantity = 777
		got.Failures[0].Available = 5
		got.History[0].Published = true
		again, err := repo.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, want, normReservation(again), "changing what Get returned changed the store")
	})

	t.Run("concurrent updates of one reservation are not lost", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "r"
		storeReservation(t, repo, id)

		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				_, errs[i] = repo.Update(t.Context(), id, func(r *inventory.Reservation) error {
					r.History = append(r.History, inventory.Change{
						Status: inventory.Reserving, At: at(2030, time.Duration(i)*time.Second), CorrelationID: writerName(i),
					})
					r.Revision++
					return nil
				})
			})
		}
		wg.Wait()

		for i, err := range errs {
			require.NoError(t, err, "writer %d", i)
		}
		got, err := repo.Get(t.Context(), id)
		require.NoError(t, err)
		var written []string
		for _, c := range got.History {
			written = append(written, c.CorrelationID)
		}
		assert.ElementsMatch(t, writerNames(), written)
		assert.Equal(t, int64(1+writers), got.Revision)
	})

	t.Run("ListUnpublished returns reservations with an unpublished change not after before, oldest first, up to limit", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		// Its own year, before any other subtest's changes.
		before := msAt(1950, 0)
		decide := func(id string, fn func(r *inventory.Reservation)) {
			t.Helper()
			_, err := repo.Update(t.Context(), prefix+id, func(r *inventory.Reservation) error {
				r.Begin([]inventory.Line{{SKU: "SKU-1", Quantity: 1}})
				fn(r)
				return nil
			})
			require.NoError(t, err)
		}
		decide("reserved", func(r *inventory.Reservation) { r.Succeed(before.Add(-2*time.Hour), "corr") })
		decide("failed", func(r *inventory.Reservation) {
			r.Fail([]messages.LineFailure{{SKU: "SKU-1", Reason: messages.ReasonUnknownSKU, Requested: 1}}, before.Add(-time.Hour), "corr")
		})
		decide("released-at-before", func(r *inventory.Reservation) {
			r.Succeed(before.Add(-4*time.Hour), "corr")
			r.MarkPublished(1)
			r.Release(before, "corr-cancel")
		})
		decide("published", func(r *inventory.Reservation) {
			r.Succeed(before.Add(-3*time.Hour), "corr")
			r.MarkPublished(1)
		})
		decide("reserving", func(*inventory.Reservation) {})
		decide("a-ms-after", func(r *inventory.Reservation) { r.Succeed(before.Add(time.Millisecond), "corr") })
		want := []string{prefix + "reserved", prefix + "failed", prefix + "released-at-before"}

		got, err := repo.ListUnpublished(t.Context(), before, 100)
		require.NoError(t, err)
		assert.Equal(t, want, reservationIDs(got, prefix))

		got, err = repo.ListUnpublished(t.Context(), before, 2)
		require.NoError(t, err)
		assert.Equal(t, want[:2], reservationIDs(got, ""))

		_, err = repo.Update(t.Context(), prefix+"reserved", func(r *inventory.Reservation) error {
			r.MarkPublished(len(r.History))
			return nil
		})
		require.NoError(t, err)
		got, err = repo.ListUnpublished(t.Context(), before, 100)
		require.NoError(t, err)
		assert.Equal(t, want[1:], reservationIDs(got, prefix), "a reservation whose events are all published is not listed")
	})
}

// reservationIDs returns the order ids of the reservations that have the prefix.
func reservationIDs(rs []inventory.Reservation, prefix string) []string {
	var ids []string
	for _, r := range rs {
		if strings.HasPrefix(r.OrderID, prefix) {
			ids = append(ids, r.OrderID)
		}
	}
	return ids
}

// storeReservation stores a reservation that has begun.
func storeReservation(t *testing.T, repo inventory.Reservations, orderID string) inventory.Reservation {
	t.Helper()
	got, err := repo.Update(t.Context(), orderID, func(r *inventory.Reservation) error {
		r.Begin([]inventory.Line{{SKU: "SKU-1", Quantity: 1}, {SKU: "SKU-2", Quantity: 2}})
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, inventory.Reserving, got.Status)
	return got
}

// normReservation is the reservation as any store reads it back.
func normReservation(r inventory.Reservation) inventory.Reservation {
	// A deep copy of its own, not Reservation.Clone: the suite checks copies too.
	r.Lines = nilIfEmpty(slices.Clone(r.Lines))
	r.Failures = nilIfEmpty(slices.Clone(r.Failures))
	r.History = nilIfEmpty(slices.Clone(r.History))
	for i := range r.History {
		r.History[i].At = normTime(r.History[i].At)
	}
	return r
}
