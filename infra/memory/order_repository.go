package memory

import (
	"cmp"
	"context"
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
	return r.s.find(ctx, func(o *orders.Order) bool {
		if q.CustomerID != "" && o.CustomerID != q.CustomerID {
			return false
		}
		if q.Status != "" && o.Status != q.Status {
			return false
		}
		return q.After == nil || newestFirst(o.CreatedAt, o.ID, q.After.CreatedAt, q.After.ID) > 0
	}, func(a, b orders.Order) int {
		return newestFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID)
	}, q.Limit)
}

// ListUnpublished implements orders.Repository.
func (r *OrderRepository) ListUnpublished(ctx context.Context, before time.Time, limit int) ([]orders.Order, error) {
	return r.s.oldestFirst(ctx, before, limit, (*orders.Order).UnpublishedSince, func(o *orders.Order) string { return o.ID })
}

// ListAwaiting implements orders.Repository.
func (r *OrderRepository) ListAwaiting(ctx context.Context, before time.Time, limit int) ([]orders.Order, error) {
	return r.s.oldestFirst(ctx, before, limit, func(o *orders.Order) time.Time { return o.AwaitingSince }, func(o *orders.Order) string { return o.ID })
}

// newestFirst compares the sort key (at, id) of an item of a newest-first
// list with a cursor's (cAt, cID): > 0 when the item comes after the cursor
// (older, or as old with a smaller id). Orders, their views and poison queue
// entries are all listed so.
func newestFirst(at time.Time, id string, cAt time.Time, cID string) int {
	if at.Equal(cAt) {
		return strings.Compare(cID, id)
	}
	return cmp.Compare(cAt.UnixNano(), at.UnixNano())
}
