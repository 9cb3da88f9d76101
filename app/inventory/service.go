package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
	"github.com/orderflow/orderflow/messages"
)

// ErrNoReservation is returned by Reservations.Get for an order never seen.
var ErrNoReservation = errors.New("no reservation for this order")

// Service runs the inventory use cases, one file each.
type Service struct {
	products     Products
	reservations Reservations
	events       EventPublisher
	now          func() time.Time
}

// NewService returns a Service; now may be nil for time.Now.
func NewService(products Products, reservations Reservations, events EventPublisher, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{products: products, reservations: reservations, events: events, now: now}
}

// decide applies a decision to the order's reservation, brings the products'
// holds in line with it and publishes what is unpublished, in that order: the
// decision is durable before anything follows from it.
func (s *Service) decide(ctx context.Context, orderID string, fn func(*Reservation) error) (Reservation, error) {
	r, err := s.reservations.Update(ctx, orderID, fn)
	if err != nil {
		return Reservation{}, err
	}
	if err := s.settleHolds(ctx, r); err != nil {
		return Reservation{}, err
	}
	if err := s.publishPending(ctx, r); err != nil {
		return Reservation{}, err
	}
	return r, nil
}

// settleHolds releases or commits what the products still hold for a decided
// reservation; every step is idempotent, so it is safe to repeat after a crash.
func (s *Service) settleHolds(ctx context.Context, r Reservation) error {
	if r.KeepsHolds() {
		return nil
	}
	for _, l := range r.Lines {
		var err error
		if r.Status == Committed {
			err = s.products.Commit(ctx, l.SKU, r.OrderID, s.now())
		} else {
			err = s.products.Release(ctx, l.SKU, r.OrderID, s.now())
		}
		if err != nil {
			return fmt.Errorf("settle %s of order %s: %w", l.SKU, r.OrderID, err)
		}
	}
	return nil
}

func (s *Service) publishPending(ctx context.Context, r Reservation) error {
	n := len(r.History)
	return outbox.Flush(ctx, s.events, "reservation "+r.OrderID, r.Unpublished(),
		func(c Change) string { return c.CorrelationID },
		func(c Change) any { return eventFor(r, c) },
		func(ctx context.Context) error {
			_, err := s.reservations.Update(ctx, r.OrderID, func(cur *Reservation) error {
				cur.MarkPublished(n)
				return nil
			})
			return err
		})
}

func eventFor(r Reservation, c Change) any {
	switch c.Status {
	case Reserved:
		items := make([]messages.Item, len(r.Lines))
		for i, l := range r.Lines {
			items[i] = messages.Item{SKU: l.SKU, Quantity: l.Quantity}
		}
		return messages.StockReserved{OrderID: r.OrderID, Items: items, OccurredAt: c.At}
	case Failed:
		return messages.StockReservationFailed{OrderID: r.OrderID, Failures: r.Failures, OccurredAt: c.At}
	case Released:
		return messages.StockReleased{OrderID: r.OrderID, OccurredAt: c.At}
	case Committed:
		return messages.StockCommitted{OrderID: r.OrderID, OccurredAt: c.At}
	}
	panic(fmt.Sprintf("inventory: no event for status %q", c.Status))
}
