package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// maxNudgeDoublings caps the backoff between two nudges of one order at 32 × stuckAfter.
const maxNudgeDoublings = 5

// Nudge is one order whose saga NudgeStuck drove on.
type Nudge struct {
	OrderID string
	Status  Status
	// Age is how long the order had waited since it entered its status or was last nudged.
	Age time.Duration
	// Nudges counts the nudges of the order's current wait, this one included.
	Nudges int
}

// NudgeStuck finds orders that have waited for another service longer than
// stuckAfter (PENDING: no reservation outcome; CONFIRMED: no shipment known),
// up to limit, the longest waiting first, and publishes again the event that
// moves each on (OrderPlaced, OrderConfirmed), with the correlation ID of the
// change that entered the status. Then it records the nudge. An order that
// stays stuck is sent again after stuckAfter, then after twice, four times...
// up to 32 times that: a consumer that keeps failing on it (each failure a new
// poison-queue entry) is not flooded, and an operator has time to act.
//
// A message lost on the way (poisoned, or dropped by a transport) would
// otherwise strand the order. The consumers are idempotent by state and
// answer a duplicate with the event of their decision (inventory) or of the
// shipment's latest step (delivery), so a nudge is harmless when nothing was
// lost and moves the order on when something was.
func (s *Service) NudgeStuck(ctx context.Context, stuckAfter time.Duration, limit int) ([]Nudge, error) {
	now := s.now()
	before := now.Add(-stuckAfter)
	found, err := s.repo.ListAwaiting(ctx, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list stuck orders: %w", err)
	}
	var nudged []Nudge
	var errs []error
	for _, o := range found {
		n, ok, err := s.nudge(ctx, o, before, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("nudge order %s: %w", o.ID, err))
			continue
		}
		if ok {
			nudged = append(nudged, n)
		}
	}
	return nudged, errors.Join(errs...)
}

// nudge publishes the awaited event of o, then records the nudge unless the
// order moved meanwhile; false means there was nothing to nudge.
func (s *Service) nudge(ctx context.Context, o Order, before, now time.Time) (Nudge, bool, error) {
	c, ok := o.AwaitedChange()
	if !ok || o.AwaitingSince.After(before) {
		return Nudge{}, false, nil
	}
	if backoff := now.Sub(before) << min(o.Nudges, maxNudgeDoublings); now.Sub(o.AwaitingSince) < backoff {
		return Nudge{}, false, nil
	}
	if len(o.Unpublished()) > 0 {
		// The awaited change itself was never published (the relay is off, or
		// fails): publishing what is pending is the nudge.
		if err := s.publishPending(ctx, o); err != nil {
			return Nudge{}, false, err
		}
	} else if err := s.events.Publish(messages.WithCorrelationID(ctx, c.CorrelationID), eventFor(o, c)); err != nil {
		return Nudge{}, false, fmt.Errorf("publish the event of %s again: %w", o.Status, err)
	}
	n := Nudge{OrderID: o.ID, Status: o.Status, Age: now.Sub(o.AwaitingSince), Nudges: o.Nudges + 1}
	_, err := s.repo.Update(ctx, o.ID, func(cur *Order) error {
		// Only the wait that was nudged: an order that moved on meanwhile, or
		// that another sweeper nudged, is left as it is.
		if cur.Status == o.Status && cur.AwaitingSince.Equal(o.AwaitingSince) {
			cur.Nudged(now)
		}
		return nil
	})
	if err != nil {
		return Nudge{}, false, fmt.Errorf("record nudge: %w", err)
	}
	return n, true, nil
}
