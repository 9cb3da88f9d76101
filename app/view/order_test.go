package view_test

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/infra/memory"
	"github.com/orderflow/orderflow/messages"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// facts are the events of one order's life, each a merge into its document.
func facts() []func(*view.Order) {
	src := view.Source{CorrelationID: "corr-1"}
	return []func(*view.Order){
		func(o *view.Order) {
			o.Place("c-1", []messages.Item{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}}, t0, src)
		},
		func(o *view.Order) {
			o.RecordReservation(view.ReservationHeld, []messages.Item{{SKU: "B", Quantity: 2}, {SKU: "A", Quantity: 1}}, nil)
			o.AddStep(view.Step{Step: "stock_held", Service: view.ServiceInventory, SKU: "A", At: t0.Add(time.Millisecond)})
			o.AddStep(view.Step{Step: "stock_held", Service: view.ServiceInventory, SKU: "B", At: t0.Add(time.Millisecond)})
		},
		func(o *view.Order) {
			o.RecordStatus(messages.StatusEntry{Status: messages.OrderStatusConfirmed, At: t0.Add(2 * time.Millisecond), CorrelationID: "corr-1"})
			o.AddStep(view.Step{Step: "confirmed", Service: view.ServiceOrders, At: t0.Add(2 * time.Millisecond)})
		},
		func(o *view.Order) {
			o.RecordShipmentStatus(messages.StatusEntry{Status: messages.ShipmentStatusScheduled, At: t0.Add(3 * time.Millisecond)})
		},
		func(o *view.Order) {
			// ShipmentDelivered carries its dispatch.
			o.RecordShipmentStatus(messages.StatusEntry{Status: messages.ShipmentStatusDispatched, At: t0.Add(4 * time.Millisecond)})
			o.RecordShipmentStatus(messages.StatusEntry{Status: messages.ShipmentStatusDelivered, At: t0.Add(5 * time.Millisecond)})
		},
		func(o *view.Order) {
			o.RecordStatus(messages.StatusEntry{Status: messages.OrderStatusShipped, At: t0.Add(4 * time.Millisecond), CorrelationID: "corr-2"})
		},
		func(o *view.Order) {
			o.RecordStatus(messages.StatusEntry{Status: messages.OrderStatusDelivered, At: t0.Add(6 * time.Millisecond), CorrelationID: "corr-3"})
		},
		func(o *view.Order) {
			o.RecordReservation(view.ReservationCommitted, nil, nil)
			o.AddStep(view.Step{Step: "stock_committed", Service: view.ServiceInventory, At: t0.Add(7 * time.Millisecond)})
		},
	}
}

func apply(order []int, repeat bool) view.Order {
	o := view.Order{ID: "o-1"}
	fs := facts()
	for _, i := range order {
		fs[i](&o)
		if repeat {
			fs[i](&o) // a redelivery
		}
	}
	return o
}

func TestMergesConvergeInAnyOrderAndRepeated(t *testing.T) {
	t.Parallel()
	inOrder := []int{0, 1, 2, 3, 4, 5, 6, 7}
	want := apply(inOrder, false)
	require.Equal(t, messages.OrderStatusDelivered, want.Status)
	require.Equal(t, view.ReservationCommitted, want.Reservation.Status)
	require.Equal(t, messages.ShipmentStatusDelivered, want.Shipment.Status)
	require.Equal(t, []messages.Item{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}}, want.Reservation.Held)
	var statuses []string
	for _, e := range want.History {
		statuses = append(statuses, e.Status)
	}
	assert.Equal(t, []string{"PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"}, statuses)
	assert.Equal(t, t0.Add(6*time.Millisecond), want.UpdatedAt)

	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		order := append([]int(nil), inOrder...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		got := apply(order, rng.IntN(2) == 0)
		assert.True(t, want.Same(&got), "order %v gives\n%+v\nnot\n%+v", order, got, want)
	}
}

func TestTimelineIsInCausalOrderAndDeduplicated(t *testing.T) {
	t.Parallel()
	o := apply([]int{7, 2, 1, 0, 1, 2}, false)
	var steps []string
	for _, s := range o.Timeline {
		steps = append(steps, s.Step+"/"+s.Service+"/"+s.SKU)
	}
	assert.Equal(t, []string{"placed/orders/", "stock_held/inventory/A", "stock_held/inventory/B", "confirmed/orders/", "stock_committed/inventory/"}, steps)
}

func TestAStatusKeepsItsFirstTime(t *testing.T) {
	t.Parallel()
	o := view.Order{ID: "o-1"}
	o.Place("c-1", []messages.Item{{SKU: "A", Quantity: 1}}, t0, view.Source{})
	late := messages.StatusEntry{Status: messages.OrderStatusRejected, At: t0.Add(time.Second), Reason: "again"}
	first := messages.StatusEntry{Status: messages.OrderStatusRejected, At: t0.Add(time.Millisecond), Reason: "insufficient_stock"}
	o.RecordStatus(late)
	o.RecordStatus(first)
	o.RecordStatus(late)
	require.Len(t, o.History, 2)
	assert.Equal(t, "insufficient_stock", o.Reason)
	assert.Equal(t, messages.OrderStatusRejected, o.Status)
}

// stored is the revision of the order as st holds it.
func stored(t *testing.T, st *memory.ViewStore, id string) int64 {
	t.Helper()
	o, err := st.GetOrder(t.Context(), id)
	require.NoError(t, err)
	return o.Revision
}

func TestService(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, s *view.Service, st *memory.ViewStore)
	}{
		{name: "an order is found only once placed", run: func(t *testing.T, s *view.Service, st *memory.ViewStore) {
			require.NoError(t, s.StockReserved(t.Context(), messages.StockReserved{OrderID: "o-1", Items: []messages.Item{{SKU: "A", Quantity: 1}}, OccurredAt: t0}, view.Source{}))
			_, err := s.Order(t.Context(), "o-1")
			require.ErrorIs(t, err, view.ErrNotFound)
			require.NoError(t, s.OrderPlaced(t.Context(), messages.OrderPlaced{OrderID: "o-1", CustomerID: "c", Items: []messages.Item{{SKU: "A", Quantity: 1}}, OccurredAt: t0}, view.Source{CorrelationID: "x"}))
			o, err := s.Order(t.Context(), "o-1")
			require.NoError(t, err)
			assert.Equal(t, view.ReservationHeld, o.Reservation.Status)
			assert.Equal(t, int64(2), o.Revision)
		}},
		{name: "a repeated event changes nothing", run: func(t *testing.T, s *view.Service, st *memory.ViewStore) {
			e := messages.OrderPlaced{OrderID: "o-1", CustomerID: "c", Items: []messages.Item{{SKU: "A", Quantity: 1}}, OccurredAt: t0}
			require.NoError(t, s.OrderPlaced(t.Context(), e, view.Source{}))
			require.NoError(t, s.OrderPlaced(t.Context(), e, view.Source{}))
			assert.Equal(t, int64(1), stored(t, st, "o-1"))
		}},
		{name: "malformed events are invalid", run: func(t *testing.T, s *view.Service, _ *memory.ViewStore) {
			require.ErrorIs(t, s.OrderPlaced(t.Context(), messages.OrderPlaced{OrderID: "o-1"}, view.Source{}), messages.ErrInvalid)
			require.ErrorIs(t, s.OrderStatus(t.Context(), "", messages.OrderStatusConfirmed, "", t0, view.Source{}), messages.ErrInvalid)
			require.ErrorIs(t, s.OrderStatus(t.Context(), "o-1", "NOPE", "", t0, view.Source{}), messages.ErrInvalid)
			require.ErrorIs(t, s.StockLevel(t.Context(), messages.StockLevel{SKU: "bad sku!", Revision: 1}, t0), messages.ErrInvalid)
			require.ErrorIs(t, s.StockLevel(t.Context(), messages.StockLevel{SKU: "A"}, t0), messages.ErrInvalid)
		}},
		{name: "an older stock level never replaces a newer one", run: func(t *testing.T, s *view.Service, _ *memory.ViewStore) {
			require.NoError(t, s.StockLevel(t.Context(), messages.StockLevel{SKU: "A", OnHand: 5, Available: 5, Revision: 3}, t0))
			require.NoError(t, s.StockLevel(t.Context(), messages.StockLevel{SKU: "A", OnHand: 9, Available: 9, Revision: 2}, t0))
			l, err := s.Stock(t.Context(), "A")
			require.NoError(t, err)
			assert.Equal(t, 5, l.OnHand)
			require.NoError(t, s.StockLevel(t.Context(), messages.StockLevel{SKU: "A", OnHand: 7, Available: 6, Reserved: 1, Revision: 4}, t0))
			l, err = s.Stock(t.Context(), "A")
			require.NoError(t, err)
			assert.Equal(t, messages.StockLevel{SKU: "A", OnHand: 7, Reserved: 1, Available: 6, Revision: 4}, l.Message())
		}},
		{name: "a reply's order merges like its events", run: func(t *testing.T, s *view.Service, _ *memory.ViewStore) {
			m := messages.Order{OrderID: "o-1", CustomerID: "c", Items: []messages.Item{{SKU: "A", Quantity: 1}}, Status: messages.OrderStatusPending,
				History: []messages.StatusEntry{{Status: messages.OrderStatusPending, At: t0, CorrelationID: "corr"}}, CreatedAt: t0, UpdatedAt: t0}
			require.NoError(t, s.MergeOrder(t.Context(), m, view.Source{}))
			require.NoError(t, s.OrderPlaced(t.Context(), messages.OrderPlaced{OrderID: "o-1", CustomerID: "c", Items: m.Items, OccurredAt: t0}, view.Source{CorrelationID: "corr"}))
			o, err := s.Order(t.Context(), "o-1")
			require.NoError(t, err)
			assert.Equal(t, m, o.Message())
			assert.Len(t, o.Timeline, 1)
		}},
		{name: "a retry is a step, told once however often its notice comes", run: func(t *testing.T, s *view.Service, st *memory.ViewStore) {
			retried := func(attempt int, at time.Time) messages.MessageRetried {
				return messages.MessageRetried{Service: view.ServiceInventory, Topic: messages.TopicOrderEvents, Handler: "inventory.order_events",
					MessageUUID: "m-1", OrderID: "o-1", Attempt: attempt, Class: "unknown", Error: "store odd", DelayMS: 50, OccurredAt: at}
			}
			// Told before the order's placement reaches the view: kept, and not found until placed.
			require.NoError(t, s.Retried(t.Context(), retried(1, t0.Add(time.Millisecond)), view.Source{CorrelationID: "corr", TraceID: "trace-1"}))
			_, err := s.Order(t.Context(), "o-1")
			require.ErrorIs(t, err, view.ErrNotFound)

			require.NoError(t, s.OrderPlaced(t.Context(), messages.OrderPlaced{OrderID: "o-1", CustomerID: "c", Items: []messages.Item{{SKU: "A", Quantity: 1}}, OccurredAt: t0}, view.Source{CorrelationID: "corr"}))
			require.NoError(t, s.StockReserved(t.Context(), messages.StockReserved{OrderID: "o-1", Items: []messages.Item{{SKU: "A", Quantity: 1}}, OccurredAt: t0.Add(3 * time.Millisecond)}, view.Source{}))
			// Out of order and repeated: attempt 2 first, each notice twice.
			for _, e := range []messages.MessageRetried{retried(2, t0.Add(2*time.Millisecond)), retried(1, t0.Add(time.Millisecond)), retried(2, t0.Add(2*time.Millisecond)), retried(1, t0.Add(time.Millisecond))} {
				require.NoError(t, s.Retried(t.Context(), e, view.Source{CorrelationID: "corr", TraceID: "trace-1"}))
			}
			rev := stored(t, st, "o-1")
			require.NoError(t, s.Retried(t.Context(), retried(1, t0.Add(time.Millisecond)), view.Source{CorrelationID: "corr", TraceID: "trace-1"}))
			assert.Equal(t, rev, stored(t, st, "o-1"), "a redelivered notice changes nothing")
			// Another service's retry of the same message and attempt is a step of its own.
			other := retried(1, t0.Add(4*time.Millisecond))
			other.Service, other.Handler = view.ServiceDelivery, "delivery.order_events"
			require.NoError(t, s.Retried(t.Context(), other, view.Source{}))

			o, err := s.Order(t.Context(), "o-1")
			require.NoError(t, err)
			var steps []string
			for _, step := range o.Timeline {
				steps = append(steps, step.Step+"/"+step.Service)
			}
			assert.Equal(t, []string{"placed/orders", "retried/inventory", "retried/inventory", "stock_held/inventory", "retried/delivery"}, steps)
			assert.Equal(t, "corr", o.Timeline[1].CorrelationID)
			assert.Equal(t, "trace-1", o.Timeline[1].TraceID)
			assert.Equal(t, "attempt 1 (unknown) of inventory.order_events on orders.events: store odd", o.Timeline[1].Detail)
			assert.Contains(t, o.Timeline[2].Detail, "attempt 2")
		}},
		{name: "retries at one instant come in attempt order, before the poisoning", run: func(t *testing.T, s *view.Service, _ *memory.ViewStore) {
			require.NoError(t, s.OrderPlaced(t.Context(), messages.OrderPlaced{OrderID: "o-1", CustomerID: "c", Items: []messages.Item{{SKU: "A", Quantity: 1}}, OccurredAt: t0}, view.Source{}))
			at := t0.Add(time.Second)
			require.NoError(t, s.Poisoned(t.Context(), "o-1", view.ServiceInventory, "OrderPlaced", "odd", "m-1", at, view.Source{}))
			for _, attempt := range []int{16, 2, 1, 8, 4} {
				require.NoError(t, s.Retried(t.Context(), messages.MessageRetried{Service: view.ServiceInventory, Handler: "h", MessageUUID: "m-1",
					OrderID: "o-1", Attempt: attempt, Class: "unknown", OccurredAt: at}, view.Source{}))
			}
			o, err := s.Order(t.Context(), "o-1")
			require.NoError(t, err)
			var steps []string
			for _, step := range o.Timeline {
				steps = append(steps, step.Step+"/"+strings.SplitN(step.Detail, " (", 2)[0])
			}
			assert.Equal(t, []string{"placed/", "retried/attempt 1", "retried/attempt 2", "retried/attempt 4", "retried/attempt 8", "retried/attempt 16", "poisoned/OrderPlaced: odd"}, steps)
		}},
		{name: "a poisoning of an order the view does not hold stores nothing", run: func(t *testing.T, s *view.Service, st *memory.ViewStore) {
			require.NoError(t, s.Poisoned(t.Context(), "o-9", view.ServiceInventory, "StockLevelChanged", "odd", "m-1", t0, view.Source{}))
			_, err := st.GetOrder(t.Context(), "o-9")
			require.ErrorIs(t, err, view.ErrNotFound)
		}},
		{name: "a shipment is found once known", run: func(t *testing.T, s *view.Service, _ *memory.ViewStore) {
			_, err := s.Shipment(t.Context(), "o-1")
			require.ErrorIs(t, err, view.ErrNotFound)
			require.NoError(t, s.ShipmentStatus(t.Context(), "o-1", messages.ShipmentStatusFailed, "nobody home", t0, t0.Add(time.Second), view.Source{}))
			sh, err := s.Shipment(t.Context(), "o-1")
			require.NoError(t, err)
			assert.Equal(t, messages.ShipmentStatusFailed, sh.Status)
			assert.Len(t, sh.History, 2, "the dispatch it carries is recorded")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := memory.NewViewStore()
			tc.run(t, view.NewService(st, nil), st)
		})
	}
}

// Same must look at every field but Revision: a field added to Order without
// a line in Same would make the view drop the changes of it.
func TestSameSeesEveryField(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	base := view.Order{ID: "o-1", CustomerID: "c-1", Items: []messages.Item{{SKU: "SKU-1", Quantity: 1}}, Placed: true,
		Status: "PENDING", History: []messages.StatusEntry{{Status: "PENDING", At: at}}, CreatedAt: at, UpdatedAt: at,
		Reservation: view.Reservation{Status: view.ReservationHeld, Held: []messages.Item{{SKU: "SKU-1", Quantity: 1}}},
		Shipment:    view.Shipment{Status: "SCHEDULED", History: []messages.StatusEntry{{Status: "SCHEDULED", At: at}}},
		Timeline:    []view.Step{{Step: "placed", Service: view.ServiceOrders, At: at}}}
	changes := map[string]func(o *view.Order){
		"ID":          func(o *view.Order) { o.ID = "o-2" },
		"CustomerID":  func(o *view.Order) { o.CustomerID = "c-2" },
		"Items":       func(o *view.Order) { o.Items[0].Quantity = 2 },
		"Placed":      func(o *view.Order) { o.Placed = false },
		"Status":      func(o *view.Order) { o.Status = "CONFIRMED" },
		"Reason":      func(o *view.Order) { o.Reason = "why" },
		"History":     func(o *view.Order) { o.History[0].CorrelationID = "corr" },
		"CreatedAt":   func(o *view.Order) { o.CreatedAt = at.Add(time.Second) },
		"UpdatedAt":   func(o *view.Order) { o.UpdatedAt = at.Add(time.Second) },
		"Reservation": func(o *view.Order) { o.Reservation.Failures = []messages.LineFailure{{SKU: "SKU-1"}} },
		"Shipment":    func(o *view.Order) { o.Shipment.History[0].Reason = "why" },
		"Timeline":    func(o *view.Order) { o.Timeline[0].TraceID = "trace" },
	}
	fields := reflect.TypeFor[view.Order]().NumField()
	require.Len(t, changes, fields-1, "a change for every field of view.Order but Revision")
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := base.Clone()
			change(&o)
			assert.False(t, base.Same(&o), "a change of %s is no change", name)
		})
	}
	same := base.Clone()
	same.Revision = 7
	assert.True(t, base.Same(&same), "the revision is no fact")
}
