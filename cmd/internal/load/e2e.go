package load

import (
	"context"
	"fmt"
	"time"
)

// E2E are the phases of an end-to-end benchmark of a system, each beside the
// same load on the null server (NullServer) in the same run.
type E2E struct {
	// Orders: Clients closed-loop clients, each order polled to CONFIRMED;
	// OrdersRef: the same POSTs to the null server, not polled.
	Orders, OrdersRef *Result
	// HalfRate: the open model at half the rate Orders confirmed;
	// HalfRateRef: the same POSTs at the same rate to the null server, not
	// followed, whose tail is the machine's and the generator's own (a stalled
	// scheduler, another job's burst), to read HalfRate's beside.
	HalfRate, HalfRateRef *Result
	// Reads: GET /orders/{id} from Clients clients; ReadsRef the same on the null server.
	Reads, ReadsRef *Result
}

// MeasureE2E runs the phases with base (its URL ignored) against the system
// at url and the null server at nullURL, each for base.Duration. after, if
// given, is called at the end of each phase on the system ("orders",
// "half_rate", "reads"), to take measures of the system between them, and
// with "orders_ref" once the null server's orders phase ended, just before
// the system's.
func MeasureE2E(ctx context.Context, base Config, url, nullURL string, after ...func(phase string)) (E2E, error) {
	done := func(phase string) {
		for _, f := range after {
			f(phase)
		}
	}
	run := func(url string, change func(*Config)) (*Result, error) {
		c := base
		c.URL = url
		change(&c)
		return Run(ctx, c, nil)
	}
	var e E2E
	var err error
	if e.OrdersRef, err = run(nullURL, func(c *Config) { c.Follow, c.Stock = false, 0 }); err != nil {
		return e, fmt.Errorf("null server, orders: %w", err)
	}
	done("orders_ref")
	if e.Orders, err = run(url, func(*Config) {}); err != nil {
		return e, fmt.Errorf("orders: %w", err)
	}
	done("orders")
	if e.Orders.Confirmed == 0 {
		return e, fmt.Errorf("orders: none confirmed; errors %v, statuses %v", e.Orders.Errors, e.Orders.Statuses)
	}
	if e.HalfRate, err = run(url, func(c *Config) {
		c.Model, c.Rate, c.Stock = ModelOpen, max(e.Orders.ConfirmedPerSecond/2, 1), 0
	}); err != nil {
		return e, fmt.Errorf("half rate: %w", err)
	}
	if e.HalfRateRef, err = run(nullURL, func(c *Config) {
		c.Model, c.Rate, c.Follow, c.Stock = ModelOpen, e.HalfRate.Rate, false, 0
	}); err != nil {
		return e, fmt.Errorf("null server, half rate: %w", err)
	}
	done("half_rate")
	if e.ReadsRef, err = run(nullURL, func(c *Config) { c.Workload, c.Stock = WorkloadReads, 0 }); err != nil {
		return e, fmt.Errorf("null server, reads: %w", err)
	}
	if e.Reads, err = run(url, func(c *Config) { c.Workload, c.Stock = WorkloadReads, 0 }); err != nil {
		return e, fmt.Errorf("reads: %w", err)
	}
	done("reads")
	return e, nil
}

// Ratio is x/ref, or 0 without a reference.
func Ratio(x, ref float64) float64 {
	if ref == 0 {
		return 0
	}
	return x / ref
}

// Lines are the figures as lines a person and a script can read:
//
//	E2E <mode> orders_confirmed_per_s=… null_server_req_per_s=… ratio=… …
//	E2E <mode> get_order_req_per_s=… null_server_req_per_s=… ratio=… …
//	E2E <mode> half_rate_per_s=… post_to_confirmed_p50_ms=… …
func (e E2E) Lines(mode string) []string {
	post, confirm := e.Orders.Latency["post"], e.Orders.Latency["post_to_confirmed"]
	get := e.Reads.Latency["get"]
	hc, hp := e.HalfRate.Latency["post_to_confirmed"], e.HalfRate.Latency["post"]
	var np Percentiles
	var nlag float64
	if e.HalfRateRef != nil {
		np, nlag = e.HalfRateRef.Latency["post"], e.HalfRateRef.MaxSendLagMs
	}
	return []string{
		fmt.Sprintf("E2E %s orders_confirmed_per_s=%.0f null_server_req_per_s=%.0f ratio=%.3f placed_per_s=%.0f post_p50_ms=%.2f post_p99_ms=%.2f post_to_confirmed_p50_ms=%.2f post_to_confirmed_p99_ms=%.2f errors=%d",
			mode, e.Orders.ConfirmedPerSecond, e.OrdersRef.PlacedPerSecond, Ratio(e.Orders.ConfirmedPerSecond, e.OrdersRef.PlacedPerSecond),
			e.Orders.PlacedPerSecond, post.P50, post.P99, confirm.P50, confirm.P99, e.Orders.ErrorCount()),
		fmt.Sprintf("E2E %s get_order_req_per_s=%.0f null_server_req_per_s=%.0f ratio=%.3f get_p50_ms=%.2f get_p99_ms=%.2f errors=%d",
			mode, e.Reads.ReadsPerSecond, e.ReadsRef.ReadsPerSecond, Ratio(e.Reads.ReadsPerSecond, e.ReadsRef.ReadsPerSecond), get.P50, get.P99, e.Reads.ErrorCount()),
		fmt.Sprintf("E2E %s half_rate_per_s=%.0f confirmed_per_s=%.0f post_to_confirmed_p50_ms=%.2f post_to_confirmed_p90_ms=%.2f post_to_confirmed_p99_ms=%.2f post_to_confirmed_p99_9_ms=%.2f post_to_confirmed_max_ms=%.2f post_p50_ms=%.2f post_p99_ms=%.2f max_send_lag_ms=%.1f errors=%d null_server_post_p50_ms=%.2f null_server_post_p99_ms=%.2f null_server_max_send_lag_ms=%.1f",
			mode, e.HalfRate.Rate, e.HalfRate.ConfirmedPerSecond, hc.P50, hc.P90, hc.P99, hc.P999, hc.Max, hp.P50, hp.P99, e.HalfRate.MaxSendLagMs, e.HalfRate.ErrorCount(),
			np.P50, np.P99, nlag),
	}
}

// BenchConfig is the load of the end-to-end benchmarks, as issue 9 measured
// it: 64 closed-loop clients, single-unit orders on 16 SKUs with stock for
// all of them, for d per phase.
func BenchConfig(token string, d time.Duration) Config {
	cfg := DefaultConfig()
	cfg.Token, cfg.Duration, cfg.Progress = token, d, 0
	cfg.Clients, cfg.SKUs, cfg.Items, cfg.Quantity, cfg.Stock = 64, "16", 1, 1, 1_000_000_000
	return cfg
}
