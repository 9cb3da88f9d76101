package inventory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/infra/memory"
)

type discard struct{}

func (discard) Publish(context.Context, any) error { return nil }

// BenchmarkReserveStock reserves one unit per order on one SKU that already
// holds stock for `active` undelivered orders. Each product keeps a hold per
// active order (that is what makes holds idempotent without transactions), so
// the ratio between the sub-benchmarks shows what a hot SKU costs.
func BenchmarkReserveStock(b *testing.B) {
	for _, active := range []int{0, 1_000, 10_000} {
		b.Run(fmt.Sprintf("active_holds=%d", active), func(b *testing.B) {
			ctx := context.Background()
			svc := inventory.NewService(memory.NewProductRepository(), memory.NewReservationRepository(), discard{}, nil)
			if _, err := svc.SetStock(ctx, "SKU-HOT", 1_000_000_000, "test"); err != nil {
				b.Fatal(err)
			}
			for i := range active {
				if err := svc.ReserveStock(ctx, fmt.Sprintf("old-%d", i), []inventory.Line{{SKU: "SKU-HOT", Quantity: 1}}, ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := svc.ReserveStock(ctx, fmt.Sprintf("new-%d", i), []inventory.Line{{SKU: "SKU-HOT", Quantity: 1}}, ""); err != nil {
					b.Fatal(err)
				}
				if err := svc.ReleaseStock(ctx, fmt.Sprintf("new-%d", i), ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
