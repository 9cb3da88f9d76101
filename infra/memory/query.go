package memory

import (
	"context"
	"slices"
)

// getOr returns a copy of the stored item, or missing, the port's not-found
// error, when there is none: every repository's Get.
func (s *store[T]) getOr(ctx context.Context, id string, missing error) (T, error) {
	v, ok, err := s.get(ctx, id)
	if err == nil && !ok {
		err = missing
	}
	return v, err
}

// find returns copies of the items that keep says yes to, sorted by order, at
// most limit of them (all when limit <= 0): every list but the outbox's
// (oldestFirst), as a scan, fine for the embedded mode's sizes.
func (s *store[T]) find(ctx context.Context, keep func(*T) bool, order func(a, b T) int, limit int) ([]T, error) {
	return s.findCopied(ctx, keep, s.clone, order, limit)
}

// findCopied is find with the copies made by cp (see allCopied).
func (s *store[T]) findCopied(ctx context.Context, keep func(*T) bool, cp func(T) T, order func(a, b T) int, limit int) ([]T, error) {
	found, err := s.allCopied(ctx, keep, cp)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(found, order)
	if limit > 0 && len(found) > limit {
		found = found[:limit]
	}
	return found, nil
}
