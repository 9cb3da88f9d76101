package wiring_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"
)

// BenchmarkPlaceOrder measures accepted orders per second through the real HTTP
// API in the embedded mode: each POST /orders waits for the orders service to
// store the order; reservation and confirmation run behind it.
func BenchmarkPlaceOrder(b *testing.B) {
	h := start(b)
	h.setStock("SKU-BENCH", messages.MaxOnHand)
	items := []messages.Item{item("SKU-BENCH", 1)}
	b.ReportAllocs()
	b.SetParallelism(8) // 8 goroutines per CPU: clients wait on replies, not on CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.placeOrder("c-bench", items)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkOrderToConfirmed measures the whole saga up to CONFIRMED (gateway →
// orders → inventory → orders) for orders placed concurrently: the time from
// the first POST until every order is confirmed, per order.
func BenchmarkOrderToConfirmed(b *testing.B) {
	benchOrderToConfirmed(b)
}

// benchOrderToConfirmed runs BenchmarkOrderToConfirmed on a system started
// with opts and returns the orders/s it measured.
func benchOrderToConfirmed(b *testing.B, opts ...option) float64 {
	h := start(b, opts...)
	h.setStock("SKU-BENCH", messages.MaxOnHand)
	items := []messages.Item{item("SKU-BENCH", 1)}
	var placed atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8) // 8 goroutines per CPU: clients wait on replies, not on CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.placeOrder("c-bench", items)
			placed.Add(1)
		}
	})
	require.Eventually(b, func() bool {
		l := h.stock("SKU-BENCH")
		return int64(l.Reserved) == placed.Load()
	}, time.Minute, time.Millisecond)
	// Reserved stock is counted by inventory before orders confirms; wait for the last confirmation too.
	require.Eventually(b, func() bool {
		_, _, body := h.do(http.MethodGet, fmt.Sprintf("/orders?status=%s&limit=1", messages.OrderStatusPending), nil)
		return string(body) == "{\"orders\":[]}\n"
	}, time.Minute, time.Millisecond)
	b.StopTimer()
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "orders/s")
	return rate
}
