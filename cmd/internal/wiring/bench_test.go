package wiring_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"

	"github.com/orderflow/orderflow/cmd/internal/wiring/wiringtest"
)

// The benchmarks run the system bare (nothing recorded, no answer checked
// against the spec) and print beside their figures a reference measured in the
// same run, a do-nothing JSON HTTP server answering the same POSTs from the same
// client, so that the ratios mean the same on any machine:
//
//	orders/s         the system's rate
//	null-req/s       the do-nothing server's rate
//	x-null           orders/s ÷ null-req/s
//	allocs/order     every allocation of the process (clients included) per order
//	null-allocs/req  the same for the do-nothing server: what the client and net/http cost alone
//	cpu-µs/order     the process's CPU time (user + system, clients included) per order
//	null-cpu-µs/req  the same for the do-nothing server
//	cpu-x-null       null-cpu-µs/req ÷ cpu-µs/order: the rate ratio the CPU
//	                 alone allows, steadier than x-null where other jobs take
//	                 the cores in bursts

// BenchmarkPlaceOrder measures accepted orders per second through the real HTTP
// API in the embedded mode: each POST /orders waits for the orders service to
// store the order; reservation and confirmation run behind it.
func BenchmarkPlaceOrder(b *testing.B) {
	h := start(b, bare())
	h.SetStock("SKU-BENCH", messages.MaxOnHand)
	items := []messages.Item{item("SKU-BENCH", 1)}
	b.ReportAllocs()
	b.SetParallelism(8) // 8 goroutines per CPU: clients wait on replies, not on CPU
	m := startCounting()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.PlaceOrder("c-bench", items)
		}
	})
	b.StopTimer()
	reportAgainstNull(b, h, m)
}

// BenchmarkOrderToConfirmed measures the whole saga up to CONFIRMED (gateway →
// orders → inventory → orders) for orders placed concurrently: the time from
// the first POST until every order is confirmed, per order.
func BenchmarkOrderToConfirmed(b *testing.B) {
	h, m := orderToConfirmed(b)
	reportAgainstNull(b, h, m)
}

// orderToConfirmed runs BenchmarkOrderToConfirmed's measurement on a bare
// system started with opts, and returns it and the allocations count of its start.
func orderToConfirmed(b *testing.B, opts ...option) (*harness, counting) {
	h := start(b, append([]option{bare()}, opts...)...)
	h.SetStock("SKU-BENCH", messages.MaxOnHand)
	items := []messages.Item{item("SKU-BENCH", 1)}
	var placed atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8) // 8 goroutines per CPU: clients wait on replies, not on CPU
	m := startCounting()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.PlaceOrder("c-bench", items)
			placed.Add(1)
		}
	})
	require.Eventually(b, func() bool {
		l := h.Stock("SKU-BENCH")
		return int64(l.Reserved) == placed.Load()
	}, time.Minute, time.Millisecond)
	// Reserved stock is counted by inventory before orders confirms; wait for the last confirmation too.
	require.Eventually(b, func() bool {
		_, _, body := h.Do(http.MethodGet, fmt.Sprintf("/orders?status=%s&limit=1", messages.OrderStatusPending), nil)
		return string(body) == "{\"orders\":[]}\n"
	}, time.Minute, time.Millisecond)
	b.StopTimer()
	return h, m
}

// counting holds the allocation count and the CPU time at the start of a measurement.
type counting struct {
	mallocs uint64
	cpu     time.Duration
}

func startCounting() counting {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return counting{mallocs: ms.Mallocs, cpu: cpuTime()}
}

func (c counting) since() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs - c.mallocs
}

// cpuSince is the process's CPU time since the start, in µs.
func (c counting) cpuSince() float64 { return float64((cpuTime() - c.cpu).Microseconds()) }

// reportAgainstNull reports the system's figures for the b.N orders just
// measured, then measures the do-nothing server with the same client and
// parallelism and reports it and the ratio.
func reportAgainstNull(b *testing.B, h *harness, m counting) {
	b.Helper()
	allocs, cpu := m.since(), m.cpuSince()/float64(b.N)
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "orders/s")
	b.ReportMetric(float64(allocs)/float64(b.N), "allocs/order")
	b.ReportMetric(cpu, "cpu-µs/order")
	nullRate, nullAllocs, nullCPU := measureNull(b, h.Client, min(max(b.N, 1000), 20000))
	b.ReportMetric(nullRate, "null-req/s")
	b.ReportMetric(rate/nullRate, "x-null")
	b.ReportMetric(nullAllocs, "null-allocs/req")
	b.ReportMetric(nullCPU, "null-cpu-µs/req")
	b.ReportMetric(nullCPU/cpu, "cpu-x-null")
}

// measureNull sends n POST /orders to a do-nothing JSON server (it decodes the
// body and answers 202 with an order id) from 8 goroutines per CPU, and returns
// its requests per second and the process's allocations and CPU time (µs) per request.
func measureNull(b *testing.B, client *http.Client, n int) (perSec, allocsPerReq, cpuPerReq float64) {
	b.Helper()
	var ids atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			CustomerID string          `json:"customer_id"`
			Items      []messages.Item `json:"items"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := "o-" + strconv.FormatInt(ids.Add(1), 10)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/orders/"+id)
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]string{"order_id": id, "status": messages.OrderStatusPending})
	}))
	defer srv.Close()
	null := wiringtest.Against(b, srv.URL, client)
	items := []messages.Item{item("SKU-BENCH", 1)}
	var left atomic.Int64
	left.Store(int64(n))
	done := make(chan struct{})
	workers := 8 * runtime.GOMAXPROCS(0)
	m := startCounting()
	began := time.Now()
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for left.Add(-1) >= 0 {
				null.PlaceOrder("c-bench", items)
			}
		}()
	}
	for range workers {
		<-done
	}
	elapsed := time.Since(began)
	return float64(n) / elapsed.Seconds(), float64(m.since()) / float64(n), m.cpuSince() / float64(n)
}
