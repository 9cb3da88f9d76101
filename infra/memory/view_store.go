package memory

import (
	"context"
	"strings"

	"github.com/orderflow/orderflow/app/view"
)

// ViewStore keeps the gateway's view in memory: the embedded mode's, rebuilt
// from the event topics at every start.
type ViewStore struct {
	orders *store[view.Order]
	stock  *store[view.StockLevel]
}

var _ view.Store = (*ViewStore)(nil)

// NewViewStore returns an empty ViewStore.
func NewViewStore() *ViewStore {
	return &ViewStore{
		orders: newStore(func(id string) view.Order { return view.Order{ID: id} }, view.Order.Clone,
			func(o *view.Order) int64 { return o.Revision }),
		stock: newStore(func(sku string) view.StockLevel { return view.StockLevel{SKU: sku} },
			func(l view.StockLevel) view.StockLevel { return l },
			func(l *view.StockLevel) int64 { return l.Revision }),
	}
}

// UpdateOrder implements view.Store.
func (s *ViewStore) UpdateOrder(ctx context.Context, id string, fn func(*view.Order) error) error {
	return s.orders.change(ctx, id, fn)
}

// GetOrder implements view.Store.
func (s *ViewStore) GetOrder(ctx context.Context, id string) (view.Order, error) {
	return s.orders.getOr(ctx, id, view.ErrNotFound)
}

// ListOrders implements view.Store with a scan, like OrderRepository.List.
func (s *ViewStore) ListOrders(ctx context.Context, q view.ListQuery) ([]view.Order, error) {
	return s.orders.find(ctx, func(o *view.Order) bool {
		if !o.Placed || (q.CustomerID != "" && o.CustomerID != q.CustomerID) || (q.Status != "" && o.Status != q.Status) {
			return false
		}
		return q.After == nil || newestFirst(o.CreatedAt, o.ID, q.After.CreatedAt, q.After.ID) > 0
	}, func(a, b view.Order) int {
		return newestFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID)
	}, q.Limit)
}

// UpdateStock implements view.Store.
func (s *ViewStore) UpdateStock(ctx context.Context, sku string, fn func(*view.StockLevel) error) (view.StockLevel, error) {
	return s.stock.update(ctx, sku, fn)
}

// GetStock implements view.Store.
func (s *ViewStore) GetStock(ctx context.Context, sku string) (view.StockLevel, error) {
	return s.stock.getOr(ctx, sku, view.ErrNotFound)
}

// ListStock implements view.Store.
func (s *ViewStore) ListStock(ctx context.Context) ([]view.StockLevel, error) {
	return s.stock.find(ctx, func(*view.StockLevel) bool { return true },
		func(a, b view.StockLevel) int { return strings.Compare(a.SKU, b.SKU) }, 0)
}
