// Package memory implements the services' repository ports in memory: the
// embedded default, held to the same contract suites (infra/repotest) as MongoDB.
package memory

import (
	"context"
	"sync"
)

// store is a map of aggregates guarded by one lock. An update runs the caller's
// function on a private copy under the lock, which makes every update atomic
// and keeps readers from seeing half-made changes.
type store[T any] struct {
	mu    sync.RWMutex
	items map[string]T
	fresh func(id string) T
	clone func(T) T
	rev   func(*T) int64
}

func newStore[T any](fresh func(string) T, clone func(T) T, rev func(*T) int64) *store[T] {
	return &store[T]{items: map[string]T{}, fresh: fresh, clone: clone, rev: rev}
}

func (s *store[T]) get(ctx context.Context, id string) (T, bool, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.items[id]
	if !ok {
		return zero, false, nil
	}
	return s.clone(v), true, nil
}

func (s *store[T]) update(ctx context.Context, id string, fn func(*T) error) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	work := s.fresh(id)
	if cur, ok := s.items[id]; ok {
		work = s.clone(cur)
	}
	before := s.rev(&work)
	if err := fn(&work); err != nil {
		return zero, err
	}
	if s.rev(&work) != before {
		s.items[id] = s.clone(work)
	}
	return work, nil
}

// all returns copies of every item that keep says yes to.
func (s *store[T]) all(ctx context.Context, keep func(*T) bool) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []T
	for _, v := range s.items {
		if keep(&v) {
			out = append(out, s.clone(v))
		}
	}
	return out, nil
}
