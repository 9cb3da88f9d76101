package orders_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/orders"
)

func TestOpenOrderLimits(t *testing.T) {
	t.Parallel()
	place := func(f *fixture, id, customer string, qty int, capped bool) error {
		_, _, err := f.svc.PlaceOrder(t.Context(), orders.PlaceOrder{OrderID: id, CustomerID: customer,
			Items: []orders.Item{{SKU: "SKU-1", Quantity: qty}}, Capped: capped})
		return err
	}
	t.Run("open orders", func(t *testing.T) {
		t.Parallel()
		f := newFixture()
		f.svc.SetLimits(orders.Limits{MaxOpenOrders: 2})
		require.NoError(t, place(f, "o-1", "c-1", 1, true))
		require.NoError(t, place(f, "o-2", "c-1", 1, true))
		err := place(f, "o-3", "c-1", 1, true)
		require.ErrorIs(t, err, orders.ErrLimitExceeded)
		assert.Contains(t, err.Error(), "2 open orders")
		_, getErr := f.repo.Get(t.Context(), "o-3")
		assert.ErrorIs(t, getErr, orders.ErrNotFound, "a refused order is not stored")

		require.NoError(t, place(f, "o-2", "c-1", 1, true), "a retry of a stored order is never refused")
		require.NoError(t, place(f, "o-4", "c-2", 1, true), "another customer has its own cap")
		require.NoError(t, place(f, "o-5", "c-1", 1, false), "an uncapped order (an operator's) is not held to it")

		_, err = f.svc.CancelOrder(t.Context(), "o-1", "changed my mind", "")
		require.NoError(t, err)
		_, err = f.svc.CancelOrder(t.Context(), "o-5", "changed my mind", "")
		require.NoError(t, err)
		require.NoError(t, place(f, "o-3", "c-1", 1, true), "a final order no longer counts")
	})
	t.Run("open units", func(t *testing.T) {
		t.Parallel()
		f := newFixture()
		f.svc.SetLimits(orders.Limits{MaxOpenUnits: 10})
		require.NoError(t, place(f, "o-1", "c-1", 6, true))
		err := place(f, "o-2", "c-1", 5, true)
		require.ErrorIs(t, err, orders.ErrLimitExceeded)
		assert.Contains(t, err.Error(), "6 units")
		require.NoError(t, place(f, "o-3", "c-1", 4, true), "up to the cap exactly")
	})
	t.Run("no caps by default", func(t *testing.T) {
		t.Parallel()
		f := newFixture()
		for i := range 50 {
			require.NoError(t, place(f, fmt.Sprintf("o-%d", i), "c-1", 10000, true))
		}
	})
}
