package orders

import (
	"context"
	"fmt"
)

// CancelOrder cancels a PENDING or CONFIRMED order and publishes OrderCancelled,
// which makes inventory release the stock and delivery call off the shipment.
// It returns ErrNotFound or ErrNotCancellable for the business "no".
func (s *Service) CancelOrder(ctx context.Context, orderID, reason, correlationID string) (Order, error) {
	o, err := s.update(ctx, orderID, func(o *Order) error {
		if o.IsNew() {
			return ErrNotFound
		}
		return o.Cancel(reason, s.now(), correlationID)
	})
	if err != nil {
		return Order{}, fmt.Errorf("cancel order %s: %w", orderID, err)
	}
	return o, nil
}
