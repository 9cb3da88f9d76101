package repotest

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/messages"
)

// Reservations runs the contract of inventory.Reservations against the repositories newRepo makes.
func Reservations(t *testing.T, newRepo func(t *testing.T) inventory.Reservations) {
	lines := []inventory.Line{{SKU: "SKU-1", Quantity: 2}, {SKU: "SKU-2", Quantity: 3}}
	revisionContract(t, newRepo, aggregate[inventory.Reservation, inventory.Reservations]{
		noun:       "reservation",
		errMissing: inventory.ErrNoReservation,
		blank:      func(id string) inventory.Reservation { return inventory.Reservation{OrderID: id} },
		revision:   func(r inventory.Reservation) int64 { return r.Revision },
		id:         func(r inventory.Reservation) string { return r.OrderID },
		norm:       normReservation,
		store:      storeReservation,
		touch: func(r *inventory.Reservation) {
			r.Status = inventory.Committed
			if len(r.Lines) > 0 {
				r.Lines[0].Quantity = 99
			}
		},
		change: func(r *inventory.Reservation) error {
			r.Succeed(at(2030, time.Hour), "corr")
			return nil
		},
		builds: []build[inventory.Reservation]{
			{"failed", func(r *inventory.Reservation) error {
				r.Begin(lines)
				r.Fail([]messages.LineFailure{
					{SKU: "SKU-1", Reason: messages.ReasonUnknownSKU, Requested: 2},
					{SKU: "SKU-2", Reason: messages.ReasonInsufficientStock, Requested: 3, Available: 1},
				}, at(2030, 0), "corr-reserve")
				return nil
			}},
			{"reserved then released", func(r *inventory.Reservation) error {
				r.Begin(lines)
				r.Succeed(at(2030, 0), "corr-reserve")
				r.MarkPublished(1)
				r.Release(at(2030, time.Minute), "corr-release")
				return nil
			}},
			{"released before it began", func(r *inventory.Reservation) error {
				r.Release(at(2030, 0), "corr-release")
				return nil
			}},
		},
		mutate: func(r *inventory.Reservation) {
			r.Lines[0].Quantity = 999
			r.Lines[0].SKU = "MUTATED"
			r.Failures[0].Reason = "mutated"
			r.History[0].CorrelationID = "mutated"
			r.History[0].Published = true
			r.History = append(r.History, inventory.Change{Status: inventory.Committed})
		},
		write: func(r *inventory.Reservation, i int) error {
			r.History = append(r.History, inventory.Change{
				Status: inventory.Reserving, At: at(2030, time.Duration(i)*time.Second), CorrelationID: writerName(i),
			})
			r.Revision++
			return nil
		},
		written: func(t *testing.T, got inventory.Reservation) {
			t.Helper()
			heldByEveryWriter(t, got.History, func(c inventory.Change) string { return c.CorrelationID })
		},
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
	return idsWithPrefix(rs, prefix, func(x *inventory.Reservation) string { return x.OrderID })
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
