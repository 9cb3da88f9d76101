package wiring_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/orderflow/orderflow/infra/tracing"
)

// benchOTLPAddr is where the OTLP variant's receiver listens (loopback, a port
// of this worktree's range).
const benchOTLPAddr = "127.0.0.1:18161"

// BenchmarkOrderToConfirmedTracing is BenchmarkOrderToConfirmed three times
// in one run, so that the machine's noise is shared: tracing off (nothing set:
// the production default), every span recorded into a batching processor
// whose exporter drops them (what the SDK itself costs), and every span
// exported over OTLP/HTTP to a receiver on loopback that reads and drops them
// (what a deployment with a trace backend pays; the receiver's own work is in
// the process's CPU time too). It prints each variant's rate and CPU time per
// order, with its ratio to "off" (B/op and allocs/op beside them are steadier
// still on a shared machine).
func BenchmarkOrderToConfirmedTracing(b *testing.B) {
	variants := []struct {
		name string
		exp  func(b *testing.B) sdktrace.SpanExporter // nil: tracing off
	}{
		{name: "off"},
		{name: "recording", exp: func(*testing.B) sdktrace.SpanExporter { return discard{} }},
		{name: "otlp", exp: otlpToLoopback},
	}
	// Rounds of the three, interleaved, so that a burst of load from elsewhere
	// on the machine falls on all of them; each figure is the median of its rounds.
	const rounds = 3
	rates, cpus := map[string][]float64{}, map[string][]float64{}
	for range rounds {
		for _, v := range variants {
			b.Run(v.name, func(b *testing.B) {
				var opts []option
				var spans atomic.Int64
				if v.exp != nil {
					tr := tracing.New(countingSpans{sdktrace.NewBatchSpanProcessor(v.exp(b)), &spans}, tracing.WithSampler(sdktrace.AlwaysSample()))
					b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
					opts = append(opts, withTracing(tr))
				}
				before := cpuTime()
				_, m := orderToConfirmed(b, opts...)
				rate := float64(b.N) / b.Elapsed().Seconds()
				b.ReportMetric(rate, "orders/s")
				b.ReportMetric(float64(m.since())/float64(b.N), "allocs/order")
				// The process's CPU time per order (every goroutine, the
				// clients' included): less swayed than wall time by what
				// else runs on the machine.
				cpu := float64((cpuTime() - before).Microseconds()) / float64(b.N)
				b.ReportMetric(cpu, "cpu-µs/order")
				if v.exp != nil {
					// Every span of the run, the stock level set and the waits' GETs included.
					b.ReportMetric(float64(spans.Load())/float64(b.N), "spans/order")
				}
				if b.N > 1 { // not the calibration run
					rates[v.name] = append(rates[v.name], rate)
					cpus[v.name] = append(cpus[v.name], cpu)
				}
			})
		}
	}
	off, offCPU := median(rates["off"]), median(cpus["off"])
	if off == 0 || offCPU == 0 {
		return
	}
	for _, v := range variants {
		r, cpu := median(rates[v.name]), median(cpus[v.name])
		if r == 0 {
			continue
		}
		// Printed, not logged: a benchmark with sub-benchmarks shows no logs of its own.
		fmt.Printf("TRACING COST %-9s %6.0f orders/s (%.2f× off, %+7.0f µs wall per order)  %6.0f cpu-µs/order (%.2f× off, %+6.0f cpu-µs per order)  median of %d\n",
			v.name, r, r/off, (1/r-1/off)*1e6, cpu, cpu/offCPU, cpu-offCPU, len(rates[v.name]))
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discard is an exporter that drops what it is given.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// countingSpans counts the spans that end.
type countingSpans struct {
	sdktrace.SpanProcessor
	n *atomic.Int64
}

func (c countingSpans) OnEnd(s sdktrace.ReadOnlySpan) {
	c.n.Add(1)
	c.SpanProcessor.OnEnd(s)
}

// otlpToLoopback returns an OTLP/HTTP exporter to a receiver that reads each
// request and answers an empty ExportTraceServiceResponse.
func otlpToLoopback(b *testing.B) sdktrace.SpanExporter {
	ln, err := net.Listen("tcp", benchOTLPAddr)
	require.NoError(b, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL("http://"+benchOTLPAddr+"/v1/traces"))
	require.NoError(b, err)
	return exp
}
