package view

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/app/paging"
	"github.com/orderflow/orderflow/messages"
)

// ErrBadCursor is returned for a list cursor the view did not hand out.
var ErrBadCursor = paging.ErrBadCursor

// Service feeds the view and answers its queries.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service on store; now may be nil for time.Now.
func NewService(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// apply merges a fact into the order's document, saving it only if it changed.
func (s *Service) apply(ctx context.Context, orderID string, fn func(*Order)) error {
	if orderID == "" {
		return fmt.Errorf("%w: no order id", messages.ErrInvalid)
	}
	err := s.store.UpdateOrder(ctx, orderID, func(o *Order) error {
		before := o.Clone()
		fn(o)
		if !o.Same(&before) {
			o.Revision++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("view of order %s: %w", orderID, err)
	}
	return nil
}

// OrderPlaced records a placed order.
func (s *Service) OrderPlaced(ctx context.Context, e messages.OrderPlaced, src Source) error {
	if e.CustomerID == "" || len(e.Items) == 0 {
		return fmt.Errorf("%w: OrderPlaced without customer or items", messages.ErrInvalid)
	}
	return s.apply(ctx, e.OrderID, func(o *Order) { o.Place(e.CustomerID, e.Items, e.OccurredAt, src) })
}

// orderSteps names the timeline step of each order status.
var orderSteps = map[string]string{
	messages.OrderStatusConfirmed:      "confirmed",
	messages.OrderStatusRejected:       "rejected",
	messages.OrderStatusCancelled:      "cancelled",
	messages.OrderStatusShipped:        "shipped",
	messages.OrderStatusDelivered:      "delivered",
	messages.OrderStatusDeliveryFailed: "delivery_failed",
}

// OrderStatus records a change of the order's status (any but PENDING, which
// comes with OrderPlaced).
func (s *Service) OrderStatus(ctx context.Context, orderID, status, reason string, at time.Time, src Source) error {
	step, ok := orderSteps[status]
	if !ok {
		return fmt.Errorf("%w: order status %q", messages.ErrInvalid, status)
	}
	return s.apply(ctx, orderID, func(o *Order) {
		o.RecordStatus(messages.StatusEntry{Status: status, At: at, Reason: reason, CorrelationID: src.CorrelationID})
		o.AddStep(Step{Step: step, Service: ServiceOrders, At: at, CorrelationID: src.CorrelationID, TraceID: src.TraceID, Detail: reason})
	})
}

// StockReserved records the stock held for every line of the order.
func (s *Service) StockReserved(ctx context.Context, e messages.StockReserved, src Source) error {
	return s.apply(ctx, e.OrderID, func(o *Order) {
		o.RecordReservation(ReservationHeld, e.Items, nil)
		for _, it := range e.Items {
			o.AddStep(Step{Step: "stock_held", Service: ServiceInventory, SKU: it.SKU, At: e.OccurredAt,
				CorrelationID: src.CorrelationID, TraceID: src.TraceID, Detail: fmt.Sprintf("%d × %s held", it.Quantity, it.SKU)})
		}
	})
}

// StockReservationFailed records the lines that could not be reserved.
func (s *Service) StockReservationFailed(ctx context.Context, e messages.StockReservationFailed, src Source) error {
	return s.apply(ctx, e.OrderID, func(o *Order) {
		o.RecordReservation(ReservationRefused, nil, e.Failures)
		for _, f := range e.Failures {
			o.AddStep(Step{Step: "stock_refused", Service: ServiceInventory, SKU: f.SKU, At: e.OccurredAt,
				CorrelationID: src.CorrelationID, TraceID: src.TraceID,
				Detail: fmt.Sprintf("%s: %s (requested %d, available %d)", f.SKU, f.Reason, f.Requested, f.Available)})
		}
	})
}

// StockSettled records the end of the order's reservation: released or committed.
func (s *Service) StockSettled(ctx context.Context, orderID, status string, at time.Time, src Source) error {
	step := map[string]string{ReservationReleased: "stock_released", ReservationCommitted: "stock_committed"}[status]
	if step == "" {
		return fmt.Errorf("%w: reservation status %q", messages.ErrInvalid, status)
	}
	return s.apply(ctx, orderID, func(o *Order) {
		o.RecordReservation(status, nil, nil)
		o.AddStep(Step{Step: step, Service: ServiceInventory, At: at, CorrelationID: src.CorrelationID, TraceID: src.TraceID})
	})
}

// shipmentSteps names the timeline step of each shipment status.
var shipmentSteps = map[string]string{
	messages.ShipmentStatusScheduled:  "shipment_scheduled",
	messages.ShipmentStatusDispatched: "shipment_dispatched",
	messages.ShipmentStatusDelivered:  "shipment_delivered",
	messages.ShipmentStatusFailed:     "shipment_failed",
	messages.ShipmentStatusCancelled:  "shipment_cancelled",
}

// ShipmentStatus records a change of the order's shipment. dispatchedAt,
// when set, records a dispatch the view may have missed (ShipmentDelivered
// and ShipmentFailed carry it).
func (s *Service) ShipmentStatus(ctx context.Context, orderID, status, reason string, dispatchedAt, at time.Time, src Source) error {
	step, ok := shipmentSteps[status]
	if !ok {
		return fmt.Errorf("%w: shipment status %q", messages.ErrInvalid, status)
	}
	return s.apply(ctx, orderID, func(o *Order) {
		if !dispatchedAt.IsZero() {
			o.RecordShipmentStatus(messages.StatusEntry{Status: messages.ShipmentStatusDispatched, At: dispatchedAt, CorrelationID: src.CorrelationID})
		}
		o.RecordShipmentStatus(messages.StatusEntry{Status: status, At: at, Reason: reason, CorrelationID: src.CorrelationID})
		o.AddStep(Step{Step: step, Service: ServiceDelivery, At: at, CorrelationID: src.CorrelationID, TraceID: src.TraceID, Detail: reason})
	})
}

// MergeOrder merges an order as the orders service answered it (a reply to
// the gateway's command), so that the client reads its own write at once.
func (s *Service) MergeOrder(ctx context.Context, m messages.Order, src Source) error {
	return s.apply(ctx, m.OrderID, func(o *Order) {
		for _, e := range m.History {
			if e.Status == messages.OrderStatusPending {
				o.Place(m.CustomerID, m.Items, e.At, Source{CorrelationID: e.CorrelationID, TraceID: src.TraceID})
				continue
			}
			o.RecordStatus(e)
			if step, ok := orderSteps[e.Status]; ok {
				o.AddStep(Step{Step: step, Service: ServiceOrders, At: e.At, CorrelationID: e.CorrelationID, TraceID: src.TraceID, Detail: e.Reason})
			}
		}
	})
}

// MergeShipment merges a shipment as the delivery service answered it.
func (s *Service) MergeShipment(ctx context.Context, m messages.Shipment, src Source) error {
	return s.apply(ctx, m.OrderID, func(o *Order) {
		for _, e := range m.History {
			o.RecordShipmentStatus(e)
			if step, ok := shipmentSteps[e.Status]; ok {
				o.AddStep(Step{Step: step, Service: ServiceDelivery, At: e.At, CorrelationID: e.CorrelationID, TraceID: src.TraceID, Detail: e.Reason})
			}
		}
	})
}

// StockLevel records a SKU's stock level, unless the view holds a newer one.
func (s *Service) StockLevel(ctx context.Context, m messages.StockLevel, at time.Time) error {
	if !messages.ValidSKU(m.SKU) || m.Revision < 1 {
		return fmt.Errorf("%w: stock level of %.70q at revision %d", messages.ErrInvalid, m.SKU, m.Revision)
	}
	if at.IsZero() {
		at = s.now()
	}
	level := LevelFrom(m, at)
	_, err := s.store.UpdateStock(ctx, m.SKU, func(cur *StockLevel) error {
		if level.Newer(*cur) {
			*cur = level
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("view of stock %s: %w", m.SKU, err)
	}
	return nil
}

// Order returns a placed order, or ErrNotFound.
func (s *Service) Order(ctx context.Context, id string) (Order, error) {
	o, err := s.store.GetOrder(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if !o.Placed {
		return Order{}, ErrNotFound
	}
	return o, nil
}

// ListOrders is a page of placed orders, newest first.
type ListOrders struct {
	CustomerID string
	Status     string
	Limit      int
	Cursor     string
}

// Orders returns a page of orders; a cursor it did not hand out is ErrBadCursor.
func (s *Service) Orders(ctx context.Context, q ListOrders) (Page, error) {
	if q.Status != "" {
		if _, ok := orderRank[q.Status]; !ok {
			return Page{}, fmt.Errorf("%w: status %q", messages.ErrInvalid, q.Status)
		}
	}
	limit := paging.Limit(q.Limit)
	lq := ListQuery{CustomerID: q.CustomerID, Status: q.Status, Limit: limit + 1}
	if q.Cursor != "" {
		at, id, err := paging.Decode(q.Cursor)
		if err != nil {
			return Page{}, err
		}
		lq.After = &Cursor{CreatedAt: at, ID: id}
	}
	found, err := s.store.ListOrders(ctx, lq)
	if err != nil {
		return Page{}, fmt.Errorf("list orders: %w", err)
	}
	var page Page
	page.Orders, page.NextCursor = paging.Cut(found, limit, func(o *Order) (time.Time, string) { return o.CreatedAt, o.ID })
	return page, nil
}

// Stock returns the level of a SKU, or ErrNotFound.
func (s *Service) Stock(ctx context.Context, sku string) (StockLevel, error) {
	return s.store.GetStock(ctx, sku)
}

// AllStock returns every level, sorted by SKU.
func (s *Service) AllStock(ctx context.Context) ([]StockLevel, error) {
	return s.store.ListStock(ctx)
}

// IsNotFound reports whether err says the view has no such document.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Shipment returns the shipment of a placed order, or ErrNotFound while none is known.
func (s *Service) Shipment(ctx context.Context, orderID string) (messages.Shipment, error) {
	o, err := s.store.GetOrder(ctx, orderID)
	if err != nil {
		return messages.Shipment{}, err
	}
	sh, ok := o.ShipmentMessage()
	if !ok {
		return messages.Shipment{}, ErrNotFound
	}
	return sh, nil
}

// Poisoned records that a message about an order ended in a service's poison
// queue: a step of the order's timeline, if the view holds the order (a
// poisoned message keyed by something else, a SKU, names no order).
func (s *Service) Poisoned(ctx context.Context, orderID, service, message, reason, ref string, at time.Time, src Source) error {
	if orderID == "" || ref == "" {
		return nil
	}
	if at.IsZero() {
		at = s.now()
	}
	return s.apply(ctx, orderID, func(o *Order) {
		if o.Revision == 0 {
			return // not in the view: unchanged, so nothing is stored
		}
		o.AddStep(Step{Step: "poisoned", Service: service, Ref: ref, At: at, CorrelationID: src.CorrelationID, TraceID: src.TraceID,
			Detail: message + ": " + reason})
	})
}

// Retried records that a service retried a message about an order: a step
// "retried" of the order's timeline, one per service, handler, message and
// attempt (a notice told twice is one step). It is kept even before the
// order's placement reaches the view: a service may retry the OrderPlaced it
// got before the gateway's view did (notices name only orders, never SKUs).
func (s *Service) Retried(ctx context.Context, e messages.MessageRetried, src Source) error {
	if e.OrderID == "" || e.MessageUUID == "" || e.Attempt <= 0 {
		return nil
	}
	at := e.OccurredAt
	if at.IsZero() {
		at = s.now()
	}
	// The attempt is zero-padded so that, at one instant, attempts sort in order.
	ref := fmt.Sprintf("%s/%s/%06d", e.Handler, e.MessageUUID, e.Attempt)
	detail := fmt.Sprintf("attempt %d (%s) of %s on %s: %s", e.Attempt, e.Class, e.Handler, e.Topic, e.Error)
	return s.apply(ctx, e.OrderID, func(o *Order) {
		o.AddStep(Step{Step: "retried", Service: e.Service, Ref: ref, At: at, CorrelationID: src.CorrelationID, TraceID: src.TraceID, Detail: detail})
	})
}
