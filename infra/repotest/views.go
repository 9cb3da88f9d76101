package repotest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/messages"
)

// normView is how an order view reads back from any store.
func normView(o view.Order) view.Order {
	o.CreatedAt, o.UpdatedAt = normTime(o.CreatedAt), normTime(o.UpdatedAt)
	o.Items = nilIfEmpty(o.Items)
	o.History = nilIfEmpty(o.History)
	for i := range o.History {
		o.History[i].At = normTime(o.History[i].At)
	}
	o.Shipment.History = nilIfEmpty(o.Shipment.History)
	for i := range o.Shipment.History {
		o.Shipment.History[i].At = normTime(o.Shipment.History[i].At)
	}
	o.Reservation.Held = nilIfEmpty(o.Reservation.Held)
	o.Reservation.Failures = nilIfEmpty(o.Reservation.Failures)
	o.Timeline = nilIfEmpty(o.Timeline)
	for i := range o.Timeline {
		o.Timeline[i].At = normTime(o.Timeline[i].At)
	}
	return o
}

// placedView is a placed order view with every part filled, at revision 1.
func placedView(id, customer string, created time.Time, status string) view.Order {
	o := view.Order{ID: id}
	o.Place(customer, []messages.Item{{SKU: "SKU-1", Quantity: 2}}, created, view.Source{CorrelationID: "corr-" + id, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"})
	if status != messages.OrderStatusPending {
		o.RecordStatus(messages.StatusEntry{Status: status, At: created.Add(time.Second), Reason: "why", CorrelationID: "corr-2"})
	}
	o.RecordReservation(view.ReservationRefused, nil, []messages.LineFailure{{SKU: "SKU-1", Reason: messages.ReasonInsufficientStock, Requested: 2, Available: 1}})
	o.RecordShipmentStatus(messages.StatusEntry{Status: messages.ShipmentStatusScheduled, At: created.Add(2 * time.Second), CorrelationID: "corr-3"})
	o.AddStep(view.Step{Step: "stock_refused", Service: view.ServiceInventory, SKU: "SKU-1", At: created.Add(time.Millisecond), Detail: "no"})
	o.Revision = 1
	return o
}

func storeView(t *testing.T, s view.Store, o view.Order) view.Order {
	t.Helper()
	err := s.UpdateOrder(t.Context(), o.ID, func(cur *view.Order) error {
		rev := cur.Revision
		*cur = o.Clone()
		cur.Revision = rev + 1
		return nil
	})
	require.NoError(t, err)
	got, err := s.GetOrder(t.Context(), o.ID)
	require.NoError(t, err)
	return got
}

// ViewStores runs the contract of view.Store against the stores newStore makes.
func ViewStores(t *testing.T, newStore func(t *testing.T) view.Store) {
	t.Run("GetOrder and GetStock of what is missing are ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		_, err := s.GetOrder(t.Context(), uniquePrefix()+"missing")
		require.ErrorIs(t, err, view.ErrNotFound)
		_, err = s.GetStock(t.Context(), uniquePrefix()+"missing")
		require.ErrorIs(t, err, view.ErrNotFound)
	})

	t.Run("UpdateOrder stores every part of the document and reads it back", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := uniquePrefix() + "o"
		want := placedView(id, "cust", at(2031, 0), messages.OrderStatusRejected)

		storeView(t, s, want)
		got, err := s.GetOrder(t.Context(), id)

		require.NoError(t, err)
		assert.Equal(t, normView(want), normView(got))
	})

	t.Run("UpdateOrder that leaves Revision unchanged stores nothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := uniquePrefix() + "o"
		err := s.UpdateOrder(t.Context(), id, func(o *view.Order) error {
			o.CustomerID = "not-stored"
			return nil
		})
		require.NoError(t, err)
		_, err = s.GetOrder(t.Context(), id)
		require.ErrorIs(t, err, view.ErrNotFound)
	})

	t.Run("concurrent merges of one order are not lost", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		id := uniquePrefix() + "o"
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				err := s.UpdateOrder(t.Context(), id, func(o *view.Order) error {
					o.AddStep(view.Step{Step: "stock_held", Service: view.ServiceInventory, SKU: fmt.Sprintf("SKU-%d", i), At: at(2031, time.Duration(i)*time.Millisecond)})
					o.Revision++
					return nil
				})
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		got, err := s.GetOrder(t.Context(), id)
		require.NoError(t, err)
		assert.Len(t, got.Timeline, writers)
		assert.Equal(t, int64(writers), got.Revision)
	})

	t.Run("ListOrders pages placed orders newest first, by customer and by status", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		p := uniquePrefix()
		cust := p + "cust"
		base := at(2032, 0)
		var all []view.Order
		for i := range 5 {
			status := messages.OrderStatusPending
			if i%2 == 1 {
				status = messages.OrderStatusConfirmed
			}
			// Two orders share a creation time: the id breaks the tie.
			created := base.Add(time.Duration(min(i, 3)) * time.Minute)
			all = append(all, storeView(t, s, placedView(fmt.Sprintf("%s%d", p, i), cust, created, status)))
		}
		// Not placed yet (a reservation seen first): never listed.
		err := s.UpdateOrder(t.Context(), p+"unplaced", func(o *view.Order) error {
			o.RecordReservation(view.ReservationHeld, []messages.Item{{SKU: "SKU-1", Quantity: 1}}, nil)
			o.Revision++
			return nil
		})
		require.NoError(t, err)
		storeView(t, s, placedView(p+"other", p+"someone-else", base, messages.OrderStatusPending))

		ids := func(os []view.Order) []string {
			var out []string
			for _, o := range os {
				out = append(out, o.ID)
			}
			return out
		}
		got, err := s.ListOrders(t.Context(), view.ListQuery{CustomerID: cust})
		require.NoError(t, err)
		assert.Equal(t, []string{p + "4", p + "3", p + "2", p + "1", p + "0"}, ids(got))

		first, err := s.ListOrders(t.Context(), view.ListQuery{CustomerID: cust, Limit: 2})
		require.NoError(t, err)
		require.Len(t, first, 2)
		last := first[1]
		rest, err := s.ListOrders(t.Context(), view.ListQuery{CustomerID: cust, After: &view.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}})
		require.NoError(t, err)
		assert.Equal(t, []string{p + "2", p + "1", p + "0"}, ids(rest))

		confirmed, err := s.ListOrders(t.Context(), view.ListQuery{CustomerID: cust, Status: messages.OrderStatusConfirmed})
		require.NoError(t, err)
		assert.Equal(t, []string{p + "3", p + "1"}, ids(confirmed))
		_ = all
	})

	t.Run("stock levels: the newer revision is kept, listed by SKU", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		p := uniquePrefix()
		put := func(sku string, rev int64, onHand int) {
			_, err := s.UpdateStock(t.Context(), sku, func(cur *view.StockLevel) error {
				l := view.StockLevel{SKU: sku, OnHand: onHand, Available: onHand, Revision: rev, UpdatedAt: at(2033, 0)}
				if l.Newer(*cur) {
					*cur = l
				}
				return nil
			})
			require.NoError(t, err)
		}
		put(p+"b", 2, 20)
		put(p+"a", 5, 50)
		put(p+"a", 3, 30) // older: ignored
		got, err := s.GetStock(t.Context(), p+"a")
		require.NoError(t, err)
		got.UpdatedAt = normTime(got.UpdatedAt)
		assert.Equal(t, view.StockLevel{SKU: p + "a", OnHand: 50, Available: 50, Revision: 5, UpdatedAt: normTime(at(2033, 0))}, got)

		all, err := s.ListStock(t.Context())
		require.NoError(t, err)
		var mine []string
		for _, l := range all {
			if len(l.SKU) > len(p) && l.SKU[:len(p)] == p {
				mine = append(mine, l.SKU)
			}
		}
		assert.Equal(t, []string{p + "a", p + "b"}, mine)
	})
}
