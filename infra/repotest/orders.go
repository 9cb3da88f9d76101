package repotest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/orders"
)

// Orders runs the contract of orders.Repository against the repositories newRepo makes.
func Orders(t *testing.T, newRepo func(t *testing.T) orders.Repository) {
	revisionContract(t, newRepo, aggregate[orders.Order, orders.Repository]{
		noun:       "order",
		errMissing: orders.ErrNotFound,
		blank:      func(id string) orders.Order { return orders.Order{ID: id} },
		revision:   func(o orders.Order) int64 { return o.Revision },
		id:         func(o orders.Order) string { return o.ID },
		norm:       normOrder,
		store: func(t *testing.T, repo orders.Repository, id string) orders.Order {
			t.Helper()
			return storeOrder(t, repo, id, "cust", at(2030, 0), orders.StatusPending)
		},
		touch: func(o *orders.Order) {
			o.CustomerID = "changed"
			if len(o.Items) > 0 {
				o.Items[0].Quantity = 99
				o.History[0].Reason = "changed"
			}
		},
		change: func(o *orders.Order) error {
			o.Confirm(at(2030, time.Hour), "corr")
			return nil
		},
		// Every field set, published and unpublished changes, times with a
		// sub-millisecond part in a zone other than UTC.
		builds: []build[orders.Order]{{"cancelled after it was confirmed", func(o *orders.Order) error {
			created := at(2030, 0)
			items := []orders.Item{{SKU: "SKU-1", Quantity: 2}, {SKU: "SKU-2", Quantity: 10000}}
			if err := o.Place("cust-1", items, created, "corr-place"); err != nil {
				return err
			}
			o.Confirm(created.Add(time.Second), "corr-confirm")
			o.MarkPublished(2)
			return o.Cancel("changed my mind", created.Add(time.Minute), "corr-cancel")
		}}},
		mutate: func(o *orders.Order) {
			o.Items[0].Quantity = 999
			o.Items[0].SKU = "MUTATED"
			o.History[0].Reason = "mutated"
			o.History[0].CorrelationID = "mutated"
			o.History = append(o.History, orders.Change{Status: orders.StatusCancelled})
		},
		write: func(o *orders.Order, i int) error {
			o.History = append(o.History, orders.Change{
				Status: o.Status, At: at(2030, time.Duration(i)*time.Second), Reason: writerName(i), CorrelationID: writerName(i),
			})
			o.Revision++
			return nil
		},
		written: func(t *testing.T, got orders.Order) {
			t.Helper()
			heldByEveryWriter(t, got.History[1:], func(c orders.Change) string { return c.Reason })
		},
	})

	t.Run("List filters by customer", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		mine, other := prefix+"cust-mine", prefix+"cust-other"
		storeOrder(t, repo, prefix+"1", mine, msAt(2031, 0), orders.StatusPending)
		storeOrder(t, repo, prefix+"2", other, msAt(2031, time.Minute), orders.StatusPending)
		storeOrder(t, repo, prefix+"3", mine, msAt(2031, 2*time.Minute), orders.StatusConfirmed)
		storeOrder(t, repo, prefix+"4", other, msAt(2031, 3*time.Minute), orders.StatusCancelled)

		got, err := repo.List(t.Context(), orders.ListQuery{CustomerID: mine, Limit: 10})

		require.NoError(t, err)
		assert.Equal(t, []string{prefix + "3", prefix + "1"}, orderIDs(got))
		for _, o := range got {
			assert.Equal(t, mine, o.CustomerID)
		}
	})

	t.Run("List filters by status", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		cust := prefix + "cust"
		// Its own years: the query by status alone starts after a cursor just
		// above these orders, so orders of other subtests sharing the store
		// (all older) are not reached within the limit.
		storeOrder(t, repo, prefix+"1", cust, msAt(2071, 0), orders.StatusConfirmed)
		storeOrder(t, repo, prefix+"2", cust, msAt(2071, time.Minute), orders.StatusPending)
		storeOrder(t, repo, prefix+"3", cust, msAt(2071, 2*time.Minute), orders.StatusConfirmed)
		storeOrder(t, repo, prefix+"4", cust, msAt(2071, 3*time.Minute), orders.StatusCancelled)
		storeOrder(t, repo, prefix+"5", cust, msAt(2071, 4*time.Minute), orders.StatusConfirmed)

		got, err := repo.List(t.Context(), orders.ListQuery{CustomerID: cust, Status: orders.StatusConfirmed, Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []string{prefix + "5", prefix + "3", prefix + "1"}, orderIDs(got))

		got, err = repo.List(t.Context(), orders.ListQuery{CustomerID: cust, Status: orders.StatusCancelled, Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []string{prefix + "4"}, orderIDs(got))

		got, err = repo.List(t.Context(), orders.ListQuery{CustomerID: cust, Status: orders.StatusDelivered, Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, got)

		above := &orders.Cursor{CreatedAt: msAt(2072, 0), ID: ""}
		got, err = repo.List(t.Context(), orders.ListQuery{Status: orders.StatusConfirmed, After: above, Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, []string{prefix + "5", prefix + "3", prefix + "1"}, orderIDs(got))
		for _, o := range got {
			assert.Equal(t, orders.StatusConfirmed, o.Status)
		}
	})

	t.Run("List returns newest first, equal CreatedAt by ID descending", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		cust := prefix + "cust"
		want := storeListFixture(t, repo, prefix, cust, 2033)

		got, err := repo.List(t.Context(), orders.ListQuery{CustomerID: cust, Limit: 100})

		require.NoError(t, err)
		assert.Equal(t, want, orderIDs(got))
	})

	t.Run("List continues exactly after the After cursor", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		cust := prefix + "cust"
		want := storeListFixture(t, repo, prefix, cust, 2034)

		// Page through with the sort key of the last order of each page, as ListOrders does.
		for _, limit := range []int{1, 2, 3, 4, len(want)} {
			var seen []string
			var after *orders.Cursor
			for range len(want) + 1 {
				page, err := repo.List(t.Context(), orders.ListQuery{CustomerID: cust, Limit: limit, After: after})
				require.NoError(t, err)
				if len(page) == 0 {
					break
				}
				require.LessOrEqual(t, len(page), limit)
				seen = append(seen, orderIDs(page)...)
				last := page[len(page)-1]
				after = &orders.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
			}
			assert.Equal(t, want, seen, "pages of %d", limit)
		}

		// A cursor inside a run of equal CreatedAt, at an id that exists and at one that does not.
		tie := msAt(2034, time.Minute)
		got, err := repo.List(t.Context(), orders.ListQuery{CustomerID: cust, Limit: 100, After: &orders.Cursor{CreatedAt: tie, ID: prefix + "c"}})
		require.NoError(t, err)
		assert.Equal(t, []string{prefix + "b", prefix + "a", prefix + "y", prefix + "x"}, orderIDs(got))
		got, err = repo.List(t.Context(), orders.ListQuery{CustomerID: cust, Limit: 100, After: &orders.Cursor{CreatedAt: tie, ID: prefix + "bb"}})
		require.NoError(t, err)
		assert.Equal(t, []string{prefix + "b", prefix + "a", prefix + "y", prefix + "x"}, orderIDs(got))
		got, err = repo.List(t.Context(), orders.ListQuery{CustomerID: cust, Limit: 100, After: &orders.Cursor{CreatedAt: tie.Add(-time.Millisecond), ID: "~"}})
		require.NoError(t, err)
		assert.Equal(t, []string{prefix + "y", prefix + "x"}, orderIDs(got))
	})

	t.Run("List honours Limit", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		cust := prefix + "cust"
		want := storeListFixture(t, repo, prefix, cust, 2035)

		for _, limit := range []int{1, 3, len(want), len(want) + 5} {
			got, err := repo.List(t.Context(), orders.ListQuery{CustomerID: cust, Limit: limit})
			require.NoError(t, err)
			assert.Equal(t, want[:min(limit, len(want))], orderIDs(got), "limit %d", limit)
		}
	})

	t.Run("ListUnpublished returns orders with an unpublished change not after before, oldest first, up to limit", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		// Its own year, before any other subtest's unpublished change: in a
		// shared store only this subtest's orders are found up to before.
		before := msAt(1951, 0)
		place := func(id string, at time.Time, more func(o *orders.Order)) {
			t.Helper()
			_, err := repo.Update(t.Context(), prefix+id, func(o *orders.Order) error {
				if err := o.Place("cust", []orders.Item{{SKU: "SKU-1", Quantity: 1}}, at, "corr-place"); err != nil {
					return err
				}
				if more != nil {
					more(o)
				}
				return nil
			})
			require.NoError(t, err)
		}
		place("two-hours-ago", before.Add(-2*time.Hour), nil)
		place("confirmed-an-hour-ago", before.Add(-3*time.Hour), func(o *orders.Order) {
			o.MarkPublished(1)
			o.Confirm(before.Add(-time.Hour), "corr-confirm")
		})
		place("at-before", before, nil)
		place("a-ms-after", before.Add(time.Millisecond), nil)
		place("published", before.Add(-4*time.Hour), func(o *orders.Order) { o.MarkPublished(1) })
		want := []string{prefix + "two-hours-ago", prefix + "confirmed-an-hour-ago", prefix + "at-before"}

		got, err := repo.ListUnpublished(t.Context(), before, 100)
		require.NoError(t, err)
		assert.Equal(t, want, orderIDs(withPrefix(got, prefix)))
		for _, o := range got {
			assert.NotEmpty(t, o.Unpublished(), "order %s has nothing unpublished", o.ID)
		}

		got, err = repo.ListUnpublished(t.Context(), before, 2)
		require.NoError(t, err)
		assert.Equal(t, want[:2], orderIDs(got))

		_, err = repo.Update(t.Context(), prefix+"two-hours-ago", func(o *orders.Order) error {
			o.MarkPublished(len(o.History))
			return nil
		})
		require.NoError(t, err)
		got, err = repo.ListUnpublished(t.Context(), before, 100)
		require.NoError(t, err)
		assert.Equal(t, want[1:], orderIDs(withPrefix(got, prefix)), "an order whose events are all published is not listed")

		got, err = repo.ListUnpublished(t.Context(), before.Add(-90*time.Minute), 100)
		require.NoError(t, err)
		assert.Empty(t, withPrefix(got, prefix))
	})

	t.Run("ListAwaiting returns orders awaiting since not after before, longest first, up to limit", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		// Its own year, before any other subtest's orders, every event
		// published: in a shared store, ListUnpublished of another subtest
		// does not see these, and only these are awaiting up to before.
		before := msAt(1950, 0)
		place := func(id string, at time.Time, more func(o *orders.Order) error) orders.Order {
			t.Helper()
			got, err := repo.Update(t.Context(), prefix+id, func(o *orders.Order) error {
				if err := o.Place("cust", []orders.Item{{SKU: "SKU-1", Quantity: 1}}, at, "corr-place"); err != nil {
					return err
				}
				if more != nil {
					if err := more(o); err != nil {
						return err
					}
				}
				o.MarkPublished(len(o.History))
				return nil
			})
			require.NoError(t, err)
			return got
		}
		place("pending", before.Add(-3*time.Hour), nil)
		place("confirmed", before.Add(-4*time.Hour), func(o *orders.Order) error {
			o.Confirm(before.Add(-2*time.Hour), "corr-confirm")
			return nil
		})
		nudged := place("nudged", before.Add(-6*time.Hour), func(o *orders.Order) error {
			o.Nudged(before.Add(-time.Hour))
			return nil
		})
		scheduled := place("scheduled", before.Add(-5*time.Hour), func(o *orders.Order) error {
			o.Confirm(before.Add(-5*time.Hour), "corr-confirm")
			o.MarkShipmentScheduled()
			return nil
		})
		place("cancelled", before.Add(-7*time.Hour), func(o *orders.Order) error {
			// Awaits inventory's release of its stock.
			return o.Cancel("by test", before.Add(-7*time.Hour), "corr-cancel")
		})
		place("settled", before.Add(-8*time.Hour), func(o *orders.Order) error {
			if err := o.Cancel("by test", before.Add(-8*time.Hour), "corr-cancel"); err != nil {
				return err
			}
			o.MarkStockSettled() // awaits nothing more
			return nil
		})
		place("rejected", before.Add(-8*time.Hour), func(o *orders.Order) error {
			o.Reject("no stock", before.Add(-8*time.Hour), "corr-reject")
			return nil
		})
		place("a-ms-after", before.Add(time.Millisecond), nil)
		want := []string{prefix + "cancelled", prefix + "scheduled", prefix + "pending", prefix + "confirmed", prefix + "nudged"}

		got, err := repo.ListAwaiting(t.Context(), before, 100)
		require.NoError(t, err)
		assert.Equal(t, want, orderIDs(withPrefix(got, prefix)))

		got, err = repo.ListAwaiting(t.Context(), before, 1)
		require.NoError(t, err)
		assert.Equal(t, want[:1], orderIDs(got))

		got, err = repo.ListAwaiting(t.Context(), before.Add(-150*time.Minute), 100)
		require.NoError(t, err)
		assert.Equal(t, want[:3], orderIDs(withPrefix(got, prefix)))

		// What the sweeper relies on reads back as written.
		stored, err := repo.Get(t.Context(), prefix+"nudged")
		require.NoError(t, err)
		assert.Equal(t, normOrder(nudged), normOrder(stored))
		assert.Equal(t, 1, stored.Nudges)
		assert.Equal(t, normTime(before.Add(-time.Hour)), normTime(stored.AwaitingSince))
		stored, err = repo.Get(t.Context(), prefix+"scheduled")
		require.NoError(t, err)
		assert.Equal(t, normOrder(scheduled), normOrder(stored))
		assert.True(t, stored.ShipmentScheduled)
		assert.Equal(t, normTime(before.Add(-5*time.Hour)), normTime(stored.AwaitingSince), "it waits for its shipment's next step")
		stored, err = repo.Get(t.Context(), prefix+"settled")
		require.NoError(t, err)
		assert.True(t, stored.StockSettled)
		assert.True(t, stored.AwaitingSince.IsZero())
	})
}

// withPrefix returns the orders whose id has the prefix, in their order.
func withPrefix(os []orders.Order, prefix string) []orders.Order {
	var out []orders.Order
	for _, o := range os {
		if strings.HasPrefix(o.ID, prefix) {
			out = append(out, o)
		}
	}
	return out
}

// storeListFixture stores orders of one customer with runs of equal CreatedAt
// and returns their ids newest first.
func storeListFixture(t *testing.T, repo orders.Repository, prefix, customerID string, year int) []string {
	t.Helper()
	fixture := []struct {
		id        string
		createdAt time.Time
	}{
		{"x", msAt(year, 0)},
		{"b", msAt(year, time.Minute)},
		{"z", msAt(year, 2*time.Minute)},
		{"a", msAt(year, time.Minute)},
		{"y", msAt(year, 0)},
		{"c", msAt(year, time.Minute)},
	}
	var stored []orders.Order
	for _, f := range fixture {
		stored = append(stored, storeOrder(t, repo, prefix+f.id, customerID, f.createdAt, orders.StatusPending))
	}
	slices.SortFunc(stored, func(a, b orders.Order) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	// z, then c b a at the same time, then y x at the same time.
	require.Equal(t, []string{prefix + "z", prefix + "c", prefix + "b", prefix + "a", prefix + "y", prefix + "x"}, orderIDs(stored))
	return orderIDs(stored)
}

// storeOrder stores an order placed at createdAt and moved to status.
func storeOrder(t *testing.T, repo orders.Repository, id, customerID string, createdAt time.Time, status orders.Status) orders.Order {
	t.Helper()
	got, err := repo.Update(t.Context(), id, func(o *orders.Order) error {
		if err := o.Place(customerID, []orders.Item{{SKU: "SKU-1", Quantity: 1}}, createdAt, "corr-place"); err != nil {
			return err
		}
		later := createdAt.Add(time.Second)
		switch status {
		case orders.StatusPending:
		case orders.StatusConfirmed:
			o.Confirm(later, "corr-confirm")
		case orders.StatusCancelled:
			return o.Cancel("by test", later, "corr-cancel")
		default:
			return fmt.Errorf("storeOrder cannot make a %s order", status)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, status, got.Status)
	return got
}

// normOrder is the order as any store reads it back.
func normOrder(o orders.Order) orders.Order {
	// A deep copy of its own, not Order.Clone: the suite checks copies too.
	o.Items = nilIfEmpty(slices.Clone(o.Items))
	o.History = nilIfEmpty(slices.Clone(o.History))
	for i := range o.History {
		o.History[i].At = normTime(o.History[i].At)
	}
	o.CreatedAt = normTime(o.CreatedAt)
	o.UpdatedAt = normTime(o.UpdatedAt)
	o.AwaitingSince = normTime(o.AwaitingSince)
	return o
}

func orderIDs(os []orders.Order) []string {
	ids := make([]string, len(os))
	for i, o := range os {
		ids[i] = o.ID
	}
	return ids
}

// msAt is at without the sub-millisecond part, for orderings that must not
// depend on the precision of the store.
func msAt(year int, offset time.Duration) time.Time {
	return at(year, offset).Truncate(time.Millisecond)
}

func writerName(i int) string { return fmt.Sprintf("writer-%02d", i) }

// heldByEveryWriter checks that changes, one a writer, are each writer's
// once: the name of writer i (by name) is writerName(i).
func heldByEveryWriter[C any](t *testing.T, changes []C, name func(C) string) {
	t.Helper()
	names := make([]string, writers)
	for i := range names {
		names[i] = writerName(i)
	}
	got := make([]string, len(changes))
	for i, c := range changes {
		got[i] = name(c)
	}
	assert.ElementsMatch(t, names, got)
}
