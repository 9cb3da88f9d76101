package inventory

import (
	"slices"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
	"github.com/orderflow/orderflow/messages"
)

// ReservationStatus is the decision taken for an order's stock.
type ReservationStatus string

// The statuses of a reservation. RESERVING is the only one that is not a decision.
const (
	Reserving ReservationStatus = "RESERVING"
	Reserved  ReservationStatus = "RESERVED"
	Failed    ReservationStatus = "FAILED"
	Released  ReservationStatus = "RELEASED"
	Committed ReservationStatus = "COMMITTED"
)

// Line is one SKU of a reservation.
type Line struct {
	SKU      string
	Quantity int
}

// Change is one entry of a reservation's history; Published works as in orders.Change.
type Change struct {
	Status        ReservationStatus
	At            time.Time
	CorrelationID string
	Published     bool
}

// Reservation is the inventory's record of one order's stock.
type Reservation struct {
	OrderID  string
	Status   ReservationStatus
	Lines    []Line
	Failures []messages.LineFailure
	History  []Change
	Revision int64
}

// IsNew reports whether nothing is recorded for the order yet.
func (r *Reservation) IsNew() bool { return r.Revision == 0 }

// Begin records the lines of an order whose reservation starts. It returns false
// when a decision exists already (including a release that came first).
func (r *Reservation) Begin(lines []Line) bool {
	if !r.IsNew() {
		if len(r.Lines) == 0 && len(lines) > 0 {
			// a release came first and recorded no lines: keep them so holds
			// placed by a racing attempt can be found and released.
			r.Lines = slices.Clone(lines)
			r.Revision++
		}
		return r.Status == Reserving
	}
	r.Status = Reserving
	r.Lines = slices.Clone(lines)
	r.Revision++
	return true
}

// Succeed decides RESERVED if nothing was decided yet.
func (r *Reservation) Succeed(now time.Time, correlationID string) {
	if r.Status == Reserving {
		r.record(Reserved, now, correlationID)
	}
}

// Fail decides FAILED, with the reasons per SKU, if nothing was decided yet.
func (r *Reservation) Fail(failures []messages.LineFailure, now time.Time, correlationID string) {
	if r.Status == Reserving {
		r.Failures = slices.Clone(failures)
		r.record(Failed, now, correlationID)
	}
}

// Release decides RELEASED for a reservation that is held or not decided yet;
// for an order never seen it records the release, so a reservation that
// arrives later is not kept.
func (r *Reservation) Release(now time.Time, correlationID string) {
	switch r.Status {
	case "", Reserving, Reserved:
		r.record(Released, now, correlationID)
	}
}

// Commit decides COMMITTED for a held reservation.
func (r *Reservation) Commit(now time.Time, correlationID string) {
	if r.Status == Reserved {
		r.record(Committed, now, correlationID)
	}
}

// KeepsHolds reports whether the products should hold stock for this order.
func (r *Reservation) KeepsHolds() bool {
	return r.Status == Reserving || r.Status == Reserved
}

func (r *Reservation) record(s ReservationStatus, at time.Time, correlationID string) {
	r.Status = s
	r.History = append(r.History, Change{Status: s, At: at, CorrelationID: correlationID})
	r.Revision++
}

// Unpublished returns the changes whose events are not published yet.
func (r *Reservation) Unpublished() []Change {
	return outbox.Pending(r.History, func(c Change) bool { return c.Published })
}

// UnpublishedSince returns when the oldest change whose event is not published
// yet was made, or the zero time when every event is published.
func (r *Reservation) UnpublishedSince() time.Time {
	return outbox.OldestPending(r.History, func(c Change) bool { return c.Published }, func(c Change) time.Time { return c.At })
}

// MarkPublished records that the events of the first n changes are published.
func (r *Reservation) MarkPublished(n int) {
	if outbox.MarkFirst(r.History, n, func(c *Change) *bool { return &c.Published }) {
		r.Revision++
	}
}

// Clone returns a deep copy.
func (r Reservation) Clone() Reservation {
	r.Lines = slices.Clone(r.Lines)
	r.Failures = slices.Clone(r.Failures)
	r.History = slices.Clone(r.History)
	return r
}
