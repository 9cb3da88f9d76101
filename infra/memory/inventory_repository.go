package memory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/orderflow/orderflow/app/inventory"
)

// ProductRepository keeps stock in memory.
type ProductRepository struct {
	s *store[inventory.Product]
}

var _ inventory.Products = (*ProductRepository)(nil)

// NewProductRepository returns an empty ProductRepository.
func NewProductRepository() *ProductRepository {
	return &ProductRepository{s: newStore(
		func(sku string) inventory.Product { return inventory.Product{SKU: sku} },
		inventory.Product.Clone,
		func(p *inventory.Product) int64 { return p.Revision },
	)}
}

// Get implements inventory.Products.
func (r *ProductRepository) Get(ctx context.Context, sku string) (inventory.Product, error) {
	return r.s.getOr(ctx, sku, inventory.ErrUnknownSKU)
}

// List implements inventory.Products.
func (r *ProductRepository) List(ctx context.Context) ([]inventory.Product, error) {
	return r.s.find(ctx, func(*inventory.Product) bool { return true }, productsBySKU, 0)
}

// Update implements inventory.Products.
func (r *ProductRepository) Update(ctx context.Context, sku string, fn func(*inventory.Product) error) (inventory.Product, error) {
	return r.s.update(ctx, sku, fn)
}

// Hold implements inventory.Products in place, without copying the product.
func (r *ProductRepository) Hold(ctx context.Context, sku, orderID string, qty int, now time.Time) error {
	if err := inventory.ValidateHold(orderID, qty); err != nil {
		return err
	}
	found, err := r.s.modify(ctx, sku, func(p *inventory.Product) error {
		return p.Hold(orderID, qty, now)
	})
	if err != nil {
		return err
	}
	if !found {
		return inventory.ErrUnknownSKU
	}
	return nil
}

// Release implements inventory.Products in place, without copying the product.
func (r *ProductRepository) Release(ctx context.Context, sku, orderID string, now time.Time) error {
	if err := inventory.ValidateOrderID(orderID); err != nil {
		return err
	}
	_, err := r.s.modify(ctx, sku, func(p *inventory.Product) error {
		p.Release(orderID, now)
		return nil
	})
	return err
}

// Commit implements inventory.Products in place, without copying the product.
func (r *ProductRepository) Commit(ctx context.Context, sku, orderID string, now time.Time) error {
	if err := inventory.ValidateOrderID(orderID); err != nil {
		return err
	}
	_, err := r.s.modify(ctx, sku, func(p *inventory.Product) error {
		p.Commit(orderID, now)
		return nil
	})
	return err
}

// ListLevelsPending implements inventory.Products.
// What the products hold per order is left out: copying the holds of every
// pending product every round, under the store's lock, would cost what the
// product holds (a SKU held for ten thousand orders) and hold up the holds.
func (r *ProductRepository) ListLevelsPending(ctx context.Context, limit int) ([]inventory.Product, error) {
	return r.s.findCopied(ctx, func(p *inventory.Product) bool { return p.LevelPending }, func(p inventory.Product) inventory.Product {
		p.Holds, p.History = nil, slices.Clone(p.History)
		return p
	}, productsBySKU, limit)
}

func productsBySKU(a, b inventory.Product) int { return strings.Compare(a.SKU, b.SKU) }

// MarkLevelPublished implements inventory.Products.
func (r *ProductRepository) MarkLevelPublished(ctx context.Context, sku string, revision int64) error {
	_, err := r.s.modify(ctx, sku, func(p *inventory.Product) error {
		if p.Revision == revision {
			p.LevelPending = false
		}
		return nil
	})
	return err
}

// ReservationRepository keeps reservations in memory.
type ReservationRepository struct {
	s *store[inventory.Reservation]
}

var _ inventory.Reservations = (*ReservationRepository)(nil)

// NewReservationRepository returns an empty ReservationRepository.
func NewReservationRepository() *ReservationRepository {
	return &ReservationRepository{s: newStore(
		func(id string) inventory.Reservation { return inventory.Reservation{OrderID: id} },
		inventory.Reservation.Clone,
		func(r *inventory.Reservation) int64 { return r.Revision },
	)}
}

// Get implements inventory.Reservations.
func (r *ReservationRepository) Get(ctx context.Context, orderID string) (inventory.Reservation, error) {
	return r.s.getOr(ctx, orderID, inventory.ErrNoReservation)
}

// Update implements inventory.Reservations.
func (r *ReservationRepository) Update(ctx context.Context, orderID string, fn func(*inventory.Reservation) error) (inventory.Reservation, error) {
	return r.s.update(ctx, orderID, fn)
}

// ListUnpublished implements inventory.Reservations.
func (r *ReservationRepository) ListUnpublished(ctx context.Context, before time.Time, limit int) ([]inventory.Reservation, error) {
	return r.s.oldestFirst(ctx, before, limit, (*inventory.Reservation).UnpublishedSince, func(res *inventory.Reservation) string { return res.OrderID })
}
