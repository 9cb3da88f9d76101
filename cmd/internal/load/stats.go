package load

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The histograms' range: 1 µs to 5 minutes at 3 significant digits (0.1 %).
const (
	histMin    = 1
	histMax    = int64(5 * time.Minute / time.Microsecond)
	histDigits = 3
)

// latency is an HDR histogram of durations in microseconds, safe for
// concurrent use. The lock is held for a RecordValue (tens of ns), far below
// a request's cost, so one histogram per measure is enough.
type latency struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func newLatency() *latency { return &latency{h: hdrhistogram.New(histMin, histMax, histDigits)} }

func (l *latency) record(d time.Duration) {
	us := max(int64(d/time.Microsecond), histMin)
	l.mu.Lock()
	// A value beyond the range is recorded as the range's top, not dropped:
	// losing the worst samples would flatter the tail.
	_ = l.h.RecordValue(min(us, histMax))
	l.mu.Unlock()
}

// Percentiles are a histogram's summary, in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

func (l *latency) percentiles() Percentiles {
	l.mu.Lock()
	defer l.mu.Unlock()
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if l.h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{
		Count: l.h.TotalCount(),
		Mean:  l.h.Mean() / 1000,
		P50:   ms(l.h.ValueAtQuantile(50)),
		P90:   ms(l.h.ValueAtQuantile(90)),
		P99:   ms(l.h.ValueAtQuantile(99)),
		P999:  ms(l.h.ValueAtQuantile(99.9)),
		Max:   ms(l.h.Max()),
	}
}

// Operations, as they name errors and histograms.
const (
	opPost   = "post"
	opGet    = "get"
	opCancel = "cancel"
	opStock  = "stock"
)

// stats is what a run counts, safe for concurrent use.
type stats struct {
	sent, placed, confirmed, rejected, otherFinal atomic.Int64
	cancelled, cancelRefused, followTimeouts      atomic.Int64
	reads, requests                               atomic.Int64
	inFlight                                      atomic.Int64
	maxLagNanos                                   atomic.Int64

	post, toConfirmed, get, cancel *latency

	mu       sync.Mutex
	errors   map[string]int64 // "post_5xx", "get_timeout", "follow_timeout"…
	statuses map[string]int64 // "post_429", "cancel_409"…: every answer that was not the expected one
}

func newStats() *stats {
	return &stats{
		post: newLatency(), toConfirmed: newLatency(), get: newLatency(), cancel: newLatency(),
		errors: map[string]int64{}, statuses: map[string]int64{},
	}
}

// fail counts an error of op: a transport error or timeout (err), or an
// unexpected status.
func (s *stats) fail(op string, status int, err error) {
	kind := op + "_" + errorClass(status, err)
	s.mu.Lock()
	s.errors[kind]++
	if err == nil {
		s.statuses[op+"_"+strconv.Itoa(status)]++
	}
	s.mu.Unlock()
}

// note counts an answer that is a legitimate outcome, not an error (a 409 to
// a cancel of an order already final).
func (s *stats) note(op string, status int) {
	s.mu.Lock()
	s.statuses[op+"_"+strconv.Itoa(status)]++
	s.mu.Unlock()
}

func (s *stats) errorKind(kind string) {
	s.mu.Lock()
	s.errors[kind]++
	s.mu.Unlock()
}

func (s *stats) errorCount() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, c := range s.errors {
		n += c
	}
	return n
}

// lag records how late a send was against its intended time.
func (s *stats) lag(d time.Duration) {
	for {
		cur := s.maxLagNanos.Load()
		if int64(d) <= cur || s.maxLagNanos.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// errorClass names what went wrong: the status class, or a timeout or a
// transport error (connection refused or reset, a malformed answer).
func errorClass(status int, err error) string {
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return "timeout"
		}
		return "transport"
	}
	switch {
	case status >= 500:
		return "5xx"
	case status >= 400:
		return "4xx"
	default:
		return "unexpected_" + strconv.Itoa(status)
	}
}
