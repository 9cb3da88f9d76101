package poison

import (
	"context"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/app/paging"
	"github.com/orderflow/orderflow/messages"
)

// ErrBadCursor is returned for a cursor that this service did not hand out.
var ErrBadCursor = paging.ErrBadCursor

// ErrBadStatus is returned for a status filter that names no status.
var ErrBadStatus = fmt.Errorf("%w: unknown poison queue status", messages.ErrInvalid)

// Get returns the entry or ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (Entry, error) {
	return s.store.Get(ctx, id)
}

// List is the input of Service.List.
type List struct {
	Status string
	Limit  int
	Cursor string
}

// Page is a page of entries and the cursor of the next one ("" on the last page).
type Page struct {
	Entries    []Entry
	NextCursor string
}

// List returns a page of entries, newest first, with stable cursor pagination.
func (s *Service) List(ctx context.Context, in List) (Page, error) {
	limit := paging.Limit(in.Limit)
	if in.Status != "" && !ValidStatus(in.Status) {
		return Page{}, fmt.Errorf("%w %q", ErrBadStatus, in.Status)
	}
	q := ListQuery{Status: Status(in.Status), Limit: limit + 1}
	if in.Cursor != "" {
		c, err := DecodeCursor(in.Cursor)
		if err != nil {
			return Page{}, err
		}
		q.After = &c
	}
	found, err := s.store.List(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("list poison queue: %w", err)
	}
	var page Page
	page.Entries, page.NextCursor = paging.Cut(found, limit, func(e *Entry) (time.Time, string) { return e.PoisonedAt, e.ID })
	return page, nil
}

// EncodeCursor makes an opaque cursor out of a sort key.
func EncodeCursor(c Cursor) string { return paging.Encode(c.PoisonedAt, c.ID) }

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(s string) (Cursor, error) {
	at, id, err := paging.Decode(s)
	if err != nil {
		return Cursor{}, err
	}
	return Cursor{PoisonedAt: at, ID: id}, nil
}
