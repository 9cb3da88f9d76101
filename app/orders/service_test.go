package orders_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/apptest"
	"github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/infra/memory"
	"github.com/orderflow/orderflow/messages"
)

type fixture struct {
	svc    *orders.Service
	repo   *memory.OrderRepository
	events *apptest.Publisher
	clock  *apptest.Clock
}

func newFixture() *fixture {
	f := &fixture{repo: memory.NewOrderRepository(), events: &apptest.Publisher{}, clock: apptest.NewClock(t0)}
	f.svc = orders.NewService(f.repo, f.events, f.clock.Now)
	return f
}

func (f *fixture) stored(t *testing.T, id string) orders.Order {
	t.Helper()
	o, err := f.repo.Get(t.Context(), id)
	require.NoError(t, err)
	return o
}

// place places an order and requires it to be new.
func (f *fixture) place(t *testing.T, id, customerID string) orders.Order {
	t.Helper()
	o, outcome, err := f.svc.PlaceOrder(t.Context(), orders.PlaceOrder{
		OrderID: id, CustomerID: customerID, Items: []orders.Item{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}, CorrelationID: "corr-place",
	})
	require.NoError(t, err)
	require.Equal(t, orders.Placed, outcome)
	return o
}

var placeCmd = orders.PlaceOrder{
	OrderID:       "order-1",
	CustomerID:    "cust-1",
	Items:         []orders.Item{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}},
	CorrelationID: "corr-place",
}

var orderPlaced = messages.OrderPlaced{
	OrderID:    "order-1",
	CustomerID: "cust-1",
	Items:      []messages.Item{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}},
	OccurredAt: t0,
}

func TestPlaceOrder_publishesOrderPlacedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture()

	o, outcome, err := f.svc.PlaceOrder(t.Context(), placeCmd)

	require.NoError(t, err)
	assert.Equal(t, orders.Placed, outcome)
	assert.Equal(t, orders.StatusPending, o.Status)
	assert.Equal(t, t0, o.CreatedAt)
	assert.Equal(t, []apptest.Published{{Event: orderPlaced, CorrelationID: "corr-place"}}, f.events.Published())
	assert.Empty(t, unpublished(f.stored(t, "order-1")), "a published event is marked so")
}

func TestPlaceOrder_duplicatePublishesNothingNew(t *testing.T) {
	t.Parallel()
	f := newFixture()
	_, _, err := f.svc.PlaceOrder(t.Context(), placeCmd)
	require.NoError(t, err)
	before := f.stored(t, "order-1")
	f.clock.Advance(time.Minute)

	o, outcome, err := f.svc.PlaceOrder(t.Context(), placeCmd)

	require.NoError(t, err)
	assert.Equal(t, orders.Duplicate, outcome)
	assert.Equal(t, before, o)
	assert.Equal(t, before, f.stored(t, "order-1"))
	assert.Len(t, f.events.Published(), 1)
}

func TestPlaceOrder_otherContentsConflict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		customerID string
		items      []orders.Item
	}{
		{"other customer", "cust-2", placeCmd.Items},
		{"other quantity", placeCmd.CustomerID, []orders.Item{{SKU: "A", Quantity: 3}, {SKU: "B", Quantity: 1}}},
		{"other items", placeCmd.CustomerID, []orders.Item{{SKU: "C", Quantity: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture()
			_, _, err := f.svc.PlaceOrder(t.Context(), placeCmd)
			require.NoError(t, err)
			before := f.stored(t, "order-1")

			o, outcome, err := f.svc.PlaceOrder(t.Context(), orders.PlaceOrder{
				OrderID: "order-1", CustomerID: tt.customerID, Items: tt.items, CorrelationID: "corr-other",
			})

			require.NoError(t, err)
			assert.Equal(t, orders.Conflict, outcome)
			assert.Equal(t, before, o, "a conflict returns the order that exists")
			assert.Equal(t, before, f.stored(t, "order-1"))
			assert.Len(t, f.events.Published(), 1)
		})
	}
}

func TestPlaceOrder_invalidStoresNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cmd  orders.PlaceOrder
	}{
		{"no order id", orders.PlaceOrder{CustomerID: "cust-1", Items: placeCmd.Items}},
		{"no customer", orders.PlaceOrder{OrderID: "order-1", Items: placeCmd.Items}},
		{"no items", orders.PlaceOrder{OrderID: "order-1", CustomerID: "cust-1"}},
		{"bad quantity", orders.PlaceOrder{OrderID: "order-1", CustomerID: "cust-1", Items: []orders.Item{{SKU: "A", Quantity: 0}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture()

			_, _, err := f.svc.PlaceOrder(t.Context(), tt.cmd)

			require.ErrorIs(t, err, orders.ErrInvalidOrder)
			_, err = f.repo.Get(t.Context(), "order-1")
			require.ErrorIs(t, err, orders.ErrNotFound)
			assert.Empty(t, f.events.Published())
		})
	}
}

// The order is saved, then the process dies (here: the broker fails) before
// its event is out. The redelivered command finds it unpublished and publishes it.
func TestPlaceOrder_redeliveryPublishesWhatACrashLeftUnpublished(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.events.FailNext(1)

	_, _, err := f.svc.PlaceOrder(t.Context(), placeCmd)

	require.ErrorIs(t, err, apptest.ErrBroker, "the command must be retried")
	assert.Empty(t, f.events.Published())
	saved := f.stored(t, "order-1")
	assert.Equal(t, orders.StatusPending, saved.Status)
	assert.Len(t, saved.Unpublished(), 1)

	redelivered := placeCmd
	redelivered.CorrelationID = "corr-retry"
	f.clock.Advance(time.Minute)
	o, outcome, err := f.svc.PlaceOrder(t.Context(), redelivered)

	require.NoError(t, err)
	assert.Equal(t, orders.Duplicate, outcome)
	assert.Equal(t, orders.StatusPending, o.Status)
	assert.Equal(t, []apptest.Published{{Event: orderPlaced, CorrelationID: "corr-place"}}, f.events.Published(),
		"the event is the saved change's, with its time and correlation ID")
	assert.Empty(t, unpublished(f.stored(t, "order-1")))

	_, _, err = f.svc.PlaceOrder(t.Context(), redelivered)
	require.NoError(t, err)
	assert.Len(t, f.events.Published(), 1, "once published, never again")
}

// The next message to touch the order, whatever it is, finishes the publishing.
func TestService_nextMessagePublishesWhatACrashLeftUnpublished(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.events.FailNext(1)
	_, _, err := f.svc.PlaceOrder(t.Context(), placeCmd)
	require.ErrorIs(t, err, apptest.ErrBroker)
	f.clock.Advance(time.Minute)

	ctx := messages.WithCorrelationID(t.Context(), "corr-reserved")
	require.NoError(t, f.svc.ConfirmOrder(ctx, "order-1", "corr-reserved"))

	assert.Equal(t, []apptest.Published{
		{Event: orderPlaced, CorrelationID: "corr-place"},
		{Event: messages.OrderConfirmed{OrderID: "order-1", CustomerID: "cust-1", Items: orderPlaced.Items, OccurredAt: t0.Add(time.Minute)}, CorrelationID: "corr-reserved"},
	}, f.events.Published())
	assert.Empty(t, unpublished(f.stored(t, "order-1")))
}

func TestService_failedPublishOfALaterChangeIsRetried(t *testing.T) {
	t.Parallel()
	f := newFixture()
	_, _, err := f.svc.PlaceOrder(t.Context(), placeCmd)
	require.NoError(t, err)
	f.events.FailNext(1)

	err = f.svc.ConfirmOrder(t.Context(), "order-1", "corr-reserved")
	require.ErrorIs(t, err, apptest.ErrBroker)
	assert.Equal(t, orders.StatusConfirmed, f.stored(t, "order-1").Status, "the decision is saved before its event")

	require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr-reserved"))

	got := f.events.Published()
	require.Len(t, got, 2)
	assert.IsType(t, messages.OrderPlaced{}, got[0].Event)
	assert.IsType(t, messages.OrderConfirmed{}, got[1].Event)
	assert.Empty(t, unpublished(f.stored(t, "order-1")))
}

// Each event carries the correlation ID of the change that caused it, not of
// the context that happens to publish it.
func TestService_eventsCarryTheCorrelationIDOfTheirChange(t *testing.T) {
	t.Parallel()
	f := newFixture()
	ctxOf := func(id string) context.Context { return messages.WithCorrelationID(t.Context(), "ctx-"+id) }
	dispatchedAt, deliveredAt := t0.Add(time.Hour), t0.Add(2*time.Hour)

	_, _, err := f.svc.PlaceOrder(ctxOf("place"), placeCmd)
	require.NoError(t, err)
	f.clock.Advance(time.Minute)
	require.NoError(t, f.svc.ConfirmOrder(ctxOf("reserve"), "order-1", "corr-reserve"))
	require.NoError(t, f.svc.MarkShipped(ctxOf("ship"), "order-1", dispatchedAt, "corr-ship"))
	require.NoError(t, f.svc.MarkDelivered(ctxOf("deliver"), "order-1", dispatchedAt, deliveredAt, "corr-deliver"))

	assert.Equal(t, []apptest.Published{
		{Event: orderPlaced, CorrelationID: "corr-place"},
		{Event: messages.OrderConfirmed{OrderID: "order-1", CustomerID: "cust-1", Items: orderPlaced.Items, OccurredAt: t0.Add(time.Minute)}, CorrelationID: "corr-reserve"},
		{Event: messages.OrderShipped{OrderID: "order-1", OccurredAt: dispatchedAt}, CorrelationID: "corr-ship"},
		{Event: messages.OrderDelivered{OrderID: "order-1", OccurredAt: deliveredAt}, CorrelationID: "corr-deliver"},
	}, f.events.Published())
	var history []string
	for _, c := range f.stored(t, "order-1").History {
		history = append(history, c.CorrelationID)
	}
	assert.Equal(t, []string{"corr-place", "corr-reserve", "corr-ship", "corr-deliver"}, history)
}

func TestMarkDelivered_beforeMarkShippedPublishesBoth(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.place(t, "order-1", "cust-1")
	require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr-reserve"))
	dispatchedAt, deliveredAt := t0.Add(time.Hour), t0.Add(2*time.Hour)

	require.NoError(t, f.svc.MarkDelivered(t.Context(), "order-1", dispatchedAt, deliveredAt, "corr-deliver"))
	require.NoError(t, f.svc.MarkShipped(t.Context(), "order-1", dispatchedAt, "corr-ship"))

	got := f.events.Published()
	require.Len(t, got, 4)
	assert.Equal(t, apptest.Published{Event: messages.OrderShipped{OrderID: "order-1", OccurredAt: dispatchedAt}, CorrelationID: "corr-deliver"}, got[2])
	assert.Equal(t, apptest.Published{Event: messages.OrderDelivered{OrderID: "order-1", OccurredAt: deliveredAt}, CorrelationID: "corr-deliver"}, got[3])
	assert.Equal(t, orders.StatusDelivered, f.stored(t, "order-1").Status)
}

func TestMarkDeliveryFailed_publishesTheReason(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.place(t, "order-1", "cust-1")
	require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr-reserve"))
	dispatchedAt, failedAt := t0.Add(time.Hour), t0.Add(2*time.Hour)

	require.NoError(t, f.svc.MarkDeliveryFailed(t.Context(), "order-1", "nobody home", dispatchedAt, failedAt, "corr-fail"))

	got := f.events.Published()
	require.Len(t, got, 4)
	assert.Equal(t, messages.OrderShipped{OrderID: "order-1", OccurredAt: dispatchedAt}, got[2].Event)
	assert.Equal(t, messages.OrderDeliveryFailed{OrderID: "order-1", Reason: "nobody home", OccurredAt: failedAt}, got[3].Event)
	o := f.stored(t, "order-1")
	assert.Equal(t, orders.StatusDeliveryFailed, o.Status)
	assert.Equal(t, "nobody home", o.Reason)
}

func TestRejectOrder_publishesAReasonPerSKU(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.place(t, "order-1", "cust-1")
	f.clock.Advance(time.Minute)

	err := f.svc.RejectOrder(t.Context(), "order-1", []messages.LineFailure{
		{SKU: "A", Reason: messages.ReasonInsufficientStock, Requested: 2, Available: 1},
		{SKU: "B", Reason: messages.ReasonUnknownSKU, Requested: 1},
	}, "corr-reserve")

	require.NoError(t, err)
	reason := "insufficient stock for A (requested 2, available 1); unknown SKU B"
	got := f.events.Published()
	require.Len(t, got, 2)
	assert.Equal(t, apptest.Published{Event: messages.OrderRejected{OrderID: "order-1", Reason: reason, OccurredAt: t0.Add(time.Minute)}, CorrelationID: "corr-reserve"}, got[1])
	o := f.stored(t, "order-1")
	assert.Equal(t, orders.StatusRejected, o.Status)
	assert.Equal(t, reason, o.Reason)
}

func TestRejectionReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		failures []messages.LineFailure
		want     string
	}{
		{"no failures", nil, "stock could not be reserved"},
		{"unknown SKU", []messages.LineFailure{{SKU: "A", Reason: messages.ReasonUnknownSKU}}, "unknown SKU A"},
		{"insufficient", []messages.LineFailure{{SKU: "A", Reason: messages.ReasonInsufficientStock, Requested: 5, Available: 0}}, "insufficient stock for A (requested 5, available 0)"},
		{"other reason", []messages.LineFailure{{SKU: "A", Reason: "recalled"}}, "A: recalled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, orders.RejectionReason(tt.failures))
		})
	}
}

func TestCancelOrder(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.place(t, "order-1", "cust-1")
	f.clock.Advance(time.Minute)

	o, err := f.svc.CancelOrder(t.Context(), "order-1", "changed my mind", "corr-cancel")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusCancelled, o.Status)

	o, err = f.svc.CancelOrder(t.Context(), "order-1", "changed my mind", "corr-cancel-again")
	require.NoError(t, err, "cancelling a cancelled order is no error")
	assert.Equal(t, orders.StatusCancelled, o.Status)

	got := f.events.Published()
	require.Len(t, got, 2, "cancelled once")
	assert.Equal(t, apptest.Published{Event: messages.OrderCancelled{OrderID: "order-1", Reason: "changed my mind", OccurredAt: t0.Add(time.Minute)}, CorrelationID: "corr-cancel"}, got[1])

	require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr-late"), "a late reservation is no error")
	assert.Equal(t, orders.StatusCancelled, f.stored(t, "order-1").Status)
	assert.Len(t, f.events.Published(), 2)
}

func TestCancelOrder_refusedOnceShipped(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.place(t, "order-1", "cust-1")
	require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr"))
	require.NoError(t, f.svc.MarkShipped(t.Context(), "order-1", t0.Add(time.Hour), "corr"))
	before := f.stored(t, "order-1")

	_, err := f.svc.CancelOrder(t.Context(), "order-1", "too late", "corr-cancel")

	require.ErrorIs(t, err, orders.ErrNotCancellable)
	assert.Equal(t, before, f.stored(t, "order-1"))
	assert.Len(t, f.events.Published(), 3)
}

func TestService_unknownOrderIsNotFound(t *testing.T) {
	t.Parallel()
	calls := []struct {
		name string
		call func(ctx context.Context, svc *orders.Service) error
	}{
		{"ConfirmOrder", func(ctx context.Context, svc *orders.Service) error {
			return svc.ConfirmOrder(ctx, "nope", "corr")
		}},
		{"RejectOrder", func(ctx context.Context, svc *orders.Service) error {
			return svc.RejectOrder(ctx, "nope", nil, "corr")
		}},
		{"CancelOrder", func(ctx context.Context, svc *orders.Service) error {
			_, err := svc.CancelOrder(ctx, "nope", "", "corr")
			return err
		}},
		{"MarkShipped", func(ctx context.Context, svc *orders.Service) error {
			return svc.MarkShipped(ctx, "nope", t0, "corr")
		}},
		{"MarkDelivered", func(ctx context.Context, svc *orders.Service) error {
			return svc.MarkDelivered(ctx, "nope", t0, t0, "corr")
		}},
		{"MarkDeliveryFailed", func(ctx context.Context, svc *orders.Service) error {
			return svc.MarkDeliveryFailed(ctx, "nope", "lost", t0, t0, "corr")
		}},
		{"GetOrder", func(ctx context.Context, svc *orders.Service) error {
			_, err := svc.GetOrder(ctx, "nope")
			return err
		}},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture()

			err := tt.call(t.Context(), f.svc)

			require.ErrorIs(t, err, orders.ErrNotFound)
			_, err = f.repo.Get(t.Context(), "nope")
			require.ErrorIs(t, err, orders.ErrNotFound, "nothing is stored for an unknown order")
			assert.Empty(t, f.events.Published())
		})
	}
}

// listAll pages through ListOrders and returns the ids in the order seen.
func listAll(t *testing.T, svc *orders.Service, in orders.ListOrders) (ids []string, pages int) {
	t.Helper()
	for {
		page, err := svc.ListOrders(t.Context(), in)
		require.NoError(t, err)
		pages++
		for _, o := range page.Orders {
			ids = append(ids, o.ID)
		}
		if page.NextCursor == "" {
			return ids, pages
		}
		require.NotEmpty(t, page.Orders)
		require.Less(t, pages, 1000, "paging does not end")
		in.Cursor = page.NextCursor
	}
}

func TestListOrders_pagesNewestFirstWithStableCursor(t *testing.T) {
	t.Parallel()
	f := newFixture()
	// A clock in a zone other than UTC that does not move: runs of orders
	// share their CreatedAt, and only the id tells them apart.
	f.clock.Set(t0.In(time.FixedZone("CEST", 2*60*60)))
	var older, newer []string
	for i := range 7 {
		id := fmt.Sprintf("order-%02d", i)
		f.place(t, id, "cust-1")
		older = append(older, id)
	}
	f.clock.Advance(time.Second)
	for i := 7; i < 10; i++ {
		id := fmt.Sprintf("order-%02d", i)
		f.place(t, id, "cust-1")
		newer = append(newer, id)
	}
	slices.Reverse(older)
	slices.Reverse(newer)
	want := append(newer, older...)

	tests := []struct {
		name      string
		limit     int
		wantPages int
	}{
		{"one per page", 1, 10},
		{"pages of 3", 3, 4},
		{"pages of 5 end exactly", 5, 2},
		{"one page", 10, 1},
		{"more than there is", 50, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ids, pages := listAll(t, f.svc, orders.ListOrders{Limit: tt.limit})
			assert.Equal(t, want, ids)
			assert.Equal(t, tt.wantPages, pages)
		})
	}
}

func TestListOrders_cursorSurvivesNewOrders(t *testing.T) {
	t.Parallel()
	f := newFixture()
	for i := range 4 {
		f.place(t, fmt.Sprintf("order-%d", i), "cust-1")
	}
	first, err := f.svc.ListOrders(t.Context(), orders.ListOrders{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"order-3", "order-2"}, ids(first.Orders))

	f.place(t, "order-9", "cust-1") // newer, with an id that sorts first: must not shift the next page
	next, err := f.svc.ListOrders(t.Context(), orders.ListOrders{Limit: 2, Cursor: first.NextCursor})

	require.NoError(t, err)
	assert.Equal(t, []string{"order-1", "order-0"}, ids(next.Orders))
	assert.Empty(t, next.NextCursor)
}

func TestListOrders_clampsTheLimit(t *testing.T) {
	t.Parallel()
	f := newFixture()
	for i := range messages.MaxListLimit + 5 {
		f.place(t, fmt.Sprintf("order-%03d", i), "cust-1")
	}
	tests := []struct {
		name  string
		limit int
		want  int
	}{
		{"zero is the default", 0, messages.DefaultListLimit},
		{"negative is the default", -1, messages.DefaultListLimit},
		{"one", 1, 1},
		{"the maximum", messages.MaxListLimit, messages.MaxListLimit},
		{"above the maximum is the maximum", messages.MaxListLimit + 1, messages.MaxListLimit},
		{"far above the maximum", 1_000_000, messages.MaxListLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page, err := f.svc.ListOrders(t.Context(), orders.ListOrders{Limit: tt.limit})
			require.NoError(t, err)
			assert.Len(t, page.Orders, tt.want)
			assert.NotEmpty(t, page.NextCursor)
		})
	}
}

func TestListOrders_filters(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.place(t, "order-1", "cust-1")
	f.clock.Advance(time.Second)
	f.place(t, "order-2", "cust-2")
	f.clock.Advance(time.Second)
	f.place(t, "order-3", "cust-1")
	require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-3", "corr"))
	require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-2", "corr"))

	tests := []struct {
		name string
		in   orders.ListOrders
		want []string
	}{
		{"by customer", orders.ListOrders{CustomerID: "cust-1"}, []string{"order-3", "order-1"}},
		{"by status", orders.ListOrders{Status: string(orders.StatusConfirmed)}, []string{"order-3", "order-2"}},
		{"by customer and status", orders.ListOrders{CustomerID: "cust-1", Status: string(orders.StatusPending)}, []string{"order-1"}},
		{"nothing matches", orders.ListOrders{Status: string(orders.StatusDelivered)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _ := listAll(t, f.svc, tt.in)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestListOrders_badCursor(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.place(t, "order-1", "cust-1")
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name   string
		cursor string
	}{
		{"not base64", "!!!"},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte("1:order-10"))},
		{"no separator", b64("12345")},
		{"no id", b64("12345:")},
		{"time not a number", b64("yesterday:order-1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.svc.ListOrders(t.Context(), orders.ListOrders{Cursor: tt.cursor})
			require.ErrorIs(t, err, orders.ErrBadCursor)
		})
	}
}

func TestListOrders_unknownStatus(t *testing.T) {
	t.Parallel()
	f := newFixture()
	for _, status := range []string{"pending", "SHIPPING", "SCHEDULED"} {
		_, err := f.svc.ListOrders(t.Context(), orders.ListOrders{Status: status})
		require.ErrorIs(t, err, orders.ErrInvalidOrder, status)
	}
}

func TestCursor_roundTrip(t *testing.T) {
	t.Parallel()
	c := orders.Cursor{CreatedAt: time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("X", 3600)), ID: "id:with:colons"}

	got, err := orders.DecodeCursor(orders.EncodeCursor(c))

	require.NoError(t, err)
	assert.True(t, c.CreatedAt.Equal(got.CreatedAt), "%s != %s", c.CreatedAt, got.CreatedAt)
	assert.Equal(t, c.ID, got.ID)
}

func unpublished(o orders.Order) []orders.Change { return o.Unpublished() }

func ids(os []orders.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

func TestRelayUnpublished_publishesWhatAFailedPublishLeftOnce(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.events.FailNext(1)
	_, _, err := f.svc.PlaceOrder(t.Context(), placeCmd)
	require.ErrorIs(t, err, apptest.ErrBroker)
	require.Len(t, unpublished(f.stored(t, "order-1")), 1, "the order is saved, its event is not out")

	n, err := f.svc.RelayUnpublished(t.Context(), 2*time.Second, 100)
	require.NoError(t, err)
	assert.Zero(t, n, "within the grace period the handler may still publish it")
	assert.Empty(t, f.events.Published())

	f.clock.Advance(2 * time.Second)
	n, err = f.svc.RelayUnpublished(t.Context(), 2*time.Second, 100)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []apptest.Published{{Event: orderPlaced, CorrelationID: "corr-place"}}, f.events.Published())
	assert.Empty(t, unpublished(f.stored(t, "order-1")))

	f.clock.Advance(time.Minute)
	n, err = f.svc.RelayUnpublished(t.Context(), 2*time.Second, 100)
	require.NoError(t, err)
	assert.Zero(t, n, "published once")
	assert.Len(t, f.events.Published(), 1)
}

func TestRelayUnpublished_aFailingPublishIsRelayedNextRound(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.events.FailNext(2)
	_, _, err := f.svc.PlaceOrder(t.Context(), placeCmd)
	require.ErrorIs(t, err, apptest.ErrBroker)
	f.clock.Advance(time.Minute)

	n, err := f.svc.RelayUnpublished(t.Context(), time.Second, 100)
	require.ErrorIs(t, err, apptest.ErrBroker)
	assert.Zero(t, n)
	assert.Len(t, unpublished(f.stored(t, "order-1")), 1, "still unpublished")

	n, err = f.svc.RelayUnpublished(t.Context(), time.Second, 100)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []apptest.Published{{Event: orderPlaced, CorrelationID: "corr-place"}}, f.events.Published())
}

func TestRelayUnpublished_oldestFirstUpToLimit(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.events.FailNext(3)
	for _, id := range []string{"order-c", "order-a", "order-b"} {
		_, _, err := f.svc.PlaceOrder(t.Context(), orders.PlaceOrder{OrderID: id, CustomerID: "cust-1", Items: placeCmd.Items, CorrelationID: "corr-" + id})
		require.ErrorIs(t, err, apptest.ErrBroker)
		f.clock.Advance(time.Second)
	}
	f.clock.Advance(time.Minute)

	n, err := f.svc.RelayUnpublished(t.Context(), time.Second, 2)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	var ids []string
	for _, p := range f.events.Published() {
		ids = append(ids, p.Event.(messages.OrderPlaced).OrderID)
	}
	assert.Equal(t, []string{"order-c", "order-a"}, ids)
}

func TestMarkShipmentScheduled_recordsAFlagOnly(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.place(t, "order-1", "cust-1")
	require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr-reserve"))
	before := f.stored(t, "order-1")
	require.True(t, before.Awaiting())

	require.NoError(t, f.svc.MarkShipmentScheduled(t.Context(), "order-1"))
	require.NoError(t, f.svc.MarkShipmentScheduled(t.Context(), "order-1"))

	o := f.stored(t, "order-1")
	assert.True(t, o.ShipmentScheduled)
	assert.True(t, o.Awaiting(), "a CONFIRMED order still waits for its shipment's next step")
	assert.Equal(t, before.AwaitingSince, o.AwaitingSince)
	assert.Equal(t, orders.StatusConfirmed, o.Status)
	assert.Equal(t, before.History, o.History, "no history entry")
	assert.Equal(t, before.Revision+1, o.Revision, "recorded once")
	assert.Len(t, f.events.Published(), 2, "nothing published")
	require.ErrorIs(t, f.svc.MarkShipmentScheduled(t.Context(), "nope"), orders.ErrNotFound)
}

func TestNudgeStuck_sendsAgainWhatMovesTheOrderOn(t *testing.T) {
	t.Parallel()
	const stuckAfter = 30 * time.Second
	// The courier's times are the clock's, so that every wait below begins at t0.
	dispatchedAt := t0
	confirmed := &apptest.Published{Event: messages.OrderConfirmed{OrderID: "order-1", CustomerID: "cust-1", Items: orderPlaced.Items, OccurredAt: t0}, CorrelationID: "corr-reserve"}
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture)
		// want is the event sent again, nil for none.
		want *apptest.Published
	}{
		{"PENDING: OrderPlaced, for inventory's decision", func(*testing.T, *fixture) {}, &apptest.Published{Event: orderPlaced, CorrelationID: "corr-place"}},
		{"CONFIRMED with no shipment known: OrderConfirmed", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr-reserve"))
		}, confirmed},
		{"CONFIRMED with its shipment scheduled: OrderConfirmed, for the shipment's next step", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr-reserve"))
			require.NoError(t, f.svc.MarkShipmentScheduled(t.Context(), "order-1"))
		}, confirmed},
		{"SHIPPED: OrderConfirmed, which delivery answers with the shipment's latest step", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr-reserve"))
			require.NoError(t, f.svc.MarkShipped(t.Context(), "order-1", dispatchedAt, "corr-ship"))
		}, confirmed},
		{"REJECTED: nothing (inventory decided it and holds nothing)", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.RejectOrder(t.Context(), "order-1", nil, "corr-reserve"))
		}, nil},
		{"CANCELLED, its stock not known to be released: OrderCancelled", func(t *testing.T, f *fixture) {
			_, err := f.svc.CancelOrder(t.Context(), "order-1", "no", "corr-cancel")
			require.NoError(t, err)
		}, &apptest.Published{Event: messages.OrderCancelled{OrderID: "order-1", Reason: "no", OccurredAt: t0}, CorrelationID: "corr-cancel"}},
		{"CANCELLED, its stock released: nothing", func(t *testing.T, f *fixture) {
			_, err := f.svc.CancelOrder(t.Context(), "order-1", "no", "corr-cancel")
			require.NoError(t, err)
			require.NoError(t, f.svc.MarkStockSettled(t.Context(), "order-1"))
		}, nil},
		{"DELIVERED, its stock not known to be committed: OrderDelivered", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr-reserve"))
			require.NoError(t, f.svc.MarkDelivered(t.Context(), "order-1", dispatchedAt, dispatchedAt, "corr-deliver"))
		}, &apptest.Published{Event: messages.OrderDelivered{OrderID: "order-1", OccurredAt: dispatchedAt}, CorrelationID: "corr-deliver"}},
		{"DELIVERED, its stock committed: nothing", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr-reserve"))
			require.NoError(t, f.svc.MarkDelivered(t.Context(), "order-1", dispatchedAt, dispatchedAt, "corr-deliver"))
			require.NoError(t, f.svc.MarkStockSettled(t.Context(), "order-1"))
		}, nil},
		{"DELIVERY_FAILED, its stock not known to be released: OrderDeliveryFailed", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.ConfirmOrder(t.Context(), "order-1", "corr-reserve"))
			require.NoError(t, f.svc.MarkDeliveryFailed(t.Context(), "order-1", "lost", dispatchedAt, dispatchedAt, "corr-fail"))
		}, &apptest.Published{Event: messages.OrderDeliveryFailed{OrderID: "order-1", Reason: "lost", OccurredAt: dispatchedAt}, CorrelationID: "corr-fail"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture()
			_, _, err := f.svc.PlaceOrder(t.Context(), placeCmd)
			require.NoError(t, err)
			tt.setup(t, f)
			before := f.events.Published()

			f.clock.Advance(stuckAfter - time.Millisecond)
			nudges, err := f.svc.NudgeStuck(t.Context(), stuckAfter, 100)
			require.NoError(t, err)
			assert.Empty(t, nudges, "not stuck yet")

			f.clock.Advance(time.Millisecond)
			nudges, err = f.svc.NudgeStuck(t.Context(), stuckAfter, 100)
			require.NoError(t, err)
			sent := f.events.Published()[len(before):]
			if tt.want == nil {
				assert.Empty(t, nudges)
				assert.Empty(t, sent)
				return
			}
			o := f.stored(t, "order-1")
			assert.Equal(t, []orders.Nudge{{OrderID: "order-1", Status: o.Status, Age: stuckAfter, Nudges: 1}}, nudges)
			assert.Equal(t, []apptest.Published{*tt.want}, sent)
			assert.Equal(t, 1, o.Nudges)
			assert.Equal(t, f.clock.Now(), o.AwaitingSince, "the next nudge is a whole stuckAfter away")
			assert.Empty(t, unpublished(o), "a nudge is no change of the order's history")

			nudges, err = f.svc.NudgeStuck(t.Context(), stuckAfter, 100)
			require.NoError(t, err)
			assert.Empty(t, nudges, "sent at most once per stuckAfter")
			// Each further nudge waits twice as long as the one before.
			for n, wait := range []time.Duration{2 * stuckAfter, 4 * stuckAfter} {
				f.clock.Advance(wait - time.Millisecond)
				nudges, err = f.svc.NudgeStuck(t.Context(), stuckAfter, 100)
				require.NoError(t, err)
				assert.Empty(t, nudges, "nudge %d comes only %s after the one before", n+2, wait)
				f.clock.Advance(time.Millisecond)
				nudges, err = f.svc.NudgeStuck(t.Context(), stuckAfter, 100)
				require.NoError(t, err)
				require.Len(t, nudges, 1)
				assert.Equal(t, n+2, nudges[0].Nudges)
			}
			assert.Equal(t, []apptest.Published{*tt.want, *tt.want, *tt.want}, f.events.Published()[len(before):])
		})
	}
}

func TestNudgeStuck_aFailedPublishIsNoNudge(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.place(t, "order-1", "cust-1")
	f.clock.Advance(time.Minute)
	f.events.FailNext(1)

	nudges, err := f.svc.NudgeStuck(t.Context(), time.Second, 100)
	require.ErrorIs(t, err, apptest.ErrBroker)
	assert.Empty(t, nudges)
	assert.Zero(t, f.stored(t, "order-1").Nudges)

	nudges, err = f.svc.NudgeStuck(t.Context(), time.Second, 100)
	require.NoError(t, err)
	assert.Len(t, nudges, 1, "tried again at the next round")
}

// A PENDING order whose OrderPlaced never went out is nudged by publishing it
// (and marking it), not by publishing it twice.
func TestNudgeStuck_publishesAnUnpublishedChangeOnce(t *testing.T) {
	t.Parallel()
	f := newFixture()
	f.events.FailNext(1)
	_, _, err := f.svc.PlaceOrder(t.Context(), placeCmd)
	require.ErrorIs(t, err, apptest.ErrBroker)
	f.clock.Advance(time.Minute)

	nudges, err := f.svc.NudgeStuck(t.Context(), time.Second, 100)
	require.NoError(t, err)
	assert.Len(t, nudges, 1)
	assert.Equal(t, []apptest.Published{{Event: orderPlaced, CorrelationID: "corr-place"}}, f.events.Published())
	assert.Empty(t, unpublished(f.stored(t, "order-1")))
}
