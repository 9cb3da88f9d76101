package inventory

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
)

// Products stores the stock of each SKU.
type Products interface {
	// Get returns the product or ErrUnknownSKU.
	Get(ctx context.Context, sku string) (Product, error)
	// List returns every product, sorted by SKU.
	List(ctx context.Context) ([]Product, error)
	// Update runs fn on the stored product, or on a new Product{SKU: sku} when
	// there is none, and saves the result atomically if fn moved its Revision.
	// fn may run more than once; Update returns the product as stored after it.
	// It reads and writes the whole product, holds included: it is for the rare
	// changes of stock (SetStock, SeedStock), not for the holds of every order.
	Update(ctx context.Context, sku string, fn func(*Product) error) (Product, error)

	// Hold, Release and Commit are the per-order changes of an existing product,
	// each one atomic on the product alone and as cheap with ten thousand holds
	// as with none. Each moves the Revision by one when it changes something,
	// so an Update that read the product before retries on what they stored.
	// An order id that is not a ValidOrderID, or a quantity below one, is an
	// ErrInvalidStock error (see ValidateHold), and changes nothing.

	// Hold works as Product.Hold on the stored product: it holds qty for the
	// order unless the order holds already (then it changes nothing) and only
	// if qty is available, else it returns an *InsufficientStockError. It
	// returns ErrUnknownSKU, and creates nothing, when there is no such product.
	Hold(ctx context.Context, sku, orderID string, qty int, now time.Time) error
	// Release works as Product.Release: the order's hold, if any, becomes
	// available again. No hold, or no product, is no change and no error.
	Release(ctx context.Context, sku, orderID string, now time.Time) error
	// Commit works as Product.Commit: the order's hold, if any, leaves on-hand
	// and reserved stock. No hold, or no product, is no change and no error.
	Commit(ctx context.Context, sku, orderID string, now time.Time) error

	// ListLevelsPending returns up to limit products whose LevelPending is
	// set, sorted by SKU. What they hold per order may be left out (Holds
	// nil): a level needs the counts alone.
	ListLevelsPending(ctx context.Context, limit int) ([]Product, error)
	// MarkLevelPublished clears LevelPending if the product is still at
	// revision (its level at that revision was published); a product changed
	// since stays pending. It does not move the Revision. No product is no error.
	MarkLevelPublished(ctx context.Context, sku string, revision int64) error
}

// Reservations stores the reservation of each order.
type Reservations interface {
	// Get returns the reservation or ErrNoReservation.
	Get(ctx context.Context, orderID string) (Reservation, error)
	// Update works as Products.Update, keyed by order id.
	Update(ctx context.Context, orderID string, fn func(*Reservation) error) (Reservation, error)
	// ListUnpublished returns up to limit reservations having a change whose
	// event is not published and whose At is not after before, the oldest such
	// change first (see Reservation.UnpublishedSince).
	ListUnpublished(ctx context.Context, before time.Time, limit int) ([]Reservation, error)
}

// EventPublisher publishes domain events (watermill's cqrs.EventBus in
// production): the one port of app/outbox, named here for this service.
type EventPublisher = outbox.Publisher
