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
	_, err := s.decide(ctx, orderID, func(r *Reservation) error {
		r.Commit(s.now(), correlationID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit stock of order %s: %w", orderID, err)
	}
	return nil
}
