package wiring_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

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
// (what a deployment with a trace backend pays). It logs each rate, its ratio
// to "off", and the cost per order (B/op and allocs/op beside it are steadier
// than time on a shared machine).
func BenchmarkOrderToConfirmedTracing(b *testing.B) {
	rates := map[string]float64{}
	variants := []struct {
		name string
		exp  func(b *testing.B) sdktrace.SpanExporter // nil: tracing off
	}{
		{name: "off"},
		{name: "recording", exp: func(*testing.B) sdktrace.SpanExporter { return discard{} }},
		{name: "otlp", exp: otlpToLoopback},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			var opts []option
			var spans atomic.Int64
			if v.exp != nil {
				tr := tracing.New(counting{sdktrace.NewBatchSpanProcessor(v.exp(b)), &spans}, tracing.WithSampler(sdktrace.AlwaysSample()))
				b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
				opts = append(opts, withTracing(tr))
			}
			rates[v.name] = benchOrderToConfirmed(b, opts...)
			if v.exp != nil {
				// Every span of the run, the stock level set and the waits' GETs included.
				b.ReportMetric(float64(spans.Load())/float64(b.N), "spans/order")
			}
		})
	}
	off := rates["off"]
	if off == 0 {
		return
	}
	for _, v := range variants {
		r := rates[v.name]
		if r == 0 {
			continue
		}
		// Printed, not logged: a benchmark with sub-benchmarks shows no logs of its own.
		fmt.Printf("TRACING COST %-9s %8.0f orders/s  %.2f× off  %+8.1f µs per order\n", v.name, r, r/off, (1/r-1/off)*1e6)
	}
}

// discard is an exporter that drops what it is given.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// counting counts the spans that end.
type counting struct {
	sdktrace.SpanProcessor
	n *atomic.Int64
}

func (c counting) OnEnd(s sdktrace.ReadOnlySpan) {
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
