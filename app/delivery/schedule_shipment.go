package delivery

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/messages"
)

// ScheduleShipment reacts to OrderConfirmed: the order gets a SCHEDULED shipment.
func (s *Service) ScheduleShipment(ctx context.Context, orderID, customerID, correlationID string) error {
	if orderID == "" {
		return fmt.Errorf("%w: missing order id", messages.ErrInvalid)
	}
	_, err := s.update(ctx, orderID, func(sh *Shipment) error {
		now := s.now()
		sh.Schedule(customerID, now, s.after(now, s.courier.DispatchAfter), correlationID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule shipment of order %s: %w", orderID, err)
	}
	return nil
}

// CancelShipment reacts to OrderCancelled: the shipment is called off, or, when
// the cancellation comes before the confirmation, never scheduled.
func (s *Service) CancelShipment(ctx context.Context, orderID, correlationID string) error {
	if orderID == "" {
		return fmt.Errorf("%w: missing order id", messages.ErrInvalid)
	}
	_, err := s.update(ctx, orderID, func(sh *Shipment) error {
		sh.Cancel(s.now(), correlationID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cancel shipment of order %s: %w", orderID, err)
	}
	return nil
}
