package inventory

import "context"

// Products stores the stock of each SKU.
type Products interface {
	// Get returns the product or ErrUnknownSKU.
	Get(ctx context.Context, sku string) (Product, error)
	// List returns every product, sorted by SKU.
	List(ctx context.Context) ([]Product, error)
	// Update runs fn on the stored product, or on a new Product{SKU: sku} when
	// there is none, and saves the result atomically if fn moved its Revision.
	// fn may run more than once; Update returns the product as stored after it.
	Update(ctx context.Context, sku string, fn func(*Product) error) (Product, error)
}

// Reservations stores the reservation of each order.
type Reservations interface {
	// Get returns the reservation or ErrNoReservation.
	Get(ctx context.Context, orderID string) (Reservation, error)
	// Update works as Products.Update, keyed by order id.
	Update(ctx context.Context, orderID string, fn func(*Reservation) error) (Reservation, error)
}

// EventPublisher publishes domain events (watermill's cqrs.EventBus in production).
type EventPublisher interface {
	Publish(ctx context.Context, event any) error
}
