package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
	"github.com/orderflow/orderflow/messages"
)

// Courier says how shipments advance: by the courier endpoints only (Auto false),
// or also by the simulated courier after the given delays.
type Courier struct {
	Auto          bool
	DispatchAfter time.Duration
	DeliverAfter  time.Duration
}

// Service runs the delivery use cases, one file each.
type Service struct {
	repo    Repository
	events  EventPublisher
	courier Courier
	now     func() time.Time
	due     dueSteps
}

// NewService returns a Service; now may be nil for time.Now.
func NewService(repo Repository, events EventPublisher, courier Courier, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{repo: repo, events: events, courier: courier, now: now}
}

// after returns when the simulated courier takes a step that is d away, or zero
// when the courier is manual.
func (s *Service) after(now time.Time, d time.Duration) time.Time {
	if !s.courier.Auto {
		return time.Time{}
	}
	return now.Add(d)
}

func (s *Service) update(ctx context.Context, orderID string, fn func(*Shipment) error) (Shipment, error) {
	sh, err := s.repo.Update(ctx, orderID, fn)
	if err != nil {
		return Shipment{}, err
	}
	s.due.note(sh.NextStepAt)
	if err := s.publishPending(ctx, sh); err != nil {
		return Shipment{}, err
	}
	return sh, nil
}

func (s *Service) publishPending(ctx context.Context, sh Shipment) error {
	n := len(sh.History)
	return outbox.Flush(ctx, s.events, "shipment "+sh.OrderID, sh.Unpublished(),
		func(c Change) string { return c.CorrelationID },
		func(c Change) any { return eventFor(sh, c) },
		func(ctx context.Context) error {
			_, err := s.repo.Update(ctx, sh.OrderID, func(cur *Shipment) error {
				cur.MarkPublished(n)
				return nil
			})
			return err
		})
}

func eventFor(sh Shipment, c Change) any {
	switch c.Status {
	case StatusScheduled:
		return messages.ShipmentScheduled{OrderID: sh.OrderID, OccurredAt: c.At}
	case StatusDispatched:
		return messages.ShipmentDispatched{OrderID: sh.OrderID, OccurredAt: c.At}
	case StatusDelivered:
		return messages.ShipmentDelivered{OrderID: sh.OrderID, DispatchedAt: sh.DispatchedAt, OccurredAt: c.At}
	case StatusFailed:
		return messages.ShipmentFailed{OrderID: sh.OrderID, Reason: c.Reason, DispatchedAt: sh.DispatchedAt, OccurredAt: c.At}
	case StatusCancelled:
		return messages.ShipmentCancelled{OrderID: sh.OrderID, OccurredAt: c.At}
	}
	panic(fmt.Sprintf("delivery: no event for status %q", c.Status))
}
