package delivery

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
	"github.com/orderflow/orderflow/messages"
)

// Status is where a shipment is.
type Status string

// The statuses of a shipment.
const (
	StatusScheduled  Status = messages.ShipmentStatusScheduled
	StatusDispatched Status = messages.ShipmentStatusDispatched
	StatusDelivered  Status = messages.ShipmentStatusDelivered
	StatusFailed     Status = messages.ShipmentStatusFailed
	StatusCancelled  Status = messages.ShipmentStatusCancelled
)

// Errors callers branch on.
var (
	ErrNotFound      = errors.New("shipment not found")
	ErrNotAllowed    = errors.New("transition not allowed")
	ErrInvalidReason = fmt.Errorf("%w: invalid reason", messages.ErrInvalid)
)

// Change is one entry of a shipment's history; Published works as in orders.Change.
type Change struct {
	Status        Status
	At            time.Time
	Reason        string
	CorrelationID string
	Published     bool
}

// Shipment is the aggregate of the delivery service, one per order.
type Shipment struct {
	OrderID    string
	CustomerID string
	Status     Status
	History    []Change
	// DispatchedAt is when the courier picked the parcel up (zero before).
	DispatchedAt time.Time
	// NextStepAt is when the simulated courier takes the next step (zero: never).
	NextStepAt time.Time
	// Tombstone marks a shipment called off before it was scheduled: the order
	// was cancelled first, so a late confirmation must not schedule it. It is
	// not shown to readers.
	Tombstone bool
	Revision  int64
}

// IsNew reports whether nothing is recorded for the order yet.
func (s *Shipment) IsNew() bool { return s.Revision == 0 }

// Exists reports whether there is a shipment to show.
func (s *Shipment) Exists() bool { return !s.IsNew() && !s.Tombstone }

// Schedule creates the shipment of a confirmed order. A repeated confirmation,
// or one for an order cancelled first, changes nothing.
func (s *Shipment) Schedule(customerID string, now, nextStepAt time.Time, correlationID string) {
	if !s.IsNew() {
		return
	}
	s.CustomerID = customerID
	s.NextStepAt = nextStepAt
	s.record(StatusScheduled, now, "", correlationID)
}

// Cancel calls the shipment off because its order was cancelled. A parcel on its
// way is recalled; a delivered or failed one stays as it is.
func (s *Shipment) Cancel(now time.Time, correlationID string) {
	switch {
	case s.IsNew():
		s.Status = StatusCancelled
		s.Tombstone = true
		s.Revision++
	case s.Status == StatusScheduled || s.Status == StatusDispatched:
		s.NextStepAt = time.Time{}
		s.record(StatusCancelled, now, "order cancelled", correlationID)
	}
}

// Dispatch records the courier picking the parcel up. Dispatching again is no error.
func (s *Shipment) Dispatch(now, nextStepAt time.Time, correlationID string) error {
	switch s.Status {
	case StatusDispatched:
		return nil
	case StatusScheduled:
		s.DispatchedAt = now
		s.NextStepAt = nextStepAt
		s.record(StatusDispatched, now, "", correlationID)
		return nil
	}
	return fmt.Errorf("%w: cannot dispatch a %s shipment", ErrNotAllowed, s.Status)
}

// Deliver records the delivery of a dispatched parcel. Delivering again is no error.
func (s *Shipment) Deliver(now time.Time, correlationID string) error {
	switch s.Status {
	case StatusDelivered:
		return nil
	case StatusDispatched:
		s.NextStepAt = time.Time{}
		s.record(StatusDelivered, now, "", correlationID)
		return nil
	}
	return fmt.Errorf("%w: cannot deliver a %s shipment", ErrNotAllowed, s.Status)
}

// Fail records a failed delivery of a dispatched parcel. Failing again is no error.
func (s *Shipment) Fail(reason string, now time.Time, correlationID string) error {
	if reason == "" || len(reason) > messages.MaxReasonLength {
		return fmt.Errorf("%w: a failure needs a reason of 1 to %d characters", ErrInvalidReason, messages.MaxReasonLength)
	}
	switch s.Status {
	case StatusFailed:
		return nil
	case StatusDispatched:
		s.NextStepAt = time.Time{}
		s.record(StatusFailed, now, reason, correlationID)
		return nil
	}
	return fmt.Errorf("%w: cannot fail a %s shipment", ErrNotAllowed, s.Status)
}

func (s *Shipment) record(status Status, at time.Time, reason, correlationID string) {
	s.Status = status
	s.History = append(s.History, Change{Status: status, At: at, Reason: reason, CorrelationID: correlationID})
	s.Revision++
}

// Unpublished returns the changes whose events are not published yet.
func (s *Shipment) Unpublished() []Change {
	return outbox.Pending(s.History, func(c Change) bool { return c.Published })
}

// UnpublishedSince returns when the oldest change whose event is not published
// yet was made, or the zero time when every event is published.
func (s *Shipment) UnpublishedSince() time.Time {
	return outbox.OldestPending(s.History, func(c Change) bool { return c.Published }, func(c Change) time.Time { return c.At })
}

// MarkPublished records that the events of the first n changes are published.
func (s *Shipment) MarkPublished(n int) {
	if outbox.MarkFirst(s.History, n, func(c *Change) *bool { return &c.Published }) {
		s.Revision++
	}
}

// Clone returns a deep copy.
func (s Shipment) Clone() Shipment {
	s.History = slices.Clone(s.History)
	return s
}

// ToMessage converts the shipment to its contract view.
func ToMessage(s Shipment) messages.Shipment {
	history := make([]messages.StatusEntry, len(s.History))
	for i, c := range s.History {
		history[i] = messages.StatusEntry{Status: string(c.Status), At: c.At, Reason: c.Reason, CorrelationID: c.CorrelationID}
	}
	return messages.Shipment{OrderID: s.OrderID, Status: string(s.Status), History: history}
}
