package repotest

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/inventory"
)

// Products runs the contract of inventory.Products against the repositories newRepo makes.
func Products(t *testing.T, newRepo func(t *testing.T) inventory.Products) {
	revisionContract(t, newRepo, aggregate[inventory.Product, inventory.Products]{
		noun:       "product",
		errMissing: inventory.ErrUnknownSKU,
		blank:      func(sku string) inventory.Product { return inventory.Product{SKU: sku} },
		revision:   func(p inventory.Product) int64 { return p.Revision },
		id:         func(p inventory.Product) string { return p.SKU },
		norm:       normProduct,
		store: func(t *testing.T, repo inventory.Products, sku string) inventory.Product {
			t.Helper()
			return storeProduct(t, repo, sku, 10, "order-1")
		},
		touch: func(p *inventory.Product) {
			p.OnHand = 99
			if p.Holds != nil {
				p.Holds["order-1"] = 7
			}
		},
		change: func(p *inventory.Product) error { return p.Hold("order-2", 3, at(2030, time.Hour)) },
		builds: []build[inventory.Product]{
			{"holds", func(p *inventory.Product) error {
				now := at(2030, 0)
				if err := p.SetOnHand(100, now); err != nil {
					return err
				}
				for i, order := range []string{"order-a", "order-b", "order-c"} {
					if err := p.Hold(order, 3+i, now.Add(time.Duration(i)*time.Second)); err != nil {
						return err
					}
				}
				p.Release("order-a", now.Add(time.Minute))
				return nil
			}},
			{"history", func(p *inventory.Product) error {
				now := at(2030, 0)
				if err := p.SetOnHand(7, now); err != nil {
					return err
				}
				p.RecordChange("operator:key-1a2b3c4d", "corr-1", now)
				if err := p.SetOnHand(9, now.Add(time.Second)); err != nil {
					return err
				}
				p.RecordChange("seed", "", now.Add(time.Second))
				return nil
			}},
			{"no holds left", func(p *inventory.Product) error {
				now := at(2030, 0)
				if err := p.SetOnHand(5, now); err != nil {
					return err
				}
				if err := p.Hold("order-a", 2, now); err != nil {
					return err
				}
				p.Commit("order-a", now.Add(time.Minute))
				return nil
			}},
		},
		mutate: func(p *inventory.Product) {
			p.Holds["order-b"] = 9
			p.Holds["order-2"] = 1
			delete(p.Holds, "order-c")
			if len(p.History) > 0 {
				p.History[0].By = "mutated"
			}
		},
		list: func(ctx context.Context, repo inventory.Products) ([]inventory.Product, error) { return repo.List(ctx) },
		concurrentStart: func(t *testing.T, repo inventory.Products, sku string) inventory.Product {
			t.Helper()
			return stockProduct(t, repo, sku, 1000)
		},
		write: func(p *inventory.Product, i int) error {
			return p.Hold(writerName(i), i+1, at(2030, time.Duration(i)*time.Second))
		},
		written: func(t *testing.T, got inventory.Product) {
			t.Helper()
			want := map[string]int{}
			total := 0
			for i := range writers {
				want[writerName(i)] = i + 1
				total += i + 1
			}
			assert.Equal(t, want, got.Holds)
			assert.Equal(t, total, got.Reserved)
			assert.Equal(t, 1000, got.OnHand)
		},
	})

	t.Run("Hold, Release and Commit of a missing product create nothing", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "missing"

		err := repo.Hold(t.Context(), sku, "order-1", 1, at(2030, 0))
		require.ErrorIs(t, err, inventory.ErrUnknownSKU)
		require.NoError(t, repo.Release(t.Context(), sku, "order-1", at(2030, 0)))
		require.NoError(t, repo.Commit(t.Context(), sku, "order-1", at(2030, 0)))

		_, err = repo.Get(t.Context(), sku)
		require.ErrorIs(t, err, inventory.ErrUnknownSKU)
	})

	t.Run("Hold holds once per order", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "p"
		stored := stockProduct(t, repo, sku, 10)
		orders := []string{"order-1", "0b7e9c1e-3f0a-4c59-9d1a-6f2f1c3a9b10", "12345", "Order_2"}

		for i, order := range orders {
			now := at(2030, time.Duration(i+1)*time.Hour)
			require.NoError(t, repo.Hold(t.Context(), sku, order, i+1, now), order)

			got := getProduct(t, repo, sku)
			assert.Equal(t, i+1, got.Holds[order], order)
			assert.Equal(t, stored.Revision+int64(i+1), got.Revision, "%s: a hold moves the revision by one", order)
			assert.Equal(t, normTime(now), got.UpdatedAt, order)
		}
		held := getProduct(t, repo, sku)
		assert.Equal(t, map[string]int{orders[0]: 1, orders[1]: 2, orders[2]: 3, orders[3]: 4}, held.Holds)
		assert.Equal(t, 10, held.Reserved)
		assert.Equal(t, 0, held.Available())
		assert.Equal(t, 20, held.OnHand+held.Reserved)

		for _, qty := range []int{1, 4, 11} {
			require.NoError(t, repo.Hold(t.Context(), sku, orders[1], qty, at(2031, 0)), "again, %d", qty)
		}
		assert.Equal(t, held, getProduct(t, repo, sku), "holding again for an order that holds changes nothing")
	})

	t.Run("Hold refuses more than is available and says how much is", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "p"
		stockProduct(t, repo, sku, 10)
		require.NoError(t, repo.Hold(t.Context(), sku, "order-1", 4, at(2030, time.Hour)))
		before := getProduct(t, repo, sku)

		err := repo.Hold(t.Context(), sku, "order-2", 7, at(2030, 2*time.Hour))

		var short *inventory.InsufficientStockError
		require.ErrorAs(t, err, &short)
		require.ErrorIs(t, err, inventory.ErrInsufficientStock)
		assert.Equal(t, inventory.InsufficientStockError{SKU: sku, Requested: 7, Available: 6}, *short)
		assert.Equal(t, before, getProduct(t, repo, sku), "a refused hold changes nothing")

		require.NoError(t, repo.Hold(t.Context(), sku, "order-2", 6, at(2030, 3*time.Hour)), "all that is left")
		err = repo.Hold(t.Context(), sku, "order-3", 1, at(2030, 4*time.Hour))
		require.ErrorAs(t, err, &short)
		assert.Equal(t, 0, short.Available)
		got := getProduct(t, repo, sku)
		assert.Equal(t, 10, got.Reserved)
		assert.Equal(t, 0, got.Available())
	})

	t.Run("Hold, Release and Commit refuse an invalid order id or quantity", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "p"
		stockProduct(t, repo, sku, 10)
		require.NoError(t, repo.Hold(t.Context(), sku, "order-1", 1, at(2030, time.Hour)))
		before := getProduct(t, repo, sku)
		now := at(2030, 2*time.Hour)

		for _, id := range []string{"", "a.b", "$a", "a b", strings.Repeat("a", inventory.MaxOrderIDLength+1)} {
			require.ErrorIs(t, repo.Hold(t.Context(), sku, id, 1, now), inventory.ErrInvalidStock, "hold %q", id)
			require.ErrorIs(t, repo.Release(t.Context(), sku, id, now), inventory.ErrInvalidStock, "release %q", id)
			require.ErrorIs(t, repo.Commit(t.Context(), sku, id, now), inventory.ErrInvalidStock, "commit %q", id)
		}
		for _, qty := range []int{0, -1} {
			require.ErrorIs(t, repo.Hold(t.Context(), sku, "order-2", qty, now), inventory.ErrInvalidStock, "hold %d", qty)
		}
		assert.Equal(t, before, getProduct(t, repo, sku))
	})

	t.Run("Release and Commit take the order's hold away once", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "p"
		stockProduct(t, repo, sku, 10)
		require.NoError(t, repo.Hold(t.Context(), sku, "order-1", 3, at(2030, time.Hour)))
		require.NoError(t, repo.Hold(t.Context(), sku, "order-2", 4, at(2030, time.Hour)))
		rev := getProduct(t, repo, sku).Revision

		require.NoError(t, repo.Release(t.Context(), sku, "order-1", at(2030, 2*time.Hour)))
		released := getProduct(t, repo, sku)
		assert.Equal(t, map[string]int{"order-2": 4}, released.Holds)
		assert.Equal(t, 10, released.OnHand)
		assert.Equal(t, 4, released.Reserved)
		assert.Equal(t, 6, released.Available())
		assert.Equal(t, rev+1, released.Revision)
		assert.Equal(t, normTime(at(2030, 2*time.Hour)), released.UpdatedAt)

		require.NoError(t, repo.Release(t.Context(), sku, "order-1", at(2030, 3*time.Hour)))
		require.NoError(t, repo.Commit(t.Context(), sku, "order-1", at(2030, 3*time.Hour)))
		require.NoError(t, repo.Release(t.Context(), sku, "order-never-held", at(2030, 3*time.Hour)))
		assert.Equal(t, released, getProduct(t, repo, sku), "a second release, or a commit after it, changes nothing")

		require.NoError(t, repo.Commit(t.Context(), sku, "order-2", at(2030, 4*time.Hour)))
		committed := getProduct(t, repo, sku)
		assert.Empty(t, committed.Holds)
		assert.Equal(t, 6, committed.OnHand)
		assert.Equal(t, 0, committed.Reserved)
		assert.Equal(t, 6, committed.Available())
		assert.Equal(t, rev+2, committed.Revision)

		require.NoError(t, repo.Commit(t.Context(), sku, "order-2", at(2030, 5*time.Hour)))
		require.NoError(t, repo.Release(t.Context(), sku, "order-2", at(2030, 5*time.Hour)))
		assert.Equal(t, committed, getProduct(t, repo, sku), "a second commit, or a release after it, changes nothing")

		require.NoError(t, repo.Hold(t.Context(), sku, "order-3", 6, at(2030, 6*time.Hour)), "what was released can be held")
		last := getProduct(t, repo, sku)
		assert.Equal(t, 0, last.Available())
	})

	t.Run("Update sees what Hold stored and keeps it", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "p"
		stockProduct(t, repo, sku, 10)
		require.NoError(t, repo.Hold(t.Context(), sku, "order-1", 4, at(2030, time.Hour)))

		_, err := repo.Update(t.Context(), sku, func(p *inventory.Product) error { return p.SetOnHand(3, at(2030, 2*time.Hour)) })
		require.ErrorIs(t, err, inventory.ErrBelowReserved)
		updated, err := repo.Update(t.Context(), sku, func(p *inventory.Product) error { return p.SetOnHand(5, at(2030, 2*time.Hour)) })
		require.NoError(t, err)
		assert.Equal(t, map[string]int{"order-1": 4}, updated.Holds)
		assert.Equal(t, 1, updated.Available())

		err = repo.Hold(t.Context(), sku, "order-2", 2, at(2030, 3*time.Hour))
		require.ErrorIs(t, err, inventory.ErrInsufficientStock, "Update keeps what Hold tests in step")
		require.NoError(t, repo.Hold(t.Context(), sku, "order-2", 1, at(2030, 3*time.Hour)))
		require.NoError(t, repo.Commit(t.Context(), sku, "order-1", at(2030, 4*time.Hour)))
		got := getProduct(t, repo, sku)
		assert.Equal(t, map[string]int{"order-2": 1}, got.Holds)
		assert.Equal(t, 1, got.OnHand)
		assert.Equal(t, 0, got.Available())
	})

	t.Run("concurrent holds never hold more than the stock", func(t *testing.T) {
		t.Parallel()
		const holders, stock = 50, 20
		repo := newRepo(t)
		sku := uniquePrefix() + "p"
		stored := stockProduct(t, repo, sku, stock)

		errs := make([]error, holders)
		var wg sync.WaitGroup
		for i := range holders {
			wg.Go(func() { errs[i] = repo.Hold(t.Context(), sku, writerName(i), 1, at(2030, time.Hour)) })
		}
		wg.Wait()

		got := getProduct(t, repo, sku)
		won := 0
		for i, err := range errs {
			if err == nil {
				won++
				assert.Equal(t, 1, got.Holds[writerName(i)], "holder %d won but holds nothing", i)
				continue
			}
			var short *inventory.InsufficientStockError
			if assert.ErrorAs(t, err, &short, "holder %d", i) {
				assert.Equal(t, 0, short.Available, "holder %d lost while stock was available", i)
			}
			assert.NotContains(t, got.Holds, writerName(i))
		}
		assert.Equal(t, stock, won)
		assert.Len(t, got.Holds, stock)
		assert.Equal(t, stock, got.Reserved)
		assert.Equal(t, stock, got.OnHand)
		assert.Equal(t, 0, got.Available())
		assert.Equal(t, stored.Revision+stock, got.Revision)
	})

	t.Run("concurrent holds and releases of one order count once", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "p"
		stored := stockProduct(t, repo, sku, 100)

		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() { errs[i] = repo.Hold(t.Context(), sku, "order-1", 1+i, at(2030, time.Hour)) })
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "hold %d", i)
		}
		held := getProduct(t, repo, sku)
		require.Len(t, held.Holds, 1)
		assert.Equal(t, held.Holds["order-1"], held.Reserved)
		assert.Equal(t, stored.Revision+1, held.Revision)

		for i := range writers {
			wg.Go(func() {
				if i%2 == 0 {
					errs[i] = repo.Release(t.Context(), sku, "order-1", at(2030, 2*time.Hour))
				} else {
					errs[i] = repo.Commit(t.Context(), sku, "order-1", at(2030, 2*time.Hour))
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "settle %d", i)
		}
		got := getProduct(t, repo, sku)
		assert.Empty(t, got.Holds)
		assert.Equal(t, 0, got.Reserved)
		assert.Contains(t, []int{100, 100 - held.Reserved}, got.OnHand, "released or committed, once")
		assert.Equal(t, got.OnHand, got.Available())
		assert.Equal(t, held.Revision+1, got.Revision)
	})

	t.Run("concurrent holds, releases, commits and updates lose nothing", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "p"
		stockProduct(t, repo, sku, 1000)
		for i := range writers {
			require.NoError(t, repo.Hold(t.Context(), sku, "old-"+writerName(i), 2, at(2030, time.Hour)))
		}
		before := getProduct(t, repo, sku)

		errs := make([]error, 4*writers)
		var wg sync.WaitGroup
		for i := range writers {
			now := at(2030, 2*time.Hour)
			wg.Go(func() { errs[4*i] = repo.Hold(t.Context(), sku, "new-"+writerName(i), 1, now) })
			wg.Go(func() {
				if i%2 == 0 {
					errs[4*i+1] = repo.Release(t.Context(), sku, "old-"+writerName(i), now)
				} else {
					errs[4*i+1] = repo.Commit(t.Context(), sku, "old-"+writerName(i), now)
				}
			})
			wg.Go(func() {
				_, errs[4*i+2] = repo.Update(t.Context(), sku, func(p *inventory.Product) error { return p.SetOnHand(p.OnHand+10, now) })
			})
			wg.Go(func() {
				_, errs[4*i+3] = repo.Update(t.Context(), sku, func(p *inventory.Product) error { return nil }) // reads only
			})
		}
		wg.Wait()

		for i, err := range errs {
			require.NoError(t, err, "writer %d", i)
		}
		got := getProduct(t, repo, sku)
		want := map[string]int{}
		for i := range writers {
			want["new-"+writerName(i)] = 1
		}
		assert.Equal(t, want, got.Holds)
		assert.Equal(t, writers, got.Reserved)
		committed := 2 * (writers / 2)
		assert.Equal(t, 1000+10*writers-committed, got.OnHand)
		assert.Equal(t, got.OnHand-writers, got.Available())
		assert.Equal(t, before.Revision+3*writers, got.Revision, "every hold, settle and update counted once")
	})

	t.Run("List returns every product sorted by SKU", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		want := map[string]inventory.Product{}
		for _, s := range []string{"c", "a", "B", "b"} {
			want[prefix+s] = storeProduct(t, repo, prefix+s, 10, "order-"+s)
		}

		all, err := repo.List(t.Context())

		require.NoError(t, err)
		skus := productSKUs(all)
		assert.IsNonDecreasing(t, skus, "List must sort by SKU")
		var mine []string
		for _, p := range all {
			if strings.HasPrefix(p.SKU, prefix) {
				mine = append(mine, p.SKU)
				assert.Equal(t, normProduct(want[p.SKU]), normProduct(p))
			}
		}
		assert.Equal(t, []string{prefix + "B", prefix + "a", prefix + "b", prefix + "c"}, mine)
	})

	t.Run("every change leaves the level pending until it is marked published at its revision", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		pendingOf := func() map[string]int64 {
			t.Helper()
			all, err := repo.ListLevelsPending(t.Context(), 0)
			require.NoError(t, err)
			out := map[string]int64{}
			for _, p := range all {
				if strings.HasPrefix(p.SKU, prefix) {
					assert.True(t, p.LevelPending)
					assert.Equal(t, p.OnHand-p.Reserved, p.Available(), "a level needs the counts")
					out[p.SKU] = p.Revision
				}
			}
			return out
		}
		a := stockProduct(t, repo, prefix+"a", 10)
		b := stockProduct(t, repo, prefix+"b", 10)
		assert.Equal(t, map[string]int64{prefix + "a": a.Revision, prefix + "b": b.Revision}, pendingOf(), "Update leaves the level pending")

		require.NoError(t, repo.MarkLevelPublished(t.Context(), prefix+"a", a.Revision))
		require.NoError(t, repo.MarkLevelPublished(t.Context(), prefix+"b", b.Revision-1))
		assert.Equal(t, map[string]int64{prefix + "b": b.Revision}, pendingOf(), "marked at an older revision, b stays pending")
		assert.Equal(t, a.Revision, getProduct(t, repo, prefix+"a").Revision, "marking moves no revision")

		for i, change := range []func() error{
			func() error { return repo.Hold(t.Context(), prefix+"a", "order-1", 2, at(2030, time.Second)) },
			func() error { return repo.Release(t.Context(), prefix+"a", "order-1", at(2030, 2*time.Second)) },
			func() error { return repo.Hold(t.Context(), prefix+"a", "order-2", 1, at(2030, 3*time.Second)) },
			func() error { return repo.Commit(t.Context(), prefix+"a", "order-2", at(2030, 4*time.Second)) },
		} {
			require.NoError(t, change())
			cur := getProduct(t, repo, prefix+"a")
			assert.Equal(t, cur.Revision, pendingOf()[prefix+"a"], "change %d leaves the level pending", i)
			require.NoError(t, repo.MarkLevelPublished(t.Context(), prefix+"a", cur.Revision))
			assert.NotContains(t, pendingOf(), prefix+"a")
		}
		require.NoError(t, repo.MarkLevelPublished(t.Context(), prefix+"missing", 1), "no product is no error")

		limited, err := repo.ListLevelsPending(t.Context(), 1)
		require.NoError(t, err)
		assert.Len(t, limited, 1)
	})
}

// storeProduct stores a product with onHand units, one of them held for orderID.
func storeProduct(t *testing.T, repo inventory.Products, sku string, onHand int, orderID string) inventory.Product {
	t.Helper()
	got, err := repo.Update(t.Context(), sku, func(p *inventory.Product) error {
		if err := p.SetOnHand(onHand, at(2030, 0)); err != nil {
			return err
		}
		return p.Hold(orderID, 1, at(2030, time.Second))
	})
	require.NoError(t, err)
	require.False(t, got.IsNew())
	return got
}

// stockProduct stores a product with onHand units and no holds.
func stockProduct(t *testing.T, repo inventory.Products, sku string, onHand int) inventory.Product {
	t.Helper()
	got, err := repo.Update(t.Context(), sku, func(p *inventory.Product) error {
		return p.SetOnHand(onHand, at(2030, 0))
	})
	require.NoError(t, err)
	require.False(t, got.IsNew())
	return normProduct(got)
}

// getProduct returns the stored product, normalised.
func getProduct(t *testing.T, repo inventory.Products, sku string) inventory.Product {
	t.Helper()
	got, err := repo.Get(t.Context(), sku)
	require.NoError(t, err)
	return normProduct(got)
}

// normProduct is the product as any store reads it back.
func normProduct(p inventory.Product) inventory.Product {
	p.Holds = maps.Clone(p.Holds) // not Product.Clone: the suite checks copies too
	if len(p.Holds) == 0 {
		p.Holds = nil
	}
	p.UpdatedAt = normTime(p.UpdatedAt)
	p.History = slices.Clone(p.History)
	for i := range p.History {
		p.History[i].At = normTime(p.History[i].At)
	}
	return p
}

func productSKUs(ps []inventory.Product) []string {
	skus := make([]string, len(ps))
	for i, p := range ps {
		skus[i] = p.SKU
	}
	return skus
}
