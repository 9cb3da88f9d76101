package repotest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/delivery"
)

// Shipments runs the contract of delivery.Repository against the repositories newRepo makes.
func Shipments(t *testing.T, newRepo func(t *testing.T) delivery.Repository) {
	revisionContract(t, newRepo, aggregate[delivery.Shipment, delivery.Repository]{
		noun:       "shipment",
		errMissing: delivery.ErrNotFound,
		blank:      func(id string) delivery.Shipment { return delivery.Shipment{OrderID: id} },
		revision:   func(s delivery.Shipment) int64 { return s.Revision },
		id:         func(s delivery.Shipment) string { return s.OrderID },
		norm:       normShipment,
		store: func(t *testing.T, repo delivery.Repository, id string) delivery.Shipment {
			t.Helper()
			return storeShipment(t, repo, id, at(2030, time.Hour))
		},
		touch: func(s *delivery.Shipment) {
			s.Status = delivery.StatusDelivered
			s.NextStepAt = time.Time{}
			if len(s.History) > 0 {
				s.History[0].Reason = "changed"
			}
		},
		change: func(s *delivery.Shipment) error {
			return s.Dispatch(at(2030, time.Minute), time.Time{}, "corr")
		},
		builds: []build[delivery.Shipment]{
			{"scheduled", func(s *delivery.Shipment) error {
				s.Schedule("cust", at(2030, 0), at(2030, 0), "corr")
				return nil
			}},
			{"dispatched", func(s *delivery.Shipment) error {
				now := at(2030, 0)
				s.Schedule("cust-1", now, now.Add(time.Minute), "corr-schedule")
				s.MarkPublished(1)
				return s.Dispatch(now.Add(time.Minute), now.Add(time.Hour), "corr-dispatch")
			}},
			{"failed", func(s *delivery.Shipment) error {
				now := at(2030, 0)
				s.Schedule("cust-1", now, time.Time{}, "corr-schedule")
				if err := s.Dispatch(now.Add(time.Minute), time.Time{}, "corr-dispatch"); err != nil {
					return err
				}
				return s.Fail("nobody home", now.Add(time.Hour), "corr-fail")
			}},
			// A tombstone is stored, and Get returns it.
			{"cancelled before it was scheduled", func(s *delivery.Shipment) error {
				s.Cancel(at(2030, 0), "corr-cancel")
				return nil
			}},
		},
		mutate: func(s *delivery.Shipment) {
			s.History[0].Reason = "mutated"
			s.History = append(s.History, delivery.Change{Status: delivery.StatusDelivered})
		},
		list: func(ctx context.Context, repo delivery.Repository) ([]delivery.Shipment, error) {
			return repo.ListDue(ctx, at(2030, 0), 100)
		},
		write: func(s *delivery.Shipment, i int) error {
			s.History = append(s.History, delivery.Change{
				Status: s.Status, At: at(2030, time.Duration(i)*time.Second), Reason: writerName(i), CorrelationID: writerName(i),
			})
			s.Revision++
			return nil
		},
		written: func(t *testing.T, got delivery.Shipment) {
			t.Helper()
			heldByEveryWriter(t, got.History[1:], func(c delivery.Change) string { return c.Reason })
		},
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
	return idsWithPrefix(ss, prefix, func(x *delivery.Shipment) string { return x.OrderID })
}
