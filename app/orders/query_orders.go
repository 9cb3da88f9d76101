package orders

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// ErrBadCursor is returned for a cursor that this service did not hand out.
var ErrBadCursor = errors.New("malformed cursor")

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
	limit := in.Limit
	if limit <= 0 {
		limit = messages.DefaultListLimit
	}
	if limit > messages.MaxListLimit {
		limit = messages.MaxListLimit
	}
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
	page := Page{Orders: found}
	if len(found) > limit {
		page.Orders = found[:limit]
		last := page.Orders[limit-1]
		page.NextCursor = EncodeCursor(Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return page, nil
}

// EncodeCursor makes an opaque cursor out of a sort key.
func EncodeCursor(c Cursor) string {
	raw := strconv.FormatInt(c.CreatedAt.UnixNano(), 10) + ":" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(s string) (Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	nanos, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" {
		return Cursor{}, ErrBadCursor
	}
	n, err := strconv.ParseInt(nanos, 10, 64)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{CreatedAt: time.Unix(0, n).UTC(), ID: id}, nil
}
