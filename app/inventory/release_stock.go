package inventory

import (
	"context"
	"fmt"
)

// ReleaseStock reacts to the end of an order that will not be delivered
// (cancelled, rejected, delivery failed): its held stock becomes available again.
// For an order not reserved yet it records the release, so that a reservation
// arriving late is released, never kept.
func (s *Service) ReleaseStock(ctx context.Context, orderID, correlationID string) error {
	if err := ValidateOrderID(orderID); err != nil {
		return err
	}
	r, err := s.decide(ctx, orderID, func(r *Reservation) error {
		r.Release(s.now(), correlationID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("release stock of order %s: %w", orderID, err)
	}
	// A repeated request (a redelivery, or the orders service's sweeper asking
	// for an answer it never got) is answered with the latest decision, which
	// may be another one (a commit of a released reservation answers StockReleased).
	return s.announceLatest(ctx, r)
}
