package load

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Result is what a run measured. Its JSON form (-json) is for scripts.
type Result struct {
	Model    string  `json:"model"`
	Workload string  `json:"workload"`
	Clients  int     `json:"clients,omitempty"`
	Rate     float64 `json:"rate,omitempty"`
	SKUs     int     `json:"skus"`
	Items    int     `json:"items"`
	// ElapsedSeconds runs from the first send until the last request in
	// flight at the end of the duration was done.
	ElapsedSeconds float64 `json:"elapsed_s"`

	Sent           int64 `json:"sent"`
	Placed         int64 `json:"placed"`
	Confirmed      int64 `json:"confirmed"`
	Rejected       int64 `json:"rejected"`
	OtherFinal     int64 `json:"other_final"`
	Cancelled      int64 `json:"cancelled"`
	CancelRefused  int64 `json:"cancel_refused"`
	FollowTimeouts int64 `json:"follow_timeouts"`
	Reads          int64 `json:"reads"`
	Requests       int64 `json:"requests"`

	PlacedPerSecond    float64 `json:"placed_per_s"`
	ConfirmedPerSecond float64 `json:"confirmed_per_s"`
	ReadsPerSecond     float64 `json:"reads_per_s"`
	RequestsPerSecond  float64 `json:"requests_per_s"`

	// Errors counts what failed by kind: <op>_4xx, <op>_5xx, <op>_timeout,
	// <op>_transport, <op>_bad_answer (op: post, get, cancel), follow_timeout.
	Errors map[string]int64 `json:"errors"`
	// Statuses counts the unexpected answers by operation and status code.
	Statuses map[string]int64 `json:"statuses"`

	// Latency: post is POST /orders (from its intended send time in the
	// open model), post_to_confirmed from the same instant until a GET saw
	// CONFIRMED (at most one poll interval late), get each GET /orders/{id},
	// cancel each cancel.
	Latency map[string]Percentiles `json:"latency"`

	// MaxSendLagMs is, in the open model, how late the generator sent its
	// latest request against the schedule (a full in-flight bound or a
	// starved generator); large values mean the rate was not offered.
	MaxSendLagMs float64 `json:"max_send_lag_ms,omitempty"`
	// CPUSeconds is the CPU time of this process during the run, and
	// CPUMicrosPerRequest per HTTP request: the generator's own cost (run
	// in-process with the system, it includes the system's).
	CPUSeconds          float64 `json:"cpu_s"`
	CPUMicrosPerRequest float64 `json:"cpu_us_per_request"`
}

func (r *runner) result(elapsed, cpu time.Duration) *Result {
	s := r.st
	sec := elapsed.Seconds()
	res := &Result{
		Model: r.cfg.Model, Workload: r.cfg.Workload, SKUs: len(r.skus), Items: r.cfg.Items,
		ElapsedSeconds: sec,
		Sent:           s.sent.Load(), Placed: s.placed.Load(), Confirmed: s.confirmed.Load(), Rejected: s.rejected.Load(),
		OtherFinal: s.otherFinal.Load(), Cancelled: s.cancelled.Load(), CancelRefused: s.cancelRefused.Load(),
		FollowTimeouts: s.followTimeouts.Load(), Reads: s.reads.Load(), Requests: s.requests.Load(),
		Latency: map[string]Percentiles{
			"post": s.post.percentiles(), "post_to_confirmed": s.toConfirmed.percentiles(),
			"get": s.get.percentiles(), "cancel": s.cancel.percentiles(),
		},
		CPUSeconds: cpu.Seconds(),
	}
	if r.cfg.Model == ModelClosed {
		res.Clients = r.cfg.Clients
	} else {
		res.Rate = r.cfg.Rate
		res.MaxSendLagMs = float64(s.maxLagNanos.Load()) / 1e6
	}
	if sec > 0 {
		res.PlacedPerSecond = float64(res.Placed) / sec
		res.ConfirmedPerSecond = float64(res.Confirmed) / sec
		res.ReadsPerSecond = float64(res.Reads) / sec
		res.RequestsPerSecond = float64(res.Requests) / sec
	}
	if res.Requests > 0 {
		res.CPUMicrosPerRequest = float64(cpu.Microseconds()) / float64(res.Requests)
	}
	s.mu.Lock()
	res.Errors, res.Statuses = maps.Clone(s.errors), maps.Clone(s.statuses)
	s.mu.Unlock()
	return res
}

// ErrorCount is the number of errors of every kind.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// WriteJSON writes the result as one JSON document.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the result for a human.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	load := fmt.Sprintf("%d clients", r.Clients)
	if r.Model == ModelOpen {
		load = fmt.Sprintf("%.0f/s offered, latest send %.1f ms behind schedule", r.Rate, r.MaxSendLagMs)
	}
	fmt.Fprintf(&b, "%s model, %s, workload %s, %d SKUs, %d line(s) per order, %.1f s\n", r.Model, load, r.Workload, r.SKUs, r.Items, r.ElapsedSeconds)
	if r.Workload == WorkloadReads {
		fmt.Fprintf(&b, "reads      %d (%.0f/s)\n", r.Reads, r.ReadsPerSecond)
	} else {
		fmt.Fprintf(&b, "sent       %d\n", r.Sent)
		fmt.Fprintf(&b, "placed     %d (%.0f/s)\n", r.Placed, r.PlacedPerSecond)
		fmt.Fprintf(&b, "confirmed  %d (%.0f/s)\n", r.Confirmed, r.ConfirmedPerSecond)
		fmt.Fprintf(&b, "rejected   %d, other final %d, cancelled %d (refused %d), not final within the follow timeout %d\n",
			r.Rejected, r.OtherFinal, r.Cancelled, r.CancelRefused, r.FollowTimeouts)
	}
	fmt.Fprintf(&b, "requests   %d (%.0f/s); generator CPU %.2f s, %.0f µs per request\n", r.Requests, r.RequestsPerSecond, r.CPUSeconds, r.CPUMicrosPerRequest)
	if len(r.Errors) == 0 {
		b.WriteString("errors     none\n")
	} else {
		fmt.Fprintf(&b, "errors     %d: %s\n", r.ErrorCount(), joinCounts(r.Errors))
	}
	if len(r.Statuses) > 0 {
		fmt.Fprintf(&b, "statuses   %s\n", joinCounts(r.Statuses))
		if r.Statuses["post_429"] > 0 || r.Statuses["get_429"] > 0 {
			b.WriteString("           429: the gateway's rate limit; run it with RATE_LIMIT_OPERATOR=off to measure the system\n")
		}
	}
	fmt.Fprintf(&b, "latency ms %-18s %8s %8s %8s %8s %8s %8s %9s\n", "", "count", "p50", "p90", "p99", "p99.9", "max", "mean")
	for _, name := range []string{"post", "post_to_confirmed", "get", "cancel"} {
		p := r.Latency[name]
		if p.Count == 0 {
			continue
		}
		fmt.Fprintf(&b, "           %-18s %8d %8.2f %8.2f %8.2f %8.2f %8.2f %9.2f\n", name, p.Count, p.P50, p.P90, p.P99, p.P999, p.Max, p.Mean)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func joinCounts(m map[string]int64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
