package inventory

import (
	"context"
	"fmt"
)

// CommitStock reacts to OrderDelivered: the order's held stock leaves the
// warehouse (on-hand and reserved both go down).
func (s *Service) CommitStock(ctx context.Context, orderID, correlationID string) error {
	if err := ValidateOrderID(orderID); err != nil {
		return err
	}
	r, err := s.decide(ctx, orderID, func(r *Reservation) error {
		r.Commit(s.now(), correlationID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit stock of order %s: %w", orderID, err)
	}
	// A repeated request (a redelivery, or the orders service's sweeper asking
	// for an answer it never got) is answered with the latest decision, which
	// may be another one (a commit of a released reservation answers StockReleased).
	return s.announceLatest(ctx, r)
}
