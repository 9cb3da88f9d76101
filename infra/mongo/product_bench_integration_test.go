//go:build integration

package mongo_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/orderflow/orderflow/app/inventory"
	mongostore "github.com/orderflow/orderflow/infra/mongo"
)

// BenchmarkProductHold holds and releases one unit on a SKU that already holds
// stock for `active` orders, with Hold/Release (one conditional update each)
// and, for comparison, with Update (read and rewrite the whole document).
// The client's cost stays flat with Hold; the test server (FerretDB on SQLite)
// still rewrites the whole document on the server side, so its time does not:
// 10,000 holds take over a second per iteration there, hence 1,000 here.
//
//	go test -tags integration -run '^$' -bench ProductHold -benchtime 200x ./infra/mongo/
func BenchmarkProductHold(b *testing.B) {
	for _, active := range []int{0, 1_000} {
		for _, via := range []string{"hold", "update"} {
			b.Run(fmt.Sprintf("active_holds=%d/via=%s", active, via), func(b *testing.B) {
				ctx := b.Context()
				repo := mongostore.NewProductRepository(freshDatabase(b))
				now := time.Now()
				// One write seeds every hold.
				_, err := repo.Update(ctx, "SKU-HOT", func(p *inventory.Product) error {
					if err := p.SetOnHand(1_000_000_000, now); err != nil {
						return err
					}
					for i := range active {
						if err := p.Hold(fmt.Sprintf("old-%d", i), 1, now); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					order := fmt.Sprintf("new-%d", i)
					if via == "hold" {
						err = repo.Hold(ctx, "SKU-HOT", order, 1, now)
						if err == nil {
							err = repo.Release(ctx, "SKU-HOT", order, now)
						}
					} else {
						_, err = repo.Update(ctx, "SKU-HOT", func(p *inventory.Product) error { return p.Hold(order, 1, now) })
						if err == nil {
							_, err = repo.Update(ctx, "SKU-HOT", func(p *inventory.Product) error { p.Release(order, now); return nil })
						}
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
