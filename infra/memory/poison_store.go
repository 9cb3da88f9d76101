package memory

import (
	"context"

	"github.com/orderflow/orderflow/app/poison"
)

// PoisonStore keeps a service's poison queue entries in memory.
type PoisonStore struct {
	s *store[poison.Entry]
}

var _ poison.Store = (*PoisonStore)(nil)

// NewPoisonStore returns an empty PoisonStore.
func NewPoisonStore() *PoisonStore {
	return &PoisonStore{s: newStore(
		func(id string) poison.Entry { return poison.Entry{ID: id} },
		poison.Entry.Clone,
		func(e *poison.Entry) int64 { return e.Revision },
	)}
}

// Save implements poison.Store.
func (r *PoisonStore) Save(ctx context.Context, e poison.Entry) error {
	_, err := r.s.update(ctx, e.ID, func(cur *poison.Entry) error {
		if cur.Revision != 0 {
			return nil // stored already: unchanged
		}
		*cur = e.Clone()
		cur.Revision = max(e.Revision, 1)
		return nil
	})
	return err
}

// Get implements poison.Store.
func (r *PoisonStore) Get(ctx context.Context, id string) (poison.Entry, error) {
	return r.s.getOr(ctx, id, poison.ErrNotFound)
}

// Update implements poison.Store.
func (r *PoisonStore) Update(ctx context.Context, id string, fn func(*poison.Entry) error) (poison.Entry, error) {
	return r.s.update(ctx, id, poison.StoredOnly(fn))
}

// List implements poison.Store with a scan: a poison queue is small.
func (r *PoisonStore) List(ctx context.Context, q poison.ListQuery) ([]poison.Entry, error) {
	return r.s.find(ctx, func(e *poison.Entry) bool {
		if q.Status != "" && e.Status != q.Status {
			return false
		}
		return q.After == nil || newestFirst(e.PoisonedAt, e.ID, q.After.PoisonedAt, q.After.ID) > 0
	}, func(a, b poison.Entry) int {
		return newestFirst(a.PoisonedAt, a.ID, b.PoisonedAt, b.ID)
	}, q.Limit)
}
