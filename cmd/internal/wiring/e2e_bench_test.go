package wiring_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/load"
	"github.com/orderflow/orderflow/cmd/internal/wiring"
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
// each order polled to CONFIRMED; then the open model at half the rate
// reached, and the same POSTs at that rate to the null server, whose tail is
// the machine's own; then GET /orders/{id}), beside a do-nothing JSON server answering
// the same requests from the same generator in the same run, and prints the
// ratios (load.E2E.Lines), which hold from one machine to another where
// absolute figures do not. Each phase runs BENCH_LOAD_DURATION (2 s) once,
// whatever b.N: the figures are the metrics, not ns/op.
func BenchmarkE2EEmbedded(b *testing.B) {
	null := httptest.NewServer(load.NullServer())
	b.Cleanup(null.Close)
	h := start(b)
	var e load.E2E
	var err error
	// b.Loop calls this function once: the load runs once, in the first
	// iteration, and the others (-benchtime=50x) cost nothing.
	for first := true; b.Loop(); first = false {
		if first {
			e, err = load.MeasureE2E(b.Context(), load.BenchConfig(wiring.DemoOperatorKey, benchLoadDuration(b)), h.URL, null.URL)
		}
	}
	require.NoError(b, err)
	for _, line := range e.Lines("embedded") {
		fmt.Println(line)
	}
	reportE2E(b, e)
}

func reportE2E(b *testing.B, e load.E2E) {
	b.ReportMetric(e.Orders.ConfirmedPerSecond, "orders/s")
	b.ReportMetric(load.Ratio(e.Orders.ConfirmedPerSecond, e.OrdersRef.PlacedPerSecond), "orders/null")
	b.ReportMetric(e.Reads.ReadsPerSecond, "gets/s")
	b.ReportMetric(load.Ratio(e.Reads.ReadsPerSecond, e.ReadsRef.ReadsPerSecond), "gets/null")
	b.ReportMetric(e.HalfRate.Latency["post_to_confirmed"].P99, "half-rate-p99-ms")
	b.ReportMetric(e.HalfRateRef.Latency["post"].P99, "half-rate-null-post-p99-ms")
}
