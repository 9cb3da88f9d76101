package poison

import (
	"context"
	"errors"
	"fmt"
)

// Requeue puts a POISONED entry's message back onto its original topic (its
// payload and metadata, without what the poisoning added), then marks the
// entry REQUEUED. If the message fails again, it comes back as a new entry with
// its new reason. It returns ErrNotFound, or ErrNotPoisoned for an entry that
// was requeued or discarded already (the business "no"). A failed publish
// leaves the entry POISONED and returns the error.
//
// The publish comes before the mark, so nothing is lost by a crash in between:
// at worst the message is published twice, which its idempotent handlers absorb.
func (s *Service) Requeue(ctx context.Context, id string) (Entry, error) {
	e, err := s.store.Get(ctx, id)
	if err != nil {
		return Entry{}, fmt.Errorf("requeue %s: %w", id, err)
	}
	if e.Status != StatusPoisoned {
		return Entry{}, fmt.Errorf("requeue %s: %w: it is %s", id, ErrNotPoisoned, e.Status)
	}
	if e.Topic == "" {
		return Entry{}, fmt.Errorf("requeue %s: %w", id, ErrNoTopic)
	}
	if err := s.pub.Republish(ctx, e.Requeued()); err != nil {
		return Entry{}, fmt.Errorf("requeue %s: %w", id, err)
	}
	now := s.now()
	e, err = s.store.Update(ctx, id, func(e *Entry) error { return e.MarkRequeued(now) })
	if err != nil {
		return Entry{}, fmt.Errorf("mark %s requeued: %w", id, err)
	}
	return e, nil
}

// RequeueAll requeues every POISONED entry of the service, newest first,
// and returns how many it put back. Entries that cannot be requeued (no topic,
// or requeued meanwhile) are skipped; the first failed publish stops it with
// the error, the entries requeued before it staying REQUEUED, so that calling
// it again goes on with the rest.
func (s *Service) RequeueAll(ctx context.Context) (int, error) {
	n := 0
	var after *Cursor
	for {
		page, err := s.store.List(ctx, ListQuery{Status: StatusPoisoned, Limit: 100, After: after})
		if err != nil {
			return n, fmt.Errorf("requeue all: %w", err)
		}
		for _, e := range page {
			_, err := s.Requeue(ctx, e.ID)
			switch {
			case errors.Is(err, ErrNotPoisoned), errors.Is(err, ErrNoTopic), errors.Is(err, ErrNotFound):
				continue
			case err != nil:
				return n, fmt.Errorf("requeue all (%d requeued): %w", n, err)
			}
			n++
		}
		if len(page) < 100 {
			return n, nil
		}
		last := page[len(page)-1]
		after = &Cursor{PoisonedAt: last.PoisonedAt, ID: last.ID}
	}
}
