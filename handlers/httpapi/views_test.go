package httpapi_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/handlers/httpapi"
	"github.com/orderflow/orderflow/messages"
)

// The queries of the view, as the fake records and answers them: the tests
// of the API say what the view holds by answering these, as they answer commands.
type (
	getOrder       struct{ OrderID string }
	getOrderResult struct {
		Outcome string
		Order   *messages.Order
	}
	listOrders struct {
		CustomerID string
		Status     string
		Limit      int
		Cursor     string
	}
	listOrdersResult struct {
		Outcome    string
		Detail     string
		Orders     []messages.Order
		NextCursor string
	}
	getShipment       struct{ OrderID string }
	getShipmentResult struct {
		Outcome  string
		Shipment *messages.Shipment
	}
	getStock        struct{ SKU string }
	listStock       struct{}
	listStockResult struct{ Stock []messages.StockLevel }
)

// fakeViews is the view of the API's tests: each query goes to the fake
// requester (recorded, answered by the test) as one of the types above; the
// merges of commands' answers are recorded apart.
type fakeViews struct {
	f *fakeRequester

	mu     sync.Mutex
	merged []any
}

var _ httpapi.Views = (*fakeViews)(nil)

func toViewOrder(o messages.Order) view.Order {
	return view.Order{ID: o.OrderID, CustomerID: o.CustomerID, Items: o.Items, Placed: true, Status: o.Status,
		Reason: o.Reason, History: o.History, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

func (v *fakeViews) Order(ctx context.Context, id string) (view.Order, error) {
	var res getOrderResult
	if err := v.f.Request(ctx, getOrder{OrderID: id}, &res); err != nil {
		return view.Order{}, err
	}
	if res.Outcome != messages.OutcomeOK || res.Order == nil {
		return view.Order{}, view.ErrNotFound
	}
	return toViewOrder(*res.Order), nil
}

func (v *fakeViews) Orders(ctx context.Context, q view.ListOrders) (view.Page, error) {
	var res listOrdersResult
	if err := v.f.Request(ctx, listOrders(q), &res); err != nil {
		return view.Page{}, err
	}
	if res.Outcome == messages.OutcomeInvalid {
		return view.Page{}, fmt.Errorf("%w: %s", view.ErrBadCursor, res.Detail)
	}
	page := view.Page{Orders: []view.Order{}, NextCursor: res.NextCursor}
	for _, o := range res.Orders {
		page.Orders = append(page.Orders, toViewOrder(o))
	}
	return page, nil
}

func (v *fakeViews) Shipment(ctx context.Context, orderID string) (messages.Shipment, error) {
	var res getShipmentResult
	if err := v.f.Request(ctx, getShipment{OrderID: orderID}, &res); err != nil {
		return messages.Shipment{}, err
	}
	if res.Outcome != messages.OutcomeOK || res.Shipment == nil {
		return messages.Shipment{}, view.ErrNotFound
	}
	return *res.Shipment, nil
}

func (v *fakeViews) Stock(ctx context.Context, sku string) (view.StockLevel, error) {
	var res messages.StockResult
	if err := v.f.Request(ctx, getStock{SKU: sku}, &res); err != nil {
		return view.StockLevel{}, err
	}
	if res.Outcome != messages.OutcomeOK || res.Stock == nil {
		return view.StockLevel{}, view.ErrNotFound
	}
	return view.LevelFrom(*res.Stock, time.Time{}), nil
}

func (v *fakeViews) AllStock(ctx context.Context) ([]view.StockLevel, error) {
	var res listStockResult
	if err := v.f.Request(ctx, listStock{}, &res); err != nil {
		return nil, err
	}
	var out []view.StockLevel
	for _, l := range res.Stock {
		out = append(out, view.LevelFrom(l, time.Time{}))
	}
	return out, nil
}

func (v *fakeViews) merge(x any) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.merged = append(v.merged, x)
	return nil
}

func (v *fakeViews) MergeOrder(_ context.Context, o messages.Order, _ view.Source) error {
	return v.merge(o)
}

func (v *fakeViews) MergeShipment(_ context.Context, s messages.Shipment, _ view.Source) error {
	return v.merge(s)
}

func (v *fakeViews) StockLevel(_ context.Context, l messages.StockLevel, _ time.Time) error {
	return v.merge(l)
}

// Merged returns what the API merged into the view so far.
func (v *fakeViews) Merged() []any {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]any(nil), v.merged...)
}
