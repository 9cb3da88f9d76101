package poison

import (
	"context"
	"fmt"
)

// Discard marks a POISONED entry DISCARDED: the operator dealt with it, and
// the record is kept. Discarding it again changes nothing; it returns
// ErrNotFound, or ErrNotPoisoned for an entry that was requeued.
func (s *Service) Discard(ctx context.Context, id string) (Entry, error) {
	now := s.now()
	e, err := s.store.Update(ctx, id, func(e *Entry) error { return e.Discard(now) })
	if err != nil {
		return Entry{}, fmt.Errorf("discard %s: %w", id, err)
	}
	return e, nil
}
