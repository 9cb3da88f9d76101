package repotest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// store is what every aggregate repository of app/ shares: Get by id, and
// Update, which runs fn on the stored aggregate (or on a new one) and stores
// the result only when fn moved its revision.
type store[A any] interface {
	Get(ctx context.Context, id string) (A, error)
	Update(ctx context.Context, id string, fn func(*A) error) (A, error)
}

// build is one named way of changing an aggregate, moving its revision.
type build[A any] struct {
	name string
	fn   func(*A) error
}

// aggregate adapts one aggregate to the revision contract that revisionContract
// checks. Every field is required unless it says otherwise.
type aggregate[A any, R store[A]] struct {
	noun       string // "order", in the subtests' names
	errMissing error  // what Get of a missing id is
	blank      func(id string) A
	revision   func(A) int64
	id         func(A) string
	norm       func(A) A // the aggregate as any store reads it back, deep-copied
	// store stores an aggregate under id.
	store func(t *testing.T, repo R, id string) A
	// touch changes fields of an aggregate, stored or new, without moving
	// its revision.
	touch func(*A)
	// change changes a stored aggregate and moves its revision.
	change func(*A) error
	// builds make new aggregates; builds[0] also makes the aggregate of the
	// subtests of failing fns and of copies.
	builds []build[A]
	// mutate changes what an aggregate shares (slices, maps) in place, for
	// the subtest of copies.
	mutate func(*A)
	// list, optional, lists what the store holds through the port's own list
	// method: a new aggregate that was not stored must not be listed, and
	// changing what it returns must not change the store.
	list func(ctx context.Context, repo R) ([]A, error)
	// concurrentStart, optional (default store), stores the aggregate that
	// the writers of the concurrency subtest update.
	concurrentStart func(t *testing.T, repo R, id string) A
	// write is writer i's change, moving the revision once.
	write func(a *A, i int) error
	// written checks that got holds every writer's change.
	written func(t *testing.T, got A)
}

// revisionContract runs the subtests that every aggregate store shares:
// missing, fresh, unchanged revision, round trip, failing fn, copies and
// concurrency.
func revisionContract[A any, R store[A]](t *testing.T, newRepo func(t *testing.T) R, a aggregate[A, R]) {
	t.Helper()
	get := func(t *testing.T, repo R, id string) A {
		t.Helper()
		got, err := repo.Get(t.Context(), id)
		require.NoError(t, err)
		return got
	}
	listed := func(t *testing.T, repo R) []A {
		t.Helper()
		all, err := a.list(t.Context(), repo)
		require.NoError(t, err)
		return all
	}
	ids := func(as []A) []string {
		out := make([]string, len(as))
		for i, x := range as {
			out[i] = a.id(x)
		}
		return out
	}

	t.Run(fmt.Sprintf("Get of a missing %s is %v", a.noun, a.errMissing), func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)

		_, err := repo.Get(t.Context(), uniquePrefix()+"missing")

		require.ErrorIs(t, err, a.errMissing)
	})

	t.Run(fmt.Sprintf("Update of a missing %s hands fn a new %[1]s and stores nothing while Revision stays 0", a.noun), func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "new"

		var seen A
		got, err := repo.Update(t.Context(), id, func(x *A) error {
			seen = a.norm(*x)
			a.touch(x)
			return nil
		})

		require.NoError(t, err)
		assert.Equal(t, a.norm(a.blank(id)), seen, "fn must get a %s with only its id", a.noun)
		assert.Zero(t, a.revision(got))
		_, err = repo.Get(t.Context(), id)
		require.ErrorIs(t, err, a.errMissing, "a %s whose Revision did not move must not be stored", a.noun)
		if a.list != nil {
			assert.NotContains(t, ids(listed(t, repo)), id)
		}
	})

	t.Run("Update that leaves Revision unchanged stores nothing", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "a"
		stored := a.store(t, repo, id)

		_, err := repo.Update(t.Context(), id, func(x *A) error {
			a.touch(x)
			return nil
		})

		require.NoError(t, err)
		assert.Equal(t, a.norm(stored), a.norm(get(t, repo, id)))
	})

	t.Run("Update stores the result when Revision moves and hands it to the next Update", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		for i, tc := range a.builds {
			id := fmt.Sprintf("%s%d", prefix, i)
			want := a.blank(id)
			require.NoError(t, tc.fn(&want), tc.name)

			returned, err := repo.Update(t.Context(), id, tc.fn)

			require.NoError(t, err, tc.name)
			assert.Equal(t, a.norm(want), a.norm(returned), "%s: Update returns the %s as stored", tc.name, a.noun)
			assert.Equal(t, a.norm(want), a.norm(get(t, repo, id)), tc.name)

			var seen A
			_, err = repo.Update(t.Context(), id, func(x *A) error {
				seen = a.norm(*x)
				return nil
			})
			require.NoError(t, err, tc.name)
			assert.Equal(t, a.norm(want), seen, "%s: fn must get the stored %s", tc.name, a.noun)
		}
	})

	t.Run("Update whose fn fails stores nothing and returns the error", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		errBoom := errors.New("boom")
		stored := a.store(t, repo, prefix+"existing")

		_, err := repo.Update(t.Context(), prefix+"existing", func(x *A) error {
			if err := a.change(x); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		assert.Equal(t, a.norm(stored), a.norm(get(t, repo, prefix+"existing")))

		_, err = repo.Update(t.Context(), prefix+"missing", func(x *A) error {
			if err := a.builds[0].fn(x); err != nil {
				return err
			}
			return fmt.Errorf("wrapped: %w", errBoom)
		})
		require.ErrorIs(t, err, errBoom)
		_, err = repo.Get(t.Context(), prefix+"missing")
		require.ErrorIs(t, err, a.errMissing)
	})

	t.Run(fmt.Sprintf("returned %ss are copies", a.noun), func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "a"
		var inside *A
		returned, err := repo.Update(t.Context(), id, func(x *A) error {
			inside = x
			return a.builds[0].fn(x)
		})
		require.NoError(t, err)
		want := a.norm(returned)

		a.mutate(&returned)
		a.mutate(inside)
		got := get(t, repo, id)
		assert.Equal(t, want, a.norm(got), "changing what Update returned changed the store")

		a.mutate(&got)
		assert.Equal(t, want, a.norm(get(t, repo, id)), "changing what Get returned changed the store")

		if a.list == nil {
			return
		}
		all := listed(t, repo)
		require.Contains(t, ids(all), id)
		for i := range all {
			if a.id(all[i]) == id {
				a.mutate(&all[i])
			}
		}
		assert.Equal(t, want, a.norm(get(t, repo, id)), "changing what the list returned changed the store")
	})

	t.Run(fmt.Sprintf("concurrent updates of one %s are not lost", a.noun), func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		id := uniquePrefix() + "a"
		begin := a.store
		if a.concurrentStart != nil {
			begin = a.concurrentStart
		}
		start := begin(t, repo, id)

		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				_, errs[i] = repo.Update(t.Context(), id, func(x *A) error { return a.write(x, i) })
			})
		}
		wg.Wait()

		for i, err := range errs {
			require.NoError(t, err, "writer %d", i)
		}
		got := get(t, repo, id)
		a.written(t, got)
		assert.Equal(t, a.revision(start)+writers, a.revision(got))
	})
}
