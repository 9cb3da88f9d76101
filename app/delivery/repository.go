package delivery

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
)

// Repository stores shipments, one per order.
type Repository interface {
	// Get returns the shipment (a tombstone too) or ErrNotFound.
	Get(ctx context.Context, orderID string) (Shipment, error)
	// Update runs fn on the stored shipment, or on a new Shipment{OrderID: id}
	// when there is none, and saves the result atomically if fn moved its
	// Revision. fn may run more than once; Update returns the shipment as stored.
	Update(ctx context.Context, orderID string, fn func(*Shipment) error) (Shipment, error)
	// ListDue returns up to limit shipments whose NextStepAt is set and not after now.
	ListDue(ctx context.Context, now time.Time, limit int) ([]Shipment, error)
	// ListUnpublished returns up to limit shipments having a change whose event
	// is not published and whose At is not after before, the oldest such change
	// first (see Shipment.UnpublishedSince).
	ListUnpublished(ctx context.Context, before time.Time, limit int) ([]Shipment, error)
}

// EventPublisher publishes domain events (watermill's cqrs.EventBus in
// production): the one port of app/outbox, named here for this service.
type EventPublisher = outbox.Publisher
