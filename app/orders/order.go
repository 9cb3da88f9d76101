package orders

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
	"github.com/orderflow/orderflow/messages"
)

// Status is where an order is in its lifecycle.
type Status string

// The statuses of an order.
const (
	StatusPending        Status = messages.OrderStatusPending
	StatusConfirmed      Status = messages.OrderStatusConfirmed
	StatusRejected       Status = messages.OrderStatusRejected
	StatusCancelled      Status = messages.OrderStatusCancelled
	StatusShipped        Status = messages.OrderStatusShipped
	StatusDelivered      Status = messages.OrderStatusDelivered
	StatusDeliveryFailed Status = messages.OrderStatusDeliveryFailed
)

// ValidStatus reports whether s names a status (messages.ValidOrderStatus).
func ValidStatus(s string) bool { return messages.ValidOrderStatus(s) }

// Errors callers branch on.
var (
	ErrNotFound       = errors.New("order not found")
	ErrNotCancellable = errors.New("order can no longer be cancelled")
	ErrInvalidOrder   = fmt.Errorf("%w: invalid order", messages.ErrInvalid)
)

// Item is one line of an order.
type Item struct {
	SKU      string
	Quantity int
}

// Change is one entry of an order's history. Published records whether the
// event of this change has been published: the history is the order's outbox,
// kept in the same document as the state it describes, so a crash between
// saving and publishing is finished by whichever message touches the order next.
type Change struct {
	Status        Status
	At            time.Time
	Reason        string
	CorrelationID string
	Published     bool
}

// Order is the aggregate of the orders service.
type Order struct {
	ID         string
	CustomerID string
	Items      []Item
	Status     Status
	Reason     string
	History    []Change
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// ShipmentScheduled records that delivery announced the order's shipment
	// (ShipmentScheduled). It is no status and no history entry.
	ShipmentScheduled bool
	// StockSettled records that inventory announced the end of the order's
	// reservation (StockCommitted, StockReleased, or StockReservationFailed):
	// a DELIVERED, CANCELLED or DELIVERY_FAILED order waits for it, so that no
	// stock stays held for an order that is over. No status, no history entry.
	StockSettled bool
	// AwaitingSince is when the order began to wait for another service to
	// move it on (see Awaiting), moved to the time of each nudge; zero when
	// nothing is awaited. The saga sweeper re-sends what moves an order on
	// once it has waited too long (NudgeStuck).
	AwaitingSince time.Time
	// Nudges counts the nudges since the order began its current wait.
	Nudges int
	// Revision counts the changes made to the order; stores use it for
	// optimistic concurrency and skip writing an order whose revision did not move.
	Revision int64
}

// IsNew reports whether the order has not been placed yet (a store hands a
// fresh Order with only its ID to an update of a missing order).
func (o *Order) IsNew() bool { return o.Revision == 0 }

// ValidateItems checks an order's customer and lines against the contract's
// rules (messages.CheckCustomerID, messages.CheckItems); the error names the
// first field that breaks one.
func ValidateItems(customerID string, items []Item) error {
	if d := messages.CheckCustomerID(customerID); d != "" {
		return fmt.Errorf("%w: customer_id %s", ErrInvalidOrder, d)
	}
	if v := messages.CheckItems(items, itemFields); len(v) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidOrder, v[0])
	}
	return nil
}

func itemFields(it Item) (string, int) { return it.SKU, it.Quantity }

// Place makes a new order PENDING.
func (o *Order) Place(customerID string, items []Item, now time.Time, correlationID string) error {
	if !o.IsNew() {
		return fmt.Errorf("order %s is already placed", o.ID)
	}
	if err := ValidateItems(customerID, items); err != nil {
		return err
	}
	o.CustomerID = customerID
	o.Items = slices.Clone(items)
	o.CreatedAt = now
	o.record(StatusPending, now, "", correlationID)
	return nil
}

// SameAs reports whether the order was placed with these contents: a PlaceOrder
// delivered again is a duplicate, one with other contents is a conflict.
func (o *Order) SameAs(customerID string, items []Item) bool {
	return o.CustomerID == customerID && slices.Equal(o.Items, items)
}

// Confirm records that stock is reserved. Only a PENDING order moves; in any other
// status the reservation is late or repeated and changes nothing (a cancelled
// order's stock is released by inventory, which saw the cancellation too).
func (o *Order) Confirm(now time.Time, correlationID string) {
	if o.Status == StatusPending {
		o.record(StatusConfirmed, now, "", correlationID)
	}
}

// Reject records that stock could not be reserved.
func (o *Order) Reject(reason string, now time.Time, correlationID string) {
	if o.Status == StatusPending {
		o.Reason = reason
		o.record(StatusRejected, now, reason, correlationID)
	}
}

// Cancel cancels a PENDING or CONFIRMED order. Cancelling a cancelled order
// again changes nothing and is no error.
func (o *Order) Cancel(reason string, now time.Time, correlationID string) error {
	switch o.Status {
	case StatusCancelled:
		return nil
	case StatusPending, StatusConfirmed:
		o.Reason = reason
		o.record(StatusCancelled, now, reason, correlationID)
		return nil
	default:
		return fmt.Errorf("%w: it is %s", ErrNotCancellable, o.Status)
	}
}

// MarkShipped records that the shipment was dispatched at the given time.
func (o *Order) MarkShipped(at time.Time, correlationID string) {
	if o.Status == StatusConfirmed {
		o.record(StatusShipped, at, "", correlationID)
	}
}

// MarkDelivered records the delivery. Events may arrive out of order: a
// delivery seen before its dispatch records the dispatch first.
func (o *Order) MarkDelivered(dispatchedAt, at time.Time, correlationID string) {
	o.MarkShipped(dispatchedAt, correlationID)
	if o.Status == StatusShipped {
		o.record(StatusDelivered, at, "", correlationID)
	}
}

// MarkDeliveryFailed records a failed delivery, recording the dispatch first if it was missed.
func (o *Order) MarkDeliveryFailed(reason string, dispatchedAt, at time.Time, correlationID string) {
	o.MarkShipped(dispatchedAt, correlationID)
	if o.Status == StatusShipped {
		o.Reason = reason
		o.record(StatusDeliveryFailed, at, reason, correlationID)
	}
}

// MarkShipmentScheduled records that the order's shipment is scheduled.
// Repeating it changes nothing.
func (o *Order) MarkShipmentScheduled() {
	if o.ShipmentScheduled {
		return
	}
	o.ShipmentScheduled = true
	o.Revision++
}

// MarkStockSettled records that inventory has committed or released the
// order's stock (or never held any). Repeating it changes nothing.
func (o *Order) MarkStockSettled() {
	if o.StockSettled {
		return
	}
	o.StockSettled = true
	if !o.Awaiting() {
		o.AwaitingSince, o.Nudges = time.Time{}, 0
	}
	o.Revision++
}

// Awaiting reports whether the order waits for another service to move it on,
// or to finish what its end asks of it:
//   - PENDING: inventory's decision;
//   - CONFIRMED and SHIPPED: delivery's next step (the shipment's scheduling,
//     dispatch, delivery; with a manual courier this wait is the courier's);
//   - DELIVERED, CANCELLED, DELIVERY_FAILED: inventory committing or releasing
//     the stock, until it says so;
//   - REJECTED: nothing (inventory decided it and holds nothing).
func (o *Order) Awaiting() bool {
	switch o.Status {
	case StatusPending, StatusConfirmed, StatusShipped:
		return true
	case StatusDelivered, StatusCancelled, StatusDeliveryFailed:
		return !o.StockSettled
	}
	return false
}

// Nudged records that the message moving the order on was sent again at now:
// the next nudge is due a whole stuck-after later.
func (o *Order) Nudged(now time.Time) {
	if !o.Awaiting() {
		return
	}
	o.AwaitingSince = now
	o.Nudges++
	o.Revision++
}

// AwaitedChange returns the change whose event, sent again, moves the order
// on, and false when the order waits for nothing. It is the change of the
// order's status, except for SHIPPED: its OrderConfirmed, which delivery
// answers, for a shipment it has, with the shipment's latest step.
func (o *Order) AwaitedChange() (Change, bool) {
	if !o.Awaiting() {
		return Change{}, false
	}
	want := o.Status
	if want == StatusShipped {
		want = StatusConfirmed
	}
	for i := len(o.History) - 1; i >= 0; i-- {
		if o.History[i].Status == want {
			return o.History[i], true
		}
	}
	return Change{}, false
}

func (o *Order) record(status Status, at time.Time, reason, correlationID string) {
	o.Status = status
	o.History = append(o.History, Change{Status: status, At: at, Reason: reason, CorrelationID: correlationID})
	if at.After(o.UpdatedAt) {
		o.UpdatedAt = at
	}
	o.AwaitingSince, o.Nudges = time.Time{}, 0
	if o.Awaiting() {
		o.AwaitingSince = at
	}
	o.Revision++
}

// Unpublished returns the changes whose events are not published yet, oldest first.
func (o *Order) Unpublished() []Change {
	return outbox.Pending(o.History, func(c Change) bool { return c.Published })
}

// UnpublishedSince returns when the oldest change whose event is not published
// yet was made, or the zero time when every event is published.
func (o *Order) UnpublishedSince() time.Time {
	return outbox.OldestPending(o.History, func(c Change) bool { return c.Published }, func(c Change) time.Time { return c.At })
}

// MarkPublished records that the events of the first n changes are published.
func (o *Order) MarkPublished(n int) {
	if outbox.MarkFirst(o.History, n, func(c *Change) *bool { return &c.Published }) {
		o.Revision++
	}
}

// Clone returns a deep copy of the order.
func (o Order) Clone() Order {
	o.Items = slices.Clone(o.Items)
	o.History = slices.Clone(o.History)
	return o
}
