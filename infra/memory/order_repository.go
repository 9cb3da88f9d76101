package memory

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/orderflow/orderflow/app/orders"
)

// OrderRepository keeps orders in memory.
type OrderRepository struct {
	s *store[orders.Order]
}

var _ orders.Repository = (*OrderRepository)(nil)

// NewOrderRepository returns an empty OrderRepository.
func NewOrderRepository() *OrderRepository {
	return &OrderRepository{s: newStore(
		func(id string) orders.Order { return orders.Order{ID: id} },
		orders.Order.Clone,
		func(o *orders.Order) int64 { return o.Revision },
	)}
}

// Get implements orders.Repository.
func (r *OrderRepository) Get(ctx context.Context, id string) (orders.Order, error) {
	return r.s.getOr(ctx, id, orders.ErrNotFound)
}

// Update implements orders.Repository.
func (r *OrderRepository) Update(ctx context.Context, id string, fn func(*orders.Order) error) (orders.Order, error) {
	return r.s.update(ctx, id, fn)
}

// List implements orders.Repository with a scan: fine for the embedded mode's sizes.
func (r *OrderRepository) List(ctx context.Context, q orders.ListQuery) ([]orders.Order, error) {
	found, err := r.s.all(ctx, func(o *orders.Order) bool {
		if q.CustomerID != "" && o.CustomerID != q.CustomerID {
			return false
		}
		if q.Status != "" && o.Status != q.Status {
			return false
		}
		return q.After == nil || newerFirst(o, q.After) > 0
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(found, func(a, b orders.Order) int {
		return newerFirst(&a, &orders.Cursor{CreatedAt: b.CreatedAt, ID: b.ID})
	})
	if q.Limit > 0 && len(found) > q.Limit {
		found = found[:q.Limit]
	}
	return found, nil
}

// ListUnpublished implements orders.Repository.
func (r *OrderRepository) ListUnpublished(ctx context.Context, before time.Time, limit int) ([]orders.Order, error) {
	return r.s.oldestFirst(ctx, before, limit, (*orders.Order).UnpublishedSince, func(o *orders.Order) string { return o.ID })
}

// ListAwaiting implements orders.Repository.
func (r *OrderRepository) ListAwaiting(ctx context.Context, before time.Time, limit int) ([]orders.Order, error) {
	return r.s.oldestFirst(ctx, before, limit, func(o *orders.Order) time.Time { return o.AwaitingSince }, func(o *orders.Order) string { return o.ID })
}

// newerFirst compares an order's sort key with a cursor: > 0 when the order comes
// after the cursor in newest-first order (older, or as old with a smaller id).
func newerFirst(o *orders.Order, c *orders.Cursor) int {
	if o.CreatedAt.Equal(c.CreatedAt) {
		return strings.Compare(c.ID, o.ID)
	}
	return cmp.Compare(c.CreatedAt.UnixNano(), o.CreatedAt.UnixNano())
}
