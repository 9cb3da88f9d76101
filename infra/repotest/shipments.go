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

	"github.com/orderflow/orderflow/app/delivery"
)

// Shipments runs the contract of delivery.Repository against the repositories newRepo makes.
func Shipments(t *testing.T, newRepo func(t *testing.T) delivery.Repository) {
	t.Run("Get of a missing shipment is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)

		_, err := repo.Get(t.Context(), uniquePrefix()+"missing")

		require.ErrorIs(t, err, delivery.ErrNotFound)
	})

	t.Run("Update of a missing shipment hands fn a new shipment and stores nothing while Revision stays 0", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "new"

		var seen delivery.Shipment
		got, err := repo.Update(t.Context(), id, func(s *delivery.Shipment) error {
			seen = normShipment(*s)
			s.CustomerID = "not-stored"
			return nil
		})

		require.NoError(t, err)
		assert.Equal(t, normShipment(delivery.Shipment{OrderID: id}), normShipment(seen), "fn must get a shipment with only its order id")
		assert.Zero(t, got.Revision)
		_, err = repo.Get(t.Context(), id)
		require.ErrorIs(t, err, delivery.ErrNotFound, "a shipment whose Revision did not move must not be stored")
	})

	t.Run("Update that leaves Revision unchanged stores nothing", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "s"
		stored := storeShipment(t, repo, id, at(2030, time.Hour))

		_, err := repo.Update(t.Context(), id, func(s *delivery.Shipment) error {
			s.Status = delivery.StatusDelivered
			s.NextStepAt = time.Time{}
			s.History[0].Reason = "changed"
			return nil
		})

		require.NoError(t, err)
		got, err := repo.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, normShipment(stored), normShipment(got))
	})

	t.Run("Update stores the result when Revision moves and hands it to the next Update", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		now := at(2030, 0)
		cases := []struct {
			name  string
			build func(s *delivery.Shipment) error
		}{
			{"dispatched", func(s *delivery.Shipment) error {
				s.Schedule("cust-1", now, now.Add(time.Minute), "corr-schedule")
				s.MarkPublished(1)
				return s.Dispatch(now.Add(time.Minute), now.Add(time.Hour), "corr-dispatch")
			}},
			{"failed", func(s *delivery.Shipment) error {
				s.Schedule("cust-1", now, time.Time{}, "corr-schedule")
				if err := s.Dispatch(now.Add(time.Minute), time.Time{}, "corr-dispatch"); err != nil {
					return err
				}
				return s.Fail("nobody home", now.Add(time.Hour), "corr-fail")
			}},
			// A tombstone is stored, and Get returns it.
			{"cancelled before it was scheduled", func(s *delivery.Shipment) error {
				s.Cancel(now, "corr-cancel")
				return nil
			}},
		}
		for i, tc := range cases {
			id := fmt.Sprintf("%s%d", prefix, i)
			want := delivery.Shipment{OrderID: id}
			require.NoError(t, tc.build(&want))

			returned, err := repo.Update(t.Context(), id, tc.build)

			require.NoError(t, err, tc.name)
			assert.Equal(t, normShipment(want), normShipment(returned), "%s: Update returns the shipment as stored", tc.name)
			got, err := repo.Get(t.Context(), id)
			require.NoError(t, err, tc.name)
			assert.Equal(t, normShipment(want), normShipment(got), tc.name)

			var seen delivery.Shipment
			_, err = repo.Update(t.Context(), id, func(s *delivery.Shipment) error {
				seen = normShipment(*s)
				return nil
			})
			require.NoError(t, err, tc.name)
			assert.Equal(t, normShipment(want), normShipment(seen), "%s: fn must get the stored shipment", tc.name)
		}
	})

	t.Run("Update whose fn fails stores nothing and returns the error", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		errBoom := errors.New("boom")
		stored := storeShipment(t, repo, prefix+"existing", at(2030, time.Hour))

		_, err := repo.Update(t.Context(), prefix+"existing", func(s *delivery.Shipment) error {
			if err := s.Dispatch(at(2030, time.Minute), time.Time{}, "corr"); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		got, err := repo.Get(t.Context(), prefix+"existing")
		require.NoError(t, err)
		assert.Equal(t, normShipment(stored), normShipment(got))

		_, err = repo.Update(t.Context(), prefix+"missing", func(s *delivery.Shipment) error {
			s.Schedule("cust", at(2030, 0), time.Time{}, "corr")
			return fmt.Errorf("wrapped: %w", errBoom)
		})
		require.ErrorIs(t, err, errBoom)
		_, err = repo.Get(t.Context(), prefix+"missing")
		require.ErrorIs(t, err, delivery.ErrNotFound)
	})

	t.Run("returned shipments are copies", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "s"
		var inside *delivery.Shipment
		returned, err := repo.Update(t.Context(), id, func(s *delivery.Shipment) error {
			inside = s
			s.Schedule("cust", at(2030, 0), at(2030, 0), "corr")
			return nil
		})
		require.NoError(t, err)
		want := normShipment(returned)

		returned.History[0].Reason = "mutated"
		returned.History = append(returned.History, delivery.Change{Status: delivery.StatusDelivered})
		inside.History[0].CorrelationID = "mutated"
		got, err := repo.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, want, normShipment(got), "changing what Update returned changed the store")

		got.History[0].Published = true
		again, err := repo.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, want, normShipment(again), "changing what Get returned changed the store")

		due, err := repo.ListDue(t.Context(), at(2030, 0), 100)
		require.NoError(t, err)
		require.Contains(t, shipmentIDs(due, id), id)
		for i := range due {
			if due[i].OrderID == id {
				due[i].History[0].Reason = "mutated"
			}
		}
		again, err = repo.Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, want, normShipment(again), "changing what ListDue returned changed the store")
	})

	t.Run("concurrent updates of one shipment are not lost", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "s"
		storeShipment(t, repo, id, time.Time{})

		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				_, errs[i] = repo.Update(t.Context(), id, func(s *delivery.Shipment) error {
					s.History = append(s.History, delivery.Change{
						Status: s.Status, At: at(2030, time.Duration(i)*time.Second), Reason: writerName(i), CorrelationID: writerName(i),
					})
					s.Revision++
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
		var reasons []string
		for _, c := range got.History[1:] {
			reasons = append(reasons, c.Reason)
		}
		assert.ElementsMatch(t, writerNames(), reasons)
		assert.Equal(t, int64(1+writers), got.Revision)
	})

	t.Run("ListDue returns shipments whose NextStepAt is set and not after now, up to limit", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		// Its own years, before any other subtest's NextStepAt: in a shared
		// store only this subtest's shipments are due at now.
		now := msAt(1990, 0)
		due := []string{prefix + "due-hour-ago", prefix + "due-ms-ago", prefix + "due-now"}
		storeShipment(t, repo, prefix+"due-hour-ago", now.Add(-time.Hour))
		storeShipment(t, repo, prefix+"due-ms-ago", now.Add(-time.Millisecond))
		storeShipment(t, repo, prefix+"due-now", now)
		storeShipment(t, repo, prefix+"in-a-ms", now.Add(time.Millisecond))
		storeShipment(t, repo, prefix+"in-an-hour", now.Add(time.Hour))
		storeShipment(t, repo, prefix+"manual", time.Time{})
		_, err := repo.Update(t.Context(), prefix+"delivered", func(s *delivery.Shipment) error {
			s.Schedule("cust", now.Add(-2*time.Hour), now.Add(-2*time.Hour), "corr")
			if err := s.Dispatch(now.Add(-2*time.Hour), now.Add(-time.Hour), "corr"); err != nil {
				return err
			}
			return s.Deliver(now.Add(-time.Hour), "corr") // clears NextStepAt
		})
		require.NoError(t, err)
		_, err = repo.Update(t.Context(), prefix+"tombstone", func(s *delivery.Shipment) error {
			s.Cancel(now.Add(-time.Hour), "corr")
			return nil
		})
		require.NoError(t, err)

		got, err := repo.ListDue(t.Context(), now, 100)
		require.NoError(t, err)
		assertDue(t, got, now)
		assert.ElementsMatch(t, due, shipmentIDs(got, prefix))

		got, err = repo.ListDue(t.Context(), now, 2)
		require.NoError(t, err)
		assertDue(t, got, now)
		assert.Len(t, got, 2)
		assert.Subset(t, due, shipmentIDs(got, prefix))

		got, err = repo.ListDue(t.Context(), now.Add(-2*time.Hour), 100)
		require.NoError(t, err)
		assertDue(t, got, now.Add(-2*time.Hour))
		assert.Empty(t, shipmentIDs(got, prefix))
	})

	t.Run("ListUnpublished returns shipments with an unpublished change not after before, oldest first, up to limit", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		// Its own year, before any other subtest's changes.
		before := msAt(1950, 0)
		change := func(id string, fn func(s *delivery.Shipment) error) {
			t.Helper()
			_, err := repo.Update(t.Context(), prefix+id, func(s *delivery.Shipment) error { return fn(s) })
			require.NoError(t, err)
		}
		change("scheduled", func(s *delivery.Shipment) error {
			s.Schedule("cust", before.Add(-2*time.Hour), time.Time{}, "corr")
			return nil
		})
		change("dispatched-at-before", func(s *delivery.Shipment) error {
			s.Schedule("cust", before.Add(-4*time.Hour), time.Time{}, "corr")
			s.MarkPublished(1)
			return s.Dispatch(before, time.Time{}, "corr")
		})
		change("published", func(s *delivery.Shipment) error {
			s.Schedule("cust", before.Add(-3*time.Hour), time.Time{}, "corr")
			s.MarkPublished(1)
			return nil
		})
		change("tombstone", func(s *delivery.Shipment) error {
			s.Cancel(before.Add(-5*time.Hour), "corr")
			return nil
		})
		change("a-ms-after", func(s *delivery.Shipment) error {
			s.Schedule("cust", before.Add(time.Millisecond), time.Time{}, "corr")
			return nil
		})
		want := []string{prefix + "scheduled", prefix + "dispatched-at-before"}

		got, err := repo.ListUnpublished(t.Context(), before, 100)
		require.NoError(t, err)
		assert.Equal(t, want, shipmentIDs(got, prefix))

		got, err = repo.ListUnpublished(t.Context(), before, 1)
		require.NoError(t, err)
		assert.Equal(t, want[:1], shipmentIDs(got, ""))

		got, err = repo.ListUnpublished(t.Context(), before.Add(-3*time.Hour), 100)
		require.NoError(t, err)
		assert.Empty(t, shipmentIDs(got, prefix))
	})
}

// assertDue checks that every shipment has a NextStepAt that is set and not after now.
func assertDue(t *testing.T, got []delivery.Shipment, now time.Time) {
	t.Helper()
	for _, s := range got {
		next := normTime(s.NextStepAt)
		assert.False(t, next.IsZero(), "shipment %s has no next step", s.OrderID)
		assert.False(t, next.After(normTime(now)), "shipment %s is due at %s, after %s", s.OrderID, next, now)
	}
}

// storeShipment stores a SCHEDULED shipment whose next step is at nextStepAt (zero: none).
func storeShipment(t *testing.T, repo delivery.Repository, orderID string, nextStepAt time.Time) delivery.Shipment {
	t.Helper()
	got, err := repo.Update(t.Context(), orderID, func(s *delivery.Shipment) error {
		s.Schedule("cust", at(1980, 0), nextStepAt, "corr-schedule")
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, delivery.StatusScheduled, got.Status)
	return got
}

// normShipment is the shipment as any store reads it back.
func normShipment(s delivery.Shipment) delivery.Shipment {
	s.History = nilIfEmpty(slices.Clone(s.History)) // not Shipment.Clone: the suite checks copies too
	for i := range s.History {
		s.History[i].At = normTime(s.History[i].At)
	}
	s.DispatchedAt = normTime(s.DispatchedAt)
	s.NextStepAt = normTime(s.NextStepAt)
	return s
}

// shipmentIDs returns the order ids of the shipments that have the prefix.
func shipmentIDs(ss []delivery.Shipment, prefix string) []string {
	var ids []string
	for _, s := range ss {
		if strings.HasPrefix(s.OrderID, prefix) {
			ids = append(ids, s.OrderID)
		}
	}
	return ids
}
