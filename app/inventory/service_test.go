package inventory_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/apptest"
	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/infra/memory"
	"github.com/orderflow/orderflow/messages"
)

type fixture struct {
	svc          *inventory.Service
	products     inventory.Products
	reservations *memory.ReservationRepository
	events       *apptest.Publisher
}

func newFixture(t *testing.T, stock map[string]int) *fixture {
	t.Helper()
	return newFixtureWith(t, memory.NewProductRepository(), stock)
}

func newFixtureWith(t *testing.T, products inventory.Products, stock map[string]int) *fixture {
	t.Helper()
	f := &fixture{products: products, reservations: memory.NewReservationRepository(), events: &apptest.Publisher{}}
	f.svc = inventory.NewService(f.products, f.reservations, f.events, func() time.Time { return t0 })
	for sku, n := range stock {
		_, err := f.svc.SetStock(t.Context(), sku, n, "test")
		require.NoError(t, err)
	}
	return f
}

func (f *fixture) product(t *testing.T, sku string) inventory.Product {
	t.Helper()
	p, err := f.products.Get(t.Context(), sku)
	require.NoError(t, err)
	return p
}

func (f *fixture) reservation(t *testing.T, orderID string) inventory.Reservation {
	t.Helper()
	r, err := f.reservations.Get(t.Context(), orderID)
	require.NoError(t, err)
	return r
}

// assertNothingHeld checks that none of the SKUs holds anything, for any order.
func (f *fixture) assertNothingHeld(t *testing.T, skus ...string) {
	t.Helper()
	for _, sku := range skus {
		p := f.product(t, sku)
		assert.Zero(t, p.Reserved, "%s reserved", sku)
		assert.Empty(t, p.Holds, "%s holds", sku)
		assert.Equal(t, p.OnHand, p.Available(), "%s available", sku)
	}
}

func TestReserveStock_reservesEveryLine(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10, "B": 5, "C": 1})

	err := f.svc.ReserveStock(t.Context(), "order-1", []inventory.Line{{SKU: "C", Quantity: 1}, {SKU: "A", Quantity: 3}}, "corr-1")

	require.NoError(t, err)
	assert.Equal(t, []apptest.Published{{
		Event:         messages.StockReserved{OrderID: "order-1", Items: []messages.Item{{SKU: "A", Quantity: 3}, {SKU: "C", Quantity: 1}}, OccurredAt: t0},
		CorrelationID: "corr-1",
	}}, f.events.Published())
	assert.Equal(t, map[string]int{"order-1": 3}, f.product(t, "A").Holds)
	a, c := f.product(t, "A"), f.product(t, "C")
	assert.Equal(t, 7, a.Available())
	assert.Equal(t, 0, c.Available())
	f.assertNothingHeld(t, "B")
	r := f.reservation(t, "order-1")
	assert.Equal(t, inventory.Reserved, r.Status)
	assert.Empty(t, r.Unpublished())
}

func TestReserveStock_allOrNone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10, "B": 2, "C": 5, "D": 0})

	err := f.svc.ReserveStock(t.Context(), "order-1", []inventory.Line{
		{SKU: "A", Quantity: 4},       // enough
		{SKU: "B", Quantity: 3},       // not enough
		{SKU: "UNKNOWN", Quantity: 1}, // no such SKU
		{SKU: "C", Quantity: 5},       // enough, all of it
		{SKU: "D", Quantity: 1},       // none at all
	}, "corr-1")

	require.NoError(t, err, "a business no is an event, not an error")
	assert.Equal(t, []apptest.Published{{
		Event: messages.StockReservationFailed{OrderID: "order-1", Failures: []messages.LineFailure{
			{SKU: "B", Reason: messages.ReasonInsufficientStock, Requested: 3, Available: 2},
			{SKU: "D", Reason: messages.ReasonInsufficientStock, Requested: 1, Available: 0},
			{SKU: "UNKNOWN", Reason: messages.ReasonUnknownSKU, Requested: 1},
		}, OccurredAt: t0},
		CorrelationID: "corr-1",
	}}, f.events.Published())
	f.assertNothingHeld(t, "A", "B", "C", "D")
	_, err = f.products.Get(t.Context(), "UNKNOWN")
	require.ErrorIs(t, err, inventory.ErrUnknownSKU, "a reservation must not create a SKU")
	assert.Equal(t, inventory.Failed, f.reservation(t, "order-1").Status)
}

func TestReserveStock_twiceReservesOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10})
	lines := []inventory.Line{{SKU: "A", Quantity: 4}}

	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", lines, "corr-1"))
	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", lines, "corr-1"))

	assert.Equal(t, 4, f.product(t, "A").Reserved)
	assert.Len(t, f.reservation(t, "order-1").History, 1, "decided once")
	got := f.events.Published()
	require.Len(t, got, 2, "the decision, then announced again for the duplicate")
	assert.Equal(t, got[0], got[1])
}

func TestReserveStock_failedTwiceFailsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 1})
	lines := []inventory.Line{{SKU: "A", Quantity: 4}}

	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", lines, "corr-1"))
	_, err := f.svc.SetStock(t.Context(), "A", 10, "test") // enough now, but the order was decided
	require.NoError(t, err)
	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", lines, "corr-1"))

	failed := apptest.OfType[messages.StockReservationFailed](f.events.Published())
	require.Len(t, failed, 2, "the decision, then announced again for the duplicate")
	assert.Equal(t, failed[0], failed[1])
	assert.Len(t, f.reservation(t, "order-1").History, 1, "decided once")
	assert.Empty(t, apptest.OfType[messages.StockReserved](f.events.Published()))
	f.assertNothingHeld(t, "A")
}

func TestReserveStock_invalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		orderID string
		lines   []inventory.Line
	}{
		{"no order id", "", []inventory.Line{{SKU: "A", Quantity: 1}}},
		{"order id with a dot", "order.1", []inventory.Line{{SKU: "A", Quantity: 1}}},
		{"order id with a dollar", "$order", []inventory.Line{{SKU: "A", Quantity: 1}}},
		{"order id too long", strings.Repeat("a", inventory.MaxOrderIDLength+1), []inventory.Line{{SKU: "A", Quantity: 1}}},
		{"no lines", "order-1", nil},
		{"too many lines", "order-1", make([]inventory.Line, messages.MaxItems+1)},
		{"bad SKU", "order-1", []inventory.Line{{SKU: "a b", Quantity: 1}}},
		{"repeated SKU", "order-1", []inventory.Line{{SKU: "A", Quantity: 1}, {SKU: "A", Quantity: 1}}},
		{"quantity 0", "order-1", []inventory.Line{{SKU: "A", Quantity: 0}}},
		{"quantity above the maximum", "order-1", []inventory.Line{{SKU: "A", Quantity: messages.MaxQuantity + 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]int{"A": 10})

			err := f.svc.ReserveStock(t.Context(), tt.orderID, tt.lines, "corr-1")

			require.ErrorIs(t, err, inventory.ErrInvalidStock)
			require.ErrorIs(t, err, messages.ErrInvalid)
			f.assertNothingHeld(t, "A")
			_, err = f.reservations.Get(t.Context(), tt.orderID)
			require.ErrorIs(t, err, inventory.ErrNoReservation)
			assert.Empty(t, f.events.Published())
		})
	}
}

func TestReleaseAndCommitStock_invalidOrderIDIsPoison(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"", "order.1", "$order", "order 1", "ordér", strings.Repeat("a", inventory.MaxOrderIDLength+1)} {
		f := newFixture(t, map[string]int{"A": 10})

		for name, act := range map[string]func(context.Context, string, string) error{
			"release": f.svc.ReleaseStock, "commit": f.svc.CommitStock,
		} {
			err := act(t.Context(), id, "corr")

			require.ErrorIs(t, err, inventory.ErrInvalidStock, "%s %q", name, id)
			require.ErrorIs(t, err, messages.ErrInvalid, "%s %q", name, id)
		}
		_, err := f.reservations.Get(t.Context(), id)
		require.ErrorIs(t, err, inventory.ErrNoReservation)
		assert.Empty(t, f.events.Published())
	}
}

func TestReleaseStock_twiceReleasesOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10, "B": 10})
	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", []inventory.Line{{SKU: "A", Quantity: 4}, {SKU: "B", Quantity: 1}}, "corr-place"))
	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-2", []inventory.Line{{SKU: "A", Quantity: 2}}, "corr-other"))

	require.NoError(t, f.svc.ReleaseStock(t.Context(), "order-1", "corr-cancel"))
	require.NoError(t, f.svc.ReleaseStock(t.Context(), "order-1", "corr-cancel"))

	assert.Equal(t, map[string]int{"order-2": 2}, f.product(t, "A").Holds, "only the order's own holds go")
	assert.Equal(t, 2, f.product(t, "A").Reserved)
	f.assertNothingHeld(t, "B")
	assert.Equal(t, inventory.Released, f.reservation(t, "order-1").Status)
	assert.Len(t, f.reservation(t, "order-1").History, 2, "reserved, then released once")
	// The repeated release is answered with the decision again, for an orders
	// service that may be asking for an answer it never got (its sweeper).
	released := apptest.OfType[messages.StockReleased](f.events.Published())
	assert.Equal(t, []messages.StockReleased{{OrderID: "order-1", OccurredAt: t0}, {OrderID: "order-1", OccurredAt: t0}}, released)
	assert.Equal(t, "corr-cancel", f.events.Published()[2].CorrelationID)
	assert.Equal(t, "corr-cancel", f.events.Published()[3].CorrelationID)
}

func TestReleaseStock_beforeReserveWins(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10})

	require.NoError(t, f.svc.ReleaseStock(t.Context(), "order-1", "corr-cancel"))
	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", []inventory.Line{{SKU: "A", Quantity: 4}}, "corr-place"))

	f.assertNothingHeld(t, "A")
	assert.Empty(t, apptest.OfType[messages.StockReserved](f.events.Published()))
	assert.Empty(t, apptest.OfType[messages.StockReservationFailed](f.events.Published()))
	r := f.reservation(t, "order-1")
	assert.Equal(t, inventory.Released, r.Status)
	assert.Equal(t, []inventory.Line{{SKU: "A", Quantity: 4}}, r.Lines)
}

// holdHook is a Products that runs a function once, just before a given SKU is
// held: a way to interleave another use case with a reservation under way.
type holdHook struct {
	inventory.Products
	sku   string
	fired atomic.Bool
	hook  func()
}

func (h *holdHook) Hold(ctx context.Context, sku, orderID string, qty int, now time.Time) error {
	if sku == h.sku && h.fired.CompareAndSwap(false, true) {
		h.hook() // may update products itself, so not under a sync.Once
	}
	return h.Products.Hold(ctx, sku, orderID, qty, now)
}

// A release decided while the reservation is placing its holds: whatever the
// reservation held before and after it is given back.
func TestReleaseStock_duringReserveLeavesNothingHeld(t *testing.T) {
	t.Parallel()
	products := memory.NewProductRepository()
	for _, sku := range []string{"A", "B", "C"} {
		_, err := products.Update(t.Context(), sku, func(p *inventory.Product) error { return p.SetOnHand(10, t0) })
		require.NoError(t, err)
	}
	hook := &holdHook{Products: products, sku: "B"}
	f := newFixtureWith(t, hook, nil)
	hook.hook = func() {
		require.NoError(t, f.svc.ReleaseStock(t.Context(), "order-1", "corr-cancel"))
	}

	err := f.svc.ReserveStock(t.Context(), "order-1", []inventory.Line{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}, {SKU: "C", Quantity: 3}}, "corr-place")

	require.NoError(t, err)
	f.assertNothingHeld(t, "A", "B", "C")
	assert.Equal(t, inventory.Released, f.reservation(t, "order-1").Status)
	assert.Equal(t, []apptest.Published{{Event: messages.StockReleased{OrderID: "order-1", OccurredAt: t0}, CorrelationID: "corr-cancel"}}, f.events.Published())
}

func TestCommitStock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10, "B": 3})
	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", []inventory.Line{{SKU: "A", Quantity: 4}, {SKU: "B", Quantity: 3}}, "corr-place"))
	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-2", []inventory.Line{{SKU: "A", Quantity: 1}}, "corr-other"))

	require.NoError(t, f.svc.CommitStock(t.Context(), "order-1", "corr-deliver"))
	require.NoError(t, f.svc.CommitStock(t.Context(), "order-1", "corr-deliver"))

	a, b := f.product(t, "A"), f.product(t, "B")
	assert.Equal(t, 6, a.OnHand)
	assert.Equal(t, 1, a.Reserved)
	assert.Equal(t, 5, a.Available())
	assert.Equal(t, 0, b.OnHand)
	assert.Equal(t, 0, b.Reserved)
	// Committed once (the stock above); the repeated commit is answered with
	// the decision again.
	committed := apptest.OfType[messages.StockCommitted](f.events.Published())
	assert.Equal(t, []messages.StockCommitted{{OrderID: "order-1", OccurredAt: t0}, {OrderID: "order-1", OccurredAt: t0}}, committed)
	assert.Equal(t, inventory.Committed, f.reservation(t, "order-1").Status)
	assert.Len(t, f.reservation(t, "order-1").History, 2, "reserved, then committed once")

	require.NoError(t, f.svc.ReleaseStock(t.Context(), "order-1", "corr-late"))
	assert.Equal(t, 6, f.product(t, "A").OnHand, "a release after the commit gives nothing back")
	assert.Empty(t, apptest.OfType[messages.StockReleased](f.events.Published()))
	assert.Len(t, apptest.OfType[messages.StockCommitted](f.events.Published()), 3, "a late release is answered with the commit")
}

func TestCommitStock_withoutReservationDoesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10})

	require.NoError(t, f.svc.CommitStock(t.Context(), "order-1", "corr-deliver"))

	assert.Equal(t, 10, f.product(t, "A").OnHand)
	assert.Empty(t, f.events.Published())
}

// The decision is saved, then the broker fails: the redelivered message
// publishes the event of the saved decision.
func TestReserveStock_redeliveryPublishesWhatACrashLeftUnpublished(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10})
	lines := []inventory.Line{{SKU: "A", Quantity: 4}}
	f.events.FailNext(1)

	err := f.svc.ReserveStock(t.Context(), "order-1", lines, "corr-place")
	require.ErrorIs(t, err, apptest.ErrBroker)
	r := f.reservation(t, "order-1")
	assert.Equal(t, inventory.Reserved, r.Status)
	assert.Len(t, r.Unpublished(), 1)

	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", lines, "corr-retry"))

	assert.Equal(t, []apptest.Published{{
		Event:         messages.StockReserved{OrderID: "order-1", Items: []messages.Item{{SKU: "A", Quantity: 4}}, OccurredAt: t0},
		CorrelationID: "corr-place",
	}}, f.events.Published())
	assert.Equal(t, 4, f.product(t, "A").Reserved)
	r = f.reservation(t, "order-1")
	assert.Empty(t, r.Unpublished())
}

func TestSetStock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10})
	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", []inventory.Line{{SKU: "A", Quantity: 4}}, "corr"))

	_, err := f.svc.SetStock(t.Context(), "A", 3, "test")
	require.ErrorIs(t, err, inventory.ErrBelowReserved)
	assert.Equal(t, 10, f.product(t, "A").OnHand)

	p, err := f.svc.SetStock(t.Context(), "A", 4, "test")
	require.NoError(t, err)
	assert.Equal(t, 0, p.Available())

	_, err = f.svc.SetStock(t.Context(), "not a sku", 4, "test")
	require.ErrorIs(t, err, inventory.ErrInvalidStock)
}

func TestSeedStock_keepsExistingStock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10})

	require.NoError(t, f.svc.SeedStock(t.Context(), map[string]int{"A": 100, "B": 5}))

	assert.Equal(t, 10, f.product(t, "A").OnHand)
	assert.Equal(t, 5, f.product(t, "B").OnHand)
	all, err := f.svc.ListStock(t.Context())
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, "A", all[0].SKU)
}

// 200 orders of one unit each race for 50 units: exactly 50 win, and the
// stock adds up.
func TestReserveStock_concurrentOrdersNeverOversell(t *testing.T) {
	t.Parallel()
	const orders, stock = 200, 50
	f := newFixture(t, map[string]int{"A": stock})

	errs := make([]error, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			errs[i] = f.svc.ReserveStock(t.Context(), fmt.Sprintf("order-%03d", i), []inventory.Line{{SKU: "A", Quantity: 1}}, "corr")
		})
	}
	wg.Wait()

	for i, err := range errs {
		require.NoError(t, err, "order %d", i)
	}
	events := f.events.Published()
	reserved := apptest.OfType[messages.StockReserved](events)
	failed := apptest.OfType[messages.StockReservationFailed](events)
	assert.Len(t, reserved, stock)
	assert.Len(t, failed, orders-stock)
	assert.Len(t, events, orders)
	a := f.product(t, "A")
	assert.Equal(t, stock, a.Reserved)
	assert.Equal(t, 0, a.Available())
	assert.Len(t, a.Holds, stock)
	for _, ev := range reserved {
		assert.Equal(t, 1, a.Holds[ev.OrderID], "order %s reserved but holds nothing", ev.OrderID)
	}
	for _, ev := range failed {
		assert.NotContains(t, a.Holds, ev.OrderID)
		assert.Equal(t, []messages.LineFailure{{SKU: "A", Reason: messages.ReasonInsufficientStock, Requested: 1, Available: 0}}, ev.Failures)
	}
}

func TestRelayUnpublished_publishesWhatAFailedPublishLeftOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10})
	f.events.FailNext(1)
	require.ErrorIs(t, f.svc.ReserveStock(t.Context(), "order-1", []inventory.Line{{SKU: "A", Quantity: 4}}, "corr-place"), apptest.ErrBroker)

	n, err := f.svc.RelayUnpublished(t.Context(), time.Minute, 100)
	require.NoError(t, err)
	assert.Zero(t, n, "within the grace period the handler may still publish it")
	assert.Empty(t, f.events.Published())

	n, err = f.svc.RelayUnpublished(t.Context(), 0, 100)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []apptest.Published{{
		Event:         messages.StockReserved{OrderID: "order-1", Items: []messages.Item{{SKU: "A", Quantity: 4}}, OccurredAt: t0},
		CorrelationID: "corr-place",
	}}, f.events.Published())
	r := f.reservation(t, "order-1")
	assert.Empty(t, r.Unpublished())

	n, err = f.svc.RelayUnpublished(t.Context(), 0, 100)
	require.NoError(t, err)
	assert.Zero(t, n, "published once")
	assert.Len(t, f.events.Published(), 1)
}

// A release saved, then a crash before the holds were given back: the relay
// gives them back before it announces the release.
func TestRelayUnpublished_settlesHoldsBeforeTheEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]int{"A": 10})
	require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", []inventory.Line{{SKU: "A", Quantity: 4}}, "corr-place"))
	_, err := f.reservations.Update(t.Context(), "order-1", func(r *inventory.Reservation) error {
		r.Release(t0, "corr-cancel")
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 4, f.product(t, "A").Reserved, "the crash left the hold")

	n, err := f.svc.RelayUnpublished(t.Context(), 0, 100)
	require.NoError(t, err)

	assert.Equal(t, 1, n)
	f.assertNothingHeld(t, "A")
	got := f.events.Published()
	require.Len(t, got, 2)
	assert.Equal(t, apptest.Published{Event: messages.StockReleased{OrderID: "order-1", OccurredAt: t0}, CorrelationID: "corr-cancel"}, got[1])
}

// An OrderPlaced that comes again for a decided reservation (the orders
// service's saga sweeper asking for news) is answered with the latest decision.
func TestReserveStock_duplicateAnnouncesTheLatestDecision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		decide func(t *testing.T, f *fixture)
		want   any
	}{
		{"reserved", func(*testing.T, *fixture) {}, messages.StockReserved{OrderID: "order-1", Items: []messages.Item{{SKU: "A", Quantity: 4}}, OccurredAt: t0}},
		{"released", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.ReleaseStock(t.Context(), "order-1", "corr-later"))
		}, messages.StockReleased{OrderID: "order-1", OccurredAt: t0}},
		{"committed", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.CommitStock(t.Context(), "order-1", "corr-later"))
		}, messages.StockCommitted{OrderID: "order-1", OccurredAt: t0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]int{"A": 10})
			lines := []inventory.Line{{SKU: "A", Quantity: 4}}
			require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", lines, "corr-place"))
			tt.decide(t, f)
			before := f.events.Published()
			history := f.reservation(t, "order-1").History

			require.NoError(t, f.svc.ReserveStock(t.Context(), "order-1", lines, "corr-nudge"))

			got := f.events.Published()[len(before):]
			require.Len(t, got, 1)
			assert.Equal(t, tt.want, got[0].Event)
			assert.Equal(t, history[len(history)-1].CorrelationID, got[0].CorrelationID, "with the correlation ID of the decision")
			assert.Equal(t, history, f.reservation(t, "order-1").History, "nothing decided again")
		})
	}
}
