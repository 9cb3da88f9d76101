package repotest

import (
	"errors"
	"fmt"
	"maps"
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
	t.Run("Get of a missing product is ErrUnknownSKU", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)

		_, err := repo.Get(t.Context(), uniquePrefix()+"missing")

		require.ErrorIs(t, err, inventory.ErrUnknownSKU)
	})

	t.Run("Update of a missing product hands fn a new product and stores nothing while Revision stays 0", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "new"

		var seen inventory.Product
		got, err := repo.Update(t.Context(), sku, func(p *inventory.Product) error {
			seen = normProduct(*p)
			p.OnHand = 5
			return nil
		})

		require.NoError(t, err)
		assert.Equal(t, normProduct(inventory.Product{SKU: sku}), normProduct(seen), "fn must get a product with only its SKU")
		assert.Zero(t, got.Revision)
		_, err = repo.Get(t.Context(), sku)
		require.ErrorIs(t, err, inventory.ErrUnknownSKU, "a product whose Revision did not move must not be stored")
		all, err := repo.List(t.Context())
		require.NoError(t, err)
		assert.NotContains(t, productSKUs(all), sku)
	})

	t.Run("Update that leaves Revision unchanged stores nothing", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "p"
		stored := storeProduct(t, repo, sku, 10, "order-1")

		_, err := repo.Update(t.Context(), sku, func(p *inventory.Product) error {
			p.OnHand = 99
			p.Holds["order-1"] = 7
			return nil
		})

		require.NoError(t, err)
		got, err := repo.Get(t.Context(), sku)
		require.NoError(t, err)
		assert.Equal(t, normProduct(stored), normProduct(got))
	})

	t.Run("Update stores the result when Revision moves and hands it to the next Update", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		now := at(2030, 0)
		cases := []struct {
			name  string
			build func(p *inventory.Product) error
		}{
			{"holds", func(p *inventory.Product) error {
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
			{"no holds left", func(p *inventory.Product) error {
				if err := p.SetOnHand(5, now); err != nil {
					return err
				}
				if err := p.Hold("order-a", 2, now); err != nil {
					return err
				}
				p.Commit("order-a", now.Add(time.Minute))
				return nil
			}},
		}
		for _, tc := range cases {
			sku := prefix + strings.ReplaceAll(tc.name, " ", "-")
			want := inventory.Product{SKU: sku}
			require.NoError(t, tc.build(&want))

			returned, err := repo.Update(t.Context(), sku, tc.build)

			require.NoError(t, err, tc.name)
			assert.Equal(t, normProduct(want), normProduct(returned), "%s: Update returns the product as stored", tc.name)
			got, err := repo.Get(t.Context(), sku)
			require.NoError(t, err, tc.name)
			assert.Equal(t, normProduct(want), normProduct(got), tc.name)
			assert.Equal(t, want.Available(), got.Available(), tc.name)

			var seen inventory.Product
			_, err = repo.Update(t.Context(), sku, func(p *inventory.Product) error {
				seen = normProduct(*p)
				return nil
			})
			require.NoError(t, err, tc.name)
			assert.Equal(t, normProduct(want), normProduct(seen), "%s: fn must get the stored product", tc.name)
		}
	})

	t.Run("Update whose fn fails stores nothing and returns the error", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		prefix := uniquePrefix()
		errBoom := errors.New("boom")
		stored := storeProduct(t, repo, prefix+"existing", 10, "order-1")

		_, err := repo.Update(t.Context(), prefix+"existing", func(p *inventory.Product) error {
			if err := p.Hold("order-2", 3, at(2030, time.Hour)); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		got, err := repo.Get(t.Context(), prefix+"existing")
		require.NoError(t, err)
		assert.Equal(t, normProduct(stored), normProduct(got))

		_, err = repo.Update(t.Context(), prefix+"missing", func(p *inventory.Product) error {
			if err := p.SetOnHand(10, at(2030, 0)); err != nil {
				return err
			}
			return fmt.Errorf("wrapped: %w", errBoom)
		})
		require.ErrorIs(t, err, errBoom)
		_, err = repo.Get(t.Context(), prefix+"missing")
		require.ErrorIs(t, err, inventory.ErrUnknownSKU)
	})

	t.Run("returned products are copies", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "p"
		var inside *inventory.Product
		returned, err := repo.Update(t.Context(), sku, func(p *inventory.Product) error {
			inside = p
			if err := p.SetOnHand(10, at(2030, 0)); err != nil {
				return err
			}
			return p.Hold("order-1", 4, at(2030, 0))
		})
		require.NoError(t, err)
		want := normProduct(returned)

		returned.Holds["order-1"] = 9
		returned.Holds["order-2"] = 1
		inside.Holds["order-3"] = 1
		got, err := repo.Get(t.Context(), sku)
		require.NoError(t, err)
		assert.Equal(t, want, normProduct(got), "changing what Update returned changed the store")

		got.Holds["order-1"] = 8
		delete(got.Holds, "order-1")
		again, err := repo.Get(t.Context(), sku)
		require.NoError(t, err)
		assert.Equal(t, want, normProduct(again), "changing what Get returned changed the store")

		all, err := repo.List(t.Context())
		require.NoError(t, err)
		for i := range all {
			if all[i].SKU == sku {
				all[i].Holds["order-1"] = 7
			}
		}
		again, err = repo.Get(t.Context(), sku)
		require.NoError(t, err)
		assert.Equal(t, want, normProduct(again), "changing what List returned changed the store")
	})

	t.Run("concurrent updates of one product are not lost", func(t *testing.T) {
		t.Parallel()
		repo := newRepo(t)
		sku := uniquePrefix() + "p"
		_, err := repo.Update(t.Context(), sku, func(p *inventory.Product) error {
			return p.SetOnHand(1000, at(2030, 0))
		})
		require.NoError(t, err)

		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				_, errs[i] = repo.Update(t.Context(), sku, func(p *inventory.Product) error {
					return p.Hold(writerName(i), i+1, at(2030, time.Duration(i)*time.Second))
				})
			})
		}
		wg.Wait()

		for i, err := range errs {
			require.NoError(t, err, "writer %d", i)
		}
		got, err := repo.Get(t.Context(), sku)
		require.NoError(t, err)
		want := map[string]int{}
		total := 0
		for i := range writers {
			want[writerName(i)] = i + 1
			total += i + 1
		}
		assert.Equal(t, want, got.Holds)
		assert.Equal(t, total, got.Reserved)
		assert.Equal(t, 1000, got.OnHand)
		assert.Equal(t, int64(1+writers), got.Revision)
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

// normProduct is the product as any store reads it back.
func normProduct(p inventory.Product) inventory.Product {
	p.Holds = maps.Clone(p.Holds) // not Product.Clone: the suite checks copies too
	if len(p.Holds) == 0 {
		p.Holds = nil
	}
	p.UpdatedAt = normTime(p.UpdatedAt)
	return p
}

func productSKUs(ps []inventory.Product) []string {
	skus := make([]string, len(ps))
	for i, p := range ps {
		skus[i] = p.SKU
	}
	return skus
}
