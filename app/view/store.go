package view

import (
	"context"
	"time"
)

// Store keeps the view's documents.
type Store interface {
	// UpdateOrder runs fn on the stored order, or on a new Order{ID: id} when
	// there is none, and saves the result atomically if fn moved its Revision.
	// fn may run more than once. The view never reads back what it wrote, so
	// nothing is returned (a store keeps what fn left, no copy of it).
	UpdateOrder(ctx context.Context, id string, fn func(*Order) error) error
	// GetOrder returns the order or ErrNotFound.
	GetOrder(ctx context.Context, id string) (Order, error)
	// ListOrders returns up to q.Limit placed orders, newest first (created_at,
	// then id, both descending), after q.After when set, of q.CustomerID and
	// with q.Status when set.
	ListOrders(ctx context.Context, q ListQuery) ([]Order, error)

	// UpdateStock works as UpdateOrder for the level of a SKU.
	UpdateStock(ctx context.Context, sku string, fn func(*StockLevel) error) (StockLevel, error)
	// GetStock returns the level or ErrNotFound.
	GetStock(ctx context.Context, sku string) (StockLevel, error)
	// ListStock returns every level, sorted by SKU.
	ListStock(ctx context.Context) ([]StockLevel, error)
}

// ListQuery selects a page of orders.
type ListQuery struct {
	CustomerID string
	Status     string
	Limit      int
	After      *Cursor
}

// Cursor is the sort key of the last order of a page.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// Page is a page of orders and the cursor of the next, empty on the last.
type Page struct {
	Orders     []Order
	NextCursor string
}
