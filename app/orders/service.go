package orders

import (
	"context"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
	"github.com/orderflow/orderflow/messages"
)

// Service runs the orders use cases, one file each.
type Service struct {
	repo   Repository
	events EventPublisher
	now    func() time.Time
	limits Limits
}

// NewService returns a Service; now may be nil for time.Now.
func NewService(repo Repository, events EventPublisher, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{repo: repo, events: events, now: now}
}

// SetLimits sets the caps on a customer's open orders (none by default).
func (s *Service) SetLimits(l Limits) { s.limits = l }

// update applies fn to the order and publishes what the order has not published yet.
func (s *Service) update(ctx context.Context, id string, fn func(*Order) error) (Order, error) {
	o, err := s.repo.Update(ctx, id, fn)
	if err != nil {
		return Order{}, err
	}
	if err := s.publishPending(ctx, o); err != nil {
		return Order{}, err
	}
	return o, nil
}

// publishPending publishes the events of the order's unpublished changes, then
// marks them published. It runs before the triggering message is acked, so a
// crash in between is repaired when the message is delivered again.
func (s *Service) publishPending(ctx context.Context, o Order) error {
	n := len(o.History)
	return outbox.Flush(ctx, s.events, "order "+o.ID, o.Unpublished(),
		func(c Change) string { return c.CorrelationID },
		func(c Change) any { return eventFor(o, c) },
		func(ctx context.Context) error {
			_, err := s.repo.Update(ctx, o.ID, func(cur *Order) error {
				cur.MarkPublished(n)
				return nil
			})
			return err
		})
}

func eventFor(o Order, c Change) any {
	switch c.Status {
	case StatusPending:
		return messages.OrderPlaced{OrderID: o.ID, CustomerID: o.CustomerID, Items: toMessageItems(o.Items), OccurredAt: c.At}
	case StatusConfirmed:
		return messages.OrderConfirmed{OrderID: o.ID, CustomerID: o.CustomerID, Items: toMessageItems(o.Items), OccurredAt: c.At}
	case StatusRejected:
		return messages.OrderRejected{OrderID: o.ID, Reason: c.Reason, OccurredAt: c.At}
	case StatusCancelled:
		return messages.OrderCancelled{OrderID: o.ID, Reason: c.Reason, OccurredAt: c.At}
	case StatusShipped:
		return messages.OrderShipped{OrderID: o.ID, OccurredAt: c.At}
	case StatusDelivered:
		return messages.OrderDelivered{OrderID: o.ID, OccurredAt: c.At}
	case StatusDeliveryFailed:
		return messages.OrderDeliveryFailed{OrderID: o.ID, Reason: c.Reason, OccurredAt: c.At}
	}
	panic(fmt.Sprintf("orders: no event for status %q", c.Status))
}

func toMessageItems(items []Item) []messages.Item {
	out := make([]messages.Item, len(items))
	for i, it := range items {
		out[i] = messages.Item{SKU: it.SKU, Quantity: it.Quantity}
	}
	return out
}

// FromMessageItems converts the contract's items to the domain's.
func FromMessageItems(items []messages.Item) []Item {
	out := make([]Item, len(items))
	for i, it := range items {
		out[i] = Item{SKU: it.SKU, Quantity: it.Quantity}
	}
	return out
}

// ToMessage converts an order to its contract view.
func ToMessage(o Order) messages.Order {
	history := make([]messages.StatusEntry, len(o.History))
	for i, c := range o.History {
		history[i] = messages.StatusEntry{Status: string(c.Status), At: c.At, Reason: c.Reason, CorrelationID: c.CorrelationID}
	}
	return messages.Order{
		OrderID:    o.ID,
		CustomerID: o.CustomerID,
		Items:      toMessageItems(o.Items),
		Status:     string(o.Status),
		Reason:     o.Reason,
		History:    history,
		CreatedAt:  o.CreatedAt,
		UpdatedAt:  o.UpdatedAt,
	}
}
