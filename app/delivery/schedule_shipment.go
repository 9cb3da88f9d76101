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
	existed := false
	sh, err := s.repo.Update(ctx, orderID, func(sh *Shipment) error {
		existed = !sh.IsNew() // fn runs again when a concurrent writer wins
		now := s.now()
		sh.Schedule(customerID, now, s.after(now, s.courier.DispatchAfter), correlationID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule shipment of order %s: %w", orderID, err)
	}
	s.due.note(sh.NextStepAt)
	if err := s.publishPending(ctx, sh); err != nil {
		return fmt.Errorf("schedule shipment of order %s: %w", orderID, err)
	}
	if existed && len(sh.Unpublished()) == 0 && len(sh.History) > 0 {
		// An OrderConfirmed for an order that has a shipment already: a
		// redelivery, or the orders service's saga sweeper asking for news it
		// never got. Announce the shipment's latest step again, so the order
		// learns it is scheduled (or dispatched, delivered...). The duplicate is
		// harmless: the orders service is idempotent by state.
		latest := sh.History[len(sh.History)-1]
		if err := s.events.Publish(messages.WithCorrelationID(ctx, latest.CorrelationID), eventFor(sh, latest)); err != nil {
			return fmt.Errorf("announce the shipment of order %s again: %w", orderID, err)
		}
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
