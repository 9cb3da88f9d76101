// Package memory implements the services' repository ports in memory: the
// embedded default, held to the same contract suites (infra/repotest) as MongoDB.
package memory

import (
	"context"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"
)

// store is a map of aggregates split in shards by id, each guarded by a lock
// of its own. An update runs the caller's function on a private copy under
// its shard's lock, which makes every update atomic and keeps readers from
// seeing half-made changes; updates of aggregates in other shards go on
// meanwhile. With one lock for the whole map, every order's update waited on
// every other's (a lock convoy whenever the holder was preempted: the mutex
// profile of the open model at half rate was the orders and view stores'
// locks). A scan (all) sees each shard at its own instant: each aggregate as
// of one atomic update, as MongoDB answers a query, not one snapshot of all.
type store[T any] struct {
	seed   maphash.Seed
	shards [storeShards]shard[T]
	fresh  func(id string) T
	clone  func(T) T
	rev    func(*T) int64
}

type shard[T any] struct {
	mu    sync.RWMutex
	items map[string]T
}

// storeShards is how many locks a store has: well above the handlers that
// run at once on two cores, so that two rarely meet on one.
const storeShards = 64

func newStore[T any](fresh func(string) T, clone func(T) T, rev func(*T) int64) *store[T] {
	s := &store[T]{seed: maphash.MakeSeed(), fresh: fresh, clone: clone, rev: rev}
	for i := range s.shards {
		s.shards[i].items = map[string]T{}
	}
	return s
}

func (s *store[T]) shard(id string) *shard[T] {
	return &s.shards[maphash.String(s.seed, id)%storeShards]
}

func (s *store[T]) get(ctx context.Context, id string) (T, bool, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, false, err
	}
	sh := s.shard(id)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	v, ok := sh.items[id]
	if !ok {
		return zero, false, nil
	}
	return s.clone(v), true, nil
}

func (s *store[T]) update(ctx context.Context, id string, fn func(*T) error) (T, error) {
	return s.edit(ctx, id, fn, s.clone)
}

// change is update for a caller that does not read the result: what fn left
// is stored itself, not a copy (it is a private copy already), one copy of
// the item fewer a call.
func (s *store[T]) change(ctx context.Context, id string, fn func(*T) error) error {
	_, err := s.edit(ctx, id, fn, func(work T) T { return work })
	return err
}

// edit runs fn on a private copy of the item under its shard's lock and, when
// fn changed its revision, stores keep(work); it returns the work. update keeps
// a copy (its caller holds the work), change the work itself.
func (s *store[T]) edit(ctx context.Context, id string, fn func(*T) error, keep func(T) T) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	work := s.fresh(id)
	if cur, ok := sh.items[id]; ok {
		work = s.clone(cur)
	}
	before := s.rev(&work)
	if err := fn(&work); err != nil {
		return zero, err
	}
	if s.rev(&work) != before {
		sh.items[id] = keep(work)
	}
	return work, nil
}

// modify runs fn on the stored item itself, under the lock and without copying
// it, and stores what fn left unless it failed; false means there is no such
// item (fn did not run). It costs what fn costs, whatever the size of the item
// (a product holding stock for ten thousand orders), where update copies it
// twice. That is safe because no one outside the store can reach a stored
// item: get, update and all hand out deep copies, and update stores a copy of
// its work. So fn must not keep what it is given beyond its call, and must
// change nothing when it fails (fn sees the item's maps and slices themselves).
func (s *store[T]) modify(ctx context.Context, id string, fn func(*T) error) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	v, ok := sh.items[id]
	if !ok {
		return false, nil
	}
	// v is a shallow copy (a map's value is not addressable): its maps are the
	// stored ones, so copying it costs nothing that grows with the item.
	if err := fn(&v); err != nil {
		return true, err
	}
	sh.items[id] = v
	return true, nil
}

// all returns copies of every item that keep says yes to.
func (s *store[T]) all(ctx context.Context, keep func(*T) bool) ([]T, error) {
	return s.allCopied(ctx, keep, s.clone)
}

// allCopied is all with the copies made by cp: a caller that needs part of
// each item copies that part alone (cp must share nothing stored that it
// hands out).
func (s *store[T]) allCopied(ctx context.Context, keep func(*T) bool, cp func(T) T) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []T
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, v := range sh.items {
			if keep(&v) {
				out = append(out, cp(v))
			}
		}
		sh.mu.RUnlock()
	}
	return out, nil
}

// oldestFirst returns up to limit copies of the items whose time (by at) is set
// and not after before, earliest first, ties by id: a scan, fine for the
// embedded mode's sizes.
func (s *store[T]) oldestFirst(ctx context.Context, before time.Time, limit int, at func(*T) time.Time, id func(*T) string) ([]T, error) {
	found, err := s.all(ctx, func(v *T) bool {
		t := at(v)
		return !t.IsZero() && !t.After(before)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(found, func(a, b T) int {
		if c := at(&a).Compare(at(&b)); c != 0 {
			return c
		}
		return strings.Compare(id(&a), id(&b))
	})
	if limit > 0 && len(found) > limit {
		found = found[:limit]
	}
	return found, nil
}
