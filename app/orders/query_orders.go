package orders

import (
	"context"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/app/paging"
)

// ErrBadCursor is returned for a cursor that this service did not hand out.
var ErrBadCursor = paging.ErrBadCursor

// GetOrder returns the order or ErrNotFound.
func (s *Service) GetOrder(ctx context.Context, id string) (Order, error) {
	return s.repo.Get(ctx, id)
}

// ListOrders is the input of Service.ListOrders.
type ListOrders struct {
	CustomerID string
	Status     string
	Limit      int
	Cursor     string
}

// Page is a page of orders and the cursor of the next one ("" on the last page).
type Page struct {
	Orders     []Order
	NextCursor string
}

// ListOrders returns a page of orders, newest first, with stable cursor pagination.
func (s *Service) ListOrders(ctx context.Context, in ListOrders) (Page, error) {
	limit := paging.Limit(in.Limit)
	if in.Status != "" && !ValidStatus(in.Status) {
		return Page{}, fmt.Errorf("%w: unknown status %q", ErrInvalidOrder, in.Status)
	}
	q := ListQuery{CustomerID: in.CustomerID, Status: Status(in.Status), Limit: limit + 1}
	if in.Cursor != "" {
		c, err := DecodeCursor(in.Cursor)
		if err != nil {
			return Page{}, err
		}
		q.After = &c
	}
	found, err := s.repo.List(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("list orders: %w", err)
	}
	var page Page
	page.Orders, page.NextCursor = paging.Cut(found, limit, func(o *Order) (time.Time, string) { return o.CreatedAt, o.ID })
	return page, nil
}

// EncodeCursor makes an opaque cursor out of a sort key.
func EncodeCursor(c Cursor) string { return paging.Encode(c.CreatedAt, c.ID) }

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(s string) (Cursor, error) {
	at, id, err := paging.Decode(s)
	if err != nil {
		return Cursor{}, err
	}
	return Cursor{CreatedAt: at, ID: id}, nil
}
