package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/orderflow/orderflow/messages"
)

// ReserveStock reacts to OrderPlaced: it reserves every line of the order or
// none, and publishes StockReserved or StockReservationFailed with the reason per SKU.
//
// Each line is held with one atomic update of its product. The holds are placed
// first, then the decision is recorded on the reservation; if it was decided
// otherwise meanwhile (a cancellation, or a concurrent redelivery that failed),
// the holds are brought in line with that decision.
func (s *Service) ReserveStock(ctx context.Context, orderID string, lines []Line, correlationID string) error {
	if err := validateLines(orderID, lines); err != nil {
		return err
	}
	// Sorted, so two orders sharing SKUs touch them in the same order.
	lines = slices.Clone(lines)
	slices.SortFunc(lines, func(a, b Line) int { return strings.Compare(a.SKU, b.SKU) })

	r, err := s.reservations.Update(ctx, orderID, func(r *Reservation) error {
		r.Begin(lines)
		return nil
	})
	if err != nil {
		return fmt.Errorf("begin reservation of order %s: %w", orderID, err)
	}
	if r.Status != Reserving {
		// Decided before (a redelivery, a nudge of the orders service's saga
		// sweeper, or a release that came first): make sure the holds match the
		// decision and its event is out.
		return s.announceAgain(ctx, orderID)
	}

	var failures []messages.LineFailure
	for _, l := range r.Lines {
		err := s.products.Hold(ctx, l.SKU, orderID, l.Quantity, s.now())
		var short *InsufficientStockError
		switch {
		case err == nil:
		case errors.Is(err, ErrUnknownSKU):
			failures = append(failures, messages.LineFailure{SKU: l.SKU, Reason: messages.ReasonUnknownSKU, Requested: l.Quantity})
		case errors.As(err, &short):
			failures = append(failures, messages.LineFailure{SKU: l.SKU, Reason: messages.ReasonInsufficientStock, Requested: l.Quantity, Available: max(short.Available, 0)})
		default:
			return fmt.Errorf("reserve %s for order %s: %w", l.SKU, orderID, err)
		}
	}

	_, err = s.decide(ctx, orderID, func(r *Reservation) error {
		if len(failures) > 0 {
			r.Fail(failures, s.now(), correlationID)
		} else {
			r.Succeed(s.now(), correlationID)
		}
		return nil
	})
	return err
}

func validateLines(orderID string, lines []Line) error {
	if err := ValidateOrderID(orderID); err != nil {
		return err
	}
	if v := messages.CheckItems(lines, func(l Line) (string, int) { return l.SKU, l.Quantity }); len(v) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidStock, v[0])
	}
	return nil
}

// announceAgain finishes a decided reservation (holds settled, pending events
// published) and, when nothing was pending, publishes the event of its latest
// decision again: an OrderPlaced that comes again may be the orders service
// asking for an outcome it never got (its saga sweeper). The duplicate is
// harmless: the orders service is idempotent by state (a StockReserved for a
// CONFIRMED or CANCELLED order changes nothing).
func (s *Service) announceAgain(ctx context.Context, orderID string) error {
	r, err := s.decide(ctx, orderID, func(*Reservation) error { return nil })
	if err != nil {
		return err
	}
	return s.announceLatest(ctx, r)
}

// announceLatest publishes the event of r's latest decision again, unless
// deciding r has just published something (then that is the answer) or
// nothing is decided.
func (s *Service) announceLatest(ctx context.Context, r Reservation) error {
	if len(r.Unpublished()) > 0 || len(r.History) == 0 {
		return nil // just published by decide, or nothing decided to tell
	}
	latest := r.History[len(r.History)-1]
	if err := s.events.Publish(messages.WithCorrelationID(ctx, latest.CorrelationID), eventFor(r, latest)); err != nil {
		return fmt.Errorf("announce the reservation of order %s again: %w", r.OrderID, err)
	}
	return nil
}
