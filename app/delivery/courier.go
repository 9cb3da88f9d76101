package delivery

import (
	"context"
	"errors"
	"fmt"
)

// Dispatch is the courier picking the parcel up (POST /deliveries/{id}/dispatch).
// It returns ErrNotFound or ErrNotAllowed for the business "no".
func (s *Service) Dispatch(ctx context.Context, orderID, correlationID string) (Shipment, error) {
	return s.courierStep(ctx, "dispatch", orderID, func(sh *Shipment) error {
		now := s.now()
		return sh.Dispatch(now, s.after(now, s.courier.DeliverAfter), correlationID)
	})
}

// Deliver is the courier handing the parcel over.
func (s *Service) Deliver(ctx context.Context, orderID, correlationID string) (Shipment, error) {
	return s.courierStep(ctx, "deliver", orderID, func(sh *Shipment) error {
		return sh.Deliver(s.now(), correlationID)
	})
}

// Fail is the courier giving up on the delivery, with a reason.
func (s *Service) Fail(ctx context.Context, orderID, reason, correlationID string) (Shipment, error) {
	return s.courierStep(ctx, "fail", orderID, func(sh *Shipment) error {
		return sh.Fail(reason, s.now(), correlationID)
	})
}

func (s *Service) courierStep(ctx context.Context, verb, orderID string, step func(*Shipment) error) (Shipment, error) {
	sh, err := s.update(ctx, orderID, func(sh *Shipment) error {
		if !sh.Exists() {
			return ErrNotFound
		}
		return step(sh)
	})
	if err != nil {
		return Shipment{}, fmt.Errorf("%s shipment of order %s: %w", verb, orderID, err)
	}
	return sh, nil
}

// AdvanceDue is one round of the simulated courier: every shipment whose next
// step is due is dispatched or delivered. Several instances may run it at once:
// a step is taken only while it is still due, so each is taken once.
// It returns how many shipments it moved.
func (s *Service) AdvanceDue(ctx context.Context, limit int) (int, error) {
	due, err := s.repo.ListDue(ctx, s.now(), limit)
	if err != nil {
		return 0, fmt.Errorf("list due shipments: %w", err)
	}
	moved := 0
	for _, d := range due {
		stepped := false
		_, err := s.update(ctx, d.OrderID, func(sh *Shipment) error {
			stepped = false // fn runs again when a concurrent writer wins
			now := s.now()
			if sh.NextStepAt.IsZero() || sh.NextStepAt.After(now) {
				return nil // taken by another instance, or cancelled
			}
			// The courier acts on behalf of the request that confirmed the order,
			// so its messages carry that request's correlation ID: the one of the
			// change that scheduled the shipment, which comes first.
			correlationID := sh.History[0].CorrelationID
			switch sh.Status {
			case StatusScheduled:
				stepped = true
				return sh.Dispatch(now, now.Add(s.courier.DeliverAfter), correlationID)
			case StatusDispatched:
				stepped = true
				return sh.Deliver(now, correlationID)
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotAllowed) {
			return moved, fmt.Errorf("advance shipment of order %s: %w", d.OrderID, err)
		}
		if err == nil && stepped {
			moved++
		}
	}
	return moved, nil
}

// GetShipment returns the shipment of an order or ErrNotFound (also before it is scheduled).
func (s *Service) GetShipment(ctx context.Context, orderID string) (Shipment, error) {
	sh, err := s.repo.Get(ctx, orderID)
	if err != nil {
		return Shipment{}, err
	}
	if !sh.Exists() {
		return Shipment{}, ErrNotFound
	}
	return sh, nil
}
