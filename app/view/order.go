package view

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// ErrNotFound is returned for an order or a SKU the view has not seen.
var ErrNotFound = errors.New("not in the view")

// Services that take the steps of an order, as named in its timeline.
const (
	ServiceGateway   = "gateway"
	ServiceOrders    = "orders"
	ServiceInventory = "inventory"
	ServiceDelivery  = "delivery"
)

// Reservation statuses, as the view shows them.
const (
	ReservationHeld      = "HELD"
	ReservationRefused   = "REFUSED"
	ReservationReleased  = "RELEASED"
	ReservationCommitted = "COMMITTED"
)

// Order is the view of one order. It may exist before its placement is seen
// (an inventory or delivery event that came first): Placed says whether it
// was, and only a placed order is answered by the queries.
type Order struct {
	ID          string
	CustomerID  string
	Items       []messages.Item
	Placed      bool
	Status      string
	Reason      string
	History     []messages.StatusEntry
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Reservation Reservation
	Shipment    Shipment
	Timeline    []Step
	// Revision counts the changes of the document, for the stores'
	// optimistic concurrency; it is no version of the order itself.
	Revision int64
}

// Reservation is the outcome of an order's stock reservation: empty Status
// while nothing is known.
type Reservation struct {
	Status   string
	Held     []messages.Item
	Failures []messages.LineFailure
}

// Shipment is the view of an order's shipment: empty Status while none is known.
type Shipment struct {
	Status  string
	History []messages.StatusEntry
}

// Step is one step of an order's timeline, whichever service took it.
type Step struct {
	// Step names what happened: placed, stock_held, confirmed, ...
	Step    string
	Service string
	// SKU is set on the steps taken per SKU (stock held or refused).
	SKU string
	// Ref tells apart steps that may happen more than once (a poisoning: the
	// UUID of the message poisoned; a retry: handler, message UUID and attempt).
	Ref           string
	At            time.Time
	CorrelationID string
	// TraceID is the trace of the message that told the view (empty until
	// messages carry one).
	TraceID string
	Detail  string
}

// key identifies a step: the same step told twice is one step.
func (s Step) key() string { return s.Step + "\x00" + s.Service + "\x00" + s.SKU + "\x00" + s.Ref }

// Source is where a fact comes from: the message's correlation and trace IDs.
type Source struct {
	CorrelationID string
	TraceID       string
}

// Clone returns a deep copy.
func (o Order) Clone() Order {
	o.Items = slices.Clone(o.Items)
	o.History = slices.Clone(o.History)
	o.Reservation.Held = slices.Clone(o.Reservation.Held)
	o.Reservation.Failures = slices.Clone(o.Reservation.Failures)
	o.Shipment.History = slices.Clone(o.Shipment.History)
	o.Timeline = slices.Clone(o.Timeline)
	return o
}

// orderRank is the place of each order status in the lifecycle: every order
// passes the ranks in this order, and reaches at most one status of each.
var orderRank = map[string]int{
	messages.OrderStatusPending:        0,
	messages.OrderStatusConfirmed:      1,
	messages.OrderStatusRejected:       1,
	messages.OrderStatusCancelled:      2,
	messages.OrderStatusShipped:        2,
	messages.OrderStatusDelivered:      3,
	messages.OrderStatusDeliveryFailed: 3,
}

// shipmentRank is orderRank for shipments.
var shipmentRank = map[string]int{
	messages.ShipmentStatusScheduled:  0,
	messages.ShipmentStatusDispatched: 1,
	messages.ShipmentStatusDelivered:  2,
	messages.ShipmentStatusFailed:     2,
	messages.ShipmentStatusCancelled:  2,
}

var reservationRank = map[string]int{
	ReservationHeld:      1,
	ReservationRefused:   1,
	ReservationReleased:  2,
	ReservationCommitted: 2,
}

// addStatus merges one status entry into a history kept as a set by status.
// Of two entries of one status the earlier wins (the first time it was
// reached), ties by correlation ID, so that the merge does not depend on the
// order of arrival. It returns the history ordered by rank, then time.
func addStatus(history []messages.StatusEntry, e messages.StatusEntry, rank map[string]int) []messages.StatusEntry {
	e.At = e.At.UTC()
	for i, cur := range history {
		if cur.Status != e.Status {
			continue
		}
		if earlier(e, cur) {
			history[i] = e
		}
		return history
	}
	history = append(history, e)
	slices.SortStableFunc(history, func(a, b messages.StatusEntry) int {
		if c := cmp.Compare(rank[a.Status], rank[b.Status]); c != 0 {
			return c
		}
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Status, b.Status)
	})
	return history
}

func earlier(a, b messages.StatusEntry) bool {
	if c := a.At.Compare(b.At); c != 0 {
		return c < 0
	}
	if a.CorrelationID != b.CorrelationID {
		return a.CorrelationID < b.CorrelationID
	}
	return a.Reason < b.Reason
}

// derive sets what follows from the history: the status (the last, highest
// ranked), the reason (that of the status), and the time of the last change.
func (o *Order) derive() {
	if len(o.History) == 0 {
		return
	}
	last := o.History[len(o.History)-1]
	o.Status, o.Reason = last.Status, last.Reason
	o.UpdatedAt = o.CreatedAt
	for _, e := range o.History {
		if e.At.After(o.UpdatedAt) {
			o.UpdatedAt = e.At
		}
	}
}

// Place records the order's placement: its customer, items and creation.
func (o *Order) Place(customerID string, items []messages.Item, at time.Time, src Source) {
	if !o.Placed || at.UTC().Before(o.CreatedAt) {
		o.CustomerID, o.Items, o.CreatedAt = customerID, slices.Clone(items), at.UTC()
	}
	o.Placed = true
	o.RecordStatus(messages.StatusEntry{Status: messages.OrderStatusPending, At: at, CorrelationID: src.CorrelationID})
	o.AddStep(Step{Step: "placed", Service: ServiceOrders, At: at, CorrelationID: src.CorrelationID, TraceID: src.TraceID})
}

// RecordStatus merges one status of the order.
func (o *Order) RecordStatus(e messages.StatusEntry) {
	if _, ok := orderRank[e.Status]; !ok {
		return
	}
	o.History = addStatus(o.History, e, orderRank)
	o.derive()
}

// RecordShipmentStatus merges one status of the order's shipment.
func (o *Order) RecordShipmentStatus(e messages.StatusEntry) {
	if _, ok := shipmentRank[e.Status]; !ok {
		return
	}
	o.Shipment.History = addStatus(o.Shipment.History, e, shipmentRank)
	o.Shipment.Status = o.Shipment.History[len(o.Shipment.History)-1].Status
}

// RecordReservation merges a fact about the order's reservation: held lines,
// refused lines, or its end (released, committed).
func (o *Order) RecordReservation(status string, held []messages.Item, failures []messages.LineFailure) {
	r := &o.Reservation
	if len(held) > 0 && len(r.Held) == 0 {
		r.Held = slices.Clone(held)
		slices.SortFunc(r.Held, func(a, b messages.Item) int { return strings.Compare(a.SKU, b.SKU) })
	}
	if len(failures) > 0 && len(r.Failures) == 0 {
		r.Failures = slices.Clone(failures)
		slices.SortFunc(r.Failures, func(a, b messages.LineFailure) int { return strings.Compare(a.SKU, b.SKU) })
	}
	cur, known := reservationRank[r.Status]
	next, ok := reservationRank[status]
	if ok && (!known || next > cur || (next == cur && status < r.Status)) {
		r.Status = status
	}
}

// stepRank orders steps taken at the same instant by their place in an
// order's life (a reservation is taken after the placement it answers).
var stepRank = map[string]int{
	"placed": 0, "stock_held": 1, "stock_refused": 1, "confirmed": 2, "rejected": 2,
	"cancelled": 3, "shipment_scheduled": 3, "shipment_dispatched": 4, "shipped": 5,
	"shipment_delivered": 6, "shipment_failed": 6, "shipment_cancelled": 6,
	"delivered": 7, "delivery_failed": 7, "stock_committed": 8, "stock_released": 8,
	// A retry, then the poisoning of the message that outlived its retries.
	"retried": 9, "poisoned": 10,
}

// AddStep merges one step into the timeline, a set keyed by step, service and
// SKU (of one step told twice the earlier is kept), in causal order: by time,
// then by the step's place in an order's life.
func (o *Order) AddStep(s Step) {
	s.At = s.At.UTC()
	for i, cur := range o.Timeline {
		if cur.key() != s.key() {
			continue
		}
		if s.At.Before(cur.At) || (s.At.Equal(cur.At) && s.CorrelationID < cur.CorrelationID) {
			o.Timeline[i] = s
		}
		return
	}
	o.Timeline = append(o.Timeline, s)
	slices.SortStableFunc(o.Timeline, func(a, b Step) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if c := cmp.Compare(stepRank[a.Step], stepRank[b.Step]); c != 0 {
			return c
		}
		return strings.Compare(a.key(), b.key())
	})
}

// Same reports whether two documents hold the same facts (Revision aside).
// It compares field by field (reflect.DeepEqual cost two copies of the
// document on the heap for every event the view applied); a nil and an empty
// slice are the same here, as nothing tells them apart once stored.
func (o *Order) Same(other *Order) bool {
	return o.ID == other.ID && o.CustomerID == other.CustomerID && o.Placed == other.Placed &&
		o.Status == other.Status && o.Reason == other.Reason &&
		o.CreatedAt.Equal(other.CreatedAt) && o.UpdatedAt.Equal(other.UpdatedAt) &&
		slices.Equal(o.Items, other.Items) && slices.EqualFunc(o.History, other.History, sameEntry) &&
		o.Reservation.Status == other.Reservation.Status &&
		slices.Equal(o.Reservation.Held, other.Reservation.Held) &&
		slices.Equal(o.Reservation.Failures, other.Reservation.Failures) &&
		o.Shipment.Status == other.Shipment.Status &&
		slices.EqualFunc(o.Shipment.History, other.Shipment.History, sameEntry) &&
		slices.EqualFunc(o.Timeline, other.Timeline, func(a, b Step) bool {
			return a.Step == b.Step && a.Service == b.Service && a.SKU == b.SKU && a.Ref == b.Ref &&
				a.At.Equal(b.At) && a.CorrelationID == b.CorrelationID && a.TraceID == b.TraceID && a.Detail == b.Detail
		})
}

func sameEntry(a, b messages.StatusEntry) bool {
	return a.Status == b.Status && a.At.Equal(b.At) && a.Reason == b.Reason && a.CorrelationID == b.CorrelationID
}

// Message is the order as the API shows it.
func (o Order) Message() messages.Order {
	return messages.Order{
		OrderID: o.ID, CustomerID: o.CustomerID, Items: slices.Clone(o.Items),
		Status: o.Status, Reason: o.Reason, History: slices.Clone(o.History),
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
}

// ShipmentMessage is the order's shipment as the API shows it, false when
// none is known.
func (o Order) ShipmentMessage() (messages.Shipment, bool) {
	if o.Shipment.Status == "" {
		return messages.Shipment{}, false
	}
	return messages.Shipment{OrderID: o.ID, Status: o.Shipment.Status, History: slices.Clone(o.Shipment.History)}, true
}
