package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/orderflow/orderflow/app/orders"
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
	o, ok, err := s.orders.get(ctx, id)
	if err != nil {
		return view.Order{}, err
	}
	if !ok {
		return view.Order{}, view.ErrNotFound
	}
	return o, nil
}

// ListOrders implements view.Store with a scan, like OrderRepository.List.
func (s *ViewStore) ListOrders(ctx context.Context, q view.ListQuery) ([]view.Order, error) {
	found, err := s.orders.all(ctx, func(o *view.Order) bool {
		if !o.Placed || (q.CustomerID != "" && o.CustomerID != q.CustomerID) || (q.Status != "" && o.Status != q.Status) {
			return false
		}
		return q.After == nil || newerFirst(&orders.Order{ID: o.ID, CreatedAt: o.CreatedAt}, &orders.Cursor{CreatedAt: q.After.CreatedAt, ID: q.After.ID}) > 0
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(found, func(a, b view.Order) int {
		return newerFirst(&orders.Order{ID: a.ID, CreatedAt: a.CreatedAt}, &orders.Cursor{CreatedAt: b.CreatedAt, ID: b.ID})
	})
	if q.Limit > 0 && len(found) > q.Limit {
		found = found[:q.Limit]
	}
	return found, nil
}

// UpdateStock implements view.Store.
func (s *ViewStore) UpdateStock(ctx context.Context, sku string, fn func(*view.StockLevel) error) (view.StockLevel, error) {
	return s.stock.update(ctx, sku, fn)
}

// GetStock implements view.Store.
func (s *ViewStore) GetStock(ctx context.Context, sku string) (view.StockLevel, error) {
	l, ok, err := s.stock.get(ctx, sku)
	if err != nil {
		return view.StockLevel{}, err
	}
	if !ok {
		return view.StockLevel{}, view.ErrNotFound
	}
	return l, nil
}

// ListStock implements view.Store.
func (s *ViewStore) ListStock(ctx context.Context) ([]view.StockLevel, error) {
	all, err := s.stock.all(ctx, func(*view.StockLevel) bool { return true })
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b view.StockLevel) int { return strings.Compare(a.SKU, b.SKU) })
	return all, nil
}
