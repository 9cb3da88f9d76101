package orders

import (
	"context"
	"fmt"
	"time"
)

// MarkShipmentScheduled reacts to ShipmentScheduled: the order records that
// its shipment exists, so the saga sweeper no longer waits for it. It adds no
// history entry and publishes nothing; repeating it changes nothing.
func (s *Service) MarkShipmentScheduled(ctx context.Context, orderID string) error {
	return s.progress(ctx, "record the shipment of", orderID, func(o *Order) { o.MarkShipmentScheduled() })
}

// MarkShipped reacts to ShipmentDispatched: a CONFIRMED order becomes SHIPPED.
func (s *Service) MarkShipped(ctx context.Context, orderID string, at time.Time, correlationID string) error {
	return s.progress(ctx, "ship", orderID, func(o *Order) { o.MarkShipped(at, correlationID) })
}

// MarkDelivered reacts to ShipmentDelivered: the order becomes DELIVERED and
// inventory commits its stock.
func (s *Service) MarkDelivered(ctx context.Context, orderID string, dispatchedAt, at time.Time, correlationID string) error {
	return s.progress(ctx, "deliver", orderID, func(o *Order) { o.MarkDelivered(dispatchedAt, at, correlationID) })
}

// MarkDeliveryFailed reacts to ShipmentFailed: the order becomes DELIVERY_FAILED
// and inventory releases its stock.
func (s *Service) MarkDeliveryFailed(ctx context.Context, orderID, reason string, dispatchedAt, at time.Time, correlationID string) error {
	return s.progress(ctx, "fail delivery of", orderID, func(o *Order) { o.MarkDeliveryFailed(reason, dispatchedAt, at, correlationID) })
}

func (s *Service) progress(ctx context.Context, verb, orderID string, apply func(*Order)) error {
	_, err := s.update(ctx, orderID, func(o *Order) error {
		if o.IsNew() {
			return ErrNotFound
		}
		apply(o)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s order %s: %w", verb, orderID, err)
	}
	return nil
}
