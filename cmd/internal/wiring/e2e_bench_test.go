package wiring_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/load"
	"github.com/orderflow/orderflow/messages"
)

// benchLoadDuration is how long each phase of an end-to-end benchmark puts
// load on: BENCH_LOAD_DURATION, or 2 s (CI runs every benchmark; a few seconds
// of load prove the figures without spending minutes).
func benchLoadDuration(b *testing.B) time.Duration {
	b.Helper()
	if s := os.Getenv("BENCH_LOAD_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(b, err, "BENCH_LOAD_DURATION")
		return d
	}
	return 2 * time.Second
}

// BenchmarkE2EEmbedded measures the whole system in one process (GoChannel,
// memory stores, COURIER=manual) through its HTTP API with the load generator
// as a user runs it (64 closed-loop clients, single-unit orders on 16 SKUs,
// each order polled to CONFIRMED), beside a do-nothing JSON server answering
// the same requests from the same generator in the same run, and prints the
// ratios, which hold from one machine to another where absolute figures do not:
//
//	E2E embedded orders_confirmed_per_s=… null_server_req_per_s=… ratio=…
//	E2E embedded get_order_req_per_s=… null_server_req_per_s=… ratio=…
//	E2E embedded half_rate_per_s=… post_to_confirmed_p50_ms=… p99_ms=… …
//
// Each phase runs BENCH_LOAD_DURATION (2 s) whatever b.N: the figures are
// the metrics, not ns/op.
func BenchmarkE2EEmbedded(b *testing.B) {
	d := benchLoadDuration(b)
	null := httptest.NewServer(load.NullServer())
	b.Cleanup(null.Close)
	h := start(b)
	b.ResetTimer()
	f := measureE2E(b, h.url, null.URL, d)
	b.StopTimer()
	f.print(b, "embedded")
}

// e2eFigures are the results of the phases of an end-to-end benchmark.
type e2eFigures struct {
	orders, ordersRef, reads, readsRef, half *load.Result
}

// measureE2E runs the phases against the system at url and the null server at nullURL.
func measureE2E(b *testing.B, url, nullURL string, d time.Duration) e2eFigures {
	b.Helper()
	cfg := load.DefaultConfig()
	cfg.Duration, cfg.Progress, cfg.Clients, cfg.SKUs, cfg.Items, cfg.Quantity = d, 0, 64, "16", 1, 1
	run := func(url string, change func(*load.Config)) *load.Result {
		b.Helper()
		c := cfg
		c.URL = url
		change(&c)
		res, err := load.Run(b.Context(), c, nil)
		require.NoError(b, err)
		return res
	}
	var f e2eFigures
	// The reference answers the same POSTs, and only them: no polls.
	f.ordersRef = run(nullURL, func(c *load.Config) { c.Follow = false })
	f.orders = run(url, func(c *load.Config) { c.Stock = messages.MaxOnHand })
	require.Positive(b, f.orders.Confirmed, "no order confirmed: %+v", f.orders.Errors)
	f.half = run(url, func(c *load.Config) {
		c.Model, c.Rate = load.ModelOpen, max(f.orders.ConfirmedPerSecond/2, 1)
	})
	f.readsRef = run(nullURL, func(c *load.Config) { c.Workload = load.WorkloadReads })
	f.reads = run(url, func(c *load.Config) { c.Workload = load.WorkloadReads })
	return f
}

// print writes the figures as lines a person and a script can read, and as
// the benchmark's metrics.
func (f e2eFigures) print(b *testing.B, mode string) {
	b.Helper()
	ratio := func(x, ref float64) float64 {
		if ref == 0 {
			return 0
		}
		return x / ref
	}
	post, confirm := f.orders.Latency["post"], f.orders.Latency["post_to_confirmed"]
	fmt.Printf("E2E %s orders_confirmed_per_s=%.0f null_server_req_per_s=%.0f ratio=%.3f placed_per_s=%.0f post_p50_ms=%.2f post_p99_ms=%.2f post_to_confirmed_p50_ms=%.2f post_to_confirmed_p99_ms=%.2f errors=%d\n",
		mode, f.orders.ConfirmedPerSecond, f.ordersRef.PlacedPerSecond, ratio(f.orders.ConfirmedPerSecond, f.ordersRef.PlacedPerSecond),
		f.orders.PlacedPerSecond, post.P50, post.P99, confirm.P50, confirm.P99, f.orders.ErrorCount())
	fmt.Printf("E2E %s get_order_req_per_s=%.0f null_server_req_per_s=%.0f ratio=%.3f get_p50_ms=%.2f get_p99_ms=%.2f errors=%d\n",
		mode, f.reads.ReadsPerSecond, f.readsRef.ReadsPerSecond, ratio(f.reads.ReadsPerSecond, f.readsRef.ReadsPerSecond),
		f.reads.Latency["get"].P50, f.reads.Latency["get"].P99, f.reads.ErrorCount())
	hc, hp := f.half.Latency["post_to_confirmed"], f.half.Latency["post"]
	fmt.Printf("E2E %s half_rate_per_s=%.0f confirmed_per_s=%.0f post_to_confirmed_p50_ms=%.2f post_to_confirmed_p90_ms=%.2f post_to_confirmed_p99_ms=%.2f post_to_confirmed_p99_9_ms=%.2f post_to_confirmed_max_ms=%.2f post_p99_ms=%.2f max_send_lag_ms=%.1f errors=%d\n",
		mode, f.half.Rate, f.half.ConfirmedPerSecond, hc.P50, hc.P90, hc.P99, hc.P999, hc.Max, hp.P99, f.half.MaxSendLagMs, f.half.ErrorCount())
	b.ReportMetric(f.orders.ConfirmedPerSecond, "orders/s")
	b.ReportMetric(ratio(f.orders.ConfirmedPerSecond, f.ordersRef.PlacedPerSecond), "orders/null")
	b.ReportMetric(f.reads.ReadsPerSecond, "gets/s")
	b.ReportMetric(ratio(f.reads.ReadsPerSecond, f.readsRef.ReadsPerSecond), "gets/null")
	b.ReportMetric(hc.P99, "half-rate-p99-ms")
}
