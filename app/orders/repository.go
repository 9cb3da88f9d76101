package orders

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
)

// Repository stores orders. Implementations: infra/memory and infra/mongo, held to
// one contract suite.
type Repository interface {
	// Get returns the order or ErrNotFound.
	Get(ctx context.Context, id string) (Order, error)
	// Update runs fn on the stored order, or on a new Order{ID: id} when there is
	// none, and saves the result atomically if fn moved its Revision. fn may run
	// more than once when a concurrent writer wins; it must only change the order.
	// Update returns the order as stored after it.
	Update(ctx context.Context, id string, fn func(*Order) error) (Order, error)
	// List returns up to q.Limit orders matching q, newest first (CreatedAt, then ID, descending),
	// starting after q.After when it is set.
	List(ctx context.Context, q ListQuery) ([]Order, error)
	// ListUnpublished returns up to limit orders having a change whose event is
	// not published and whose At is not after before, the oldest such change
	// first (see Order.UnpublishedSince).
	ListUnpublished(ctx context.Context, before time.Time, limit int) ([]Order, error)
	// ListAwaiting returns up to limit orders whose AwaitingSince is set and not
	// after before, the longest waiting first.
	ListAwaiting(ctx context.Context, before time.Time, limit int) ([]Order, error)
}

// ListQuery selects a page of orders.
type ListQuery struct {
	CustomerID string
	Status     Status
	Limit      int
	After      *Cursor
}

// Cursor is the position after which a page starts: the sort key of the last order seen.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// EventPublisher publishes domain events (watermill's cqrs.EventBus in
// production): the one port of app/outbox, named here for this service.
type EventPublisher = outbox.Publisher
