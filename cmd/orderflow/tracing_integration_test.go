//go:build integration

package main_test

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/orderflow/orderflow/cmd/internal/wiring/wiringtest"
	"github.com/orderflow/orderflow/messages"
)

// otlpReceiverAddr is where the test's OTLP receiver listens (loopback, a port
// of this worktree's range).
const otlpReceiverAddr = "127.0.0.1:18162"

// The four services, each a process of its own on Kafka and MongoDB, export
// their spans over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT) to a receiver in
// the test: one POST /orders is one trace across the four processes, the trace
// context carried in the Kafka headers from hop to hop, with the MongoDB
// commands of the handlers in it.
func TestTracesOfAnOrderReachAnOTLPReceiverAcrossProcesses(t *testing.T) {
	t.Parallel()
	recv := startOTLPReceiver(t, otlpReceiverAddr)
	env, _ := kafkaEnv(t)
	bin := buildBinary(t)
	procs := startServices(t, bin, append(env, "COURIER=manual", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+otlpReceiverAddr),
		"orders", "inventory", "delivery", "gateway")
	gw := procs["gateway"]
	gw.put(t, "/inventory/SKU-OTLP", map[string]int{"on_hand": 10})
	id, _ := placeOrder(t, gw, http.Header{"X-Correlation-Id": {"otlp-1"}}, "c-otlp", "SKU-OTLP", 2)
	waitOrderStatus(t, gw, id, 60*time.Second, messages.OrderStatusConfirmed)
	waitShipmentStatus(t, gw, id, messages.ShipmentStatusScheduled)

	// The batching exporters send every 5 s.
	var trace map[string]otlpSpan
	var root, last otlpSpan
	waitUntil(t, 60*time.Second, 100*time.Millisecond, "the receiver has the order's trace up to delivery", func() (bool, string) {
		spans := recv.all()
		roots := 0
		for _, s := range spans {
			if s.Name == "POST /orders" && s.Service == "gateway" && s.Kind == tracepb.Span_SPAN_KIND_SERVER {
				root = s
				roots++
			}
		}
		if roots != 1 {
			return false, fmt.Sprintf("%d spans received, %d of POST /orders", len(spans), roots)
		}
		trace = map[string]otlpSpan{}
		found := false
		for _, s := range spans {
			if s.TraceID != root.TraceID {
				continue
			}
			trace[s.SpanID] = s
			if s.Service == "delivery" && s.Name == "process orders.events" && s.Attr["orderflow.message.name"] == "OrderConfirmed" {
				last, found = s, true
			}
		}
		return found, fmt.Sprintf("%d spans received, %d in the order's trace", len(spans), len(trace))
	})

	services := map[string]bool{}
	mongoSpans := map[string]int{}
	for _, s := range trace {
		services[s.Service] = true
		if s.SpanID != root.SpanID {
			assert.Contains(t, trace, s.ParentID, "the parent of %s %q is in the trace", s.Service, s.Name)
		}
		if s.Kind == tracepb.Span_SPAN_KIND_CLIENT && (s.Attr["db.system.name"] == "mongodb" || s.Attr["db.system"] == "mongodb") {
			mongoSpans[s.Service]++
		}
		if s.Kind == tracepb.Span_SPAN_KIND_PRODUCER || s.Kind == tracepb.Span_SPAN_KIND_CONSUMER {
			assert.Equal(t, "kafka", s.Attr["messaging.system"], "%s %q", s.Service, s.Name)
		}
	}
	assert.Equal(t, map[string]bool{"gateway": true, "orders": true, "inventory": true, "delivery": true}, services)
	for _, svc := range []string{"orders", "inventory", "delivery"} {
		assert.Positive(t, mongoSpans[svc], "the MongoDB commands of %s are in the trace", svc)
	}

	var chain []string
	for s := last; ; s = trace[s.ParentID] {
		chain = append([]string{fmt.Sprintf("%s: %s [%s]", s.Service, s.Name, s.Attr["orderflow.message.name"])}, chain...)
		if s.SpanID == root.SpanID || trace[s.ParentID].SpanID == "" {
			break
		}
	}
	assert.Equal(t, wiringtest.OrderTraceChain(), chain, "the hops in causal order, across four processes:\n%s", strings.Join(chain, "\n"))
	t.Logf("%d spans in the order's trace; MongoDB commands by service %v", len(trace), mongoSpans)
}

// otlpSpan is what the test keeps of a received span.
type otlpSpan struct {
	Service, Name             string
	TraceID, SpanID, ParentID string
	Kind                      tracepb.Span_SpanKind
	Attr                      map[string]string
	Start, End                time.Time
}

// otlpReceiver is an OTLP/HTTP trace receiver: it takes protobuf
// ExportTraceServiceRequests on /v1/traces and keeps their spans.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []otlpSpan
}

func (r *otlpReceiver) all() []otlpSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

func startOTLPReceiver(t testing.TB, addr string) *otlpReceiver {
	t.Helper()
	r := &otlpReceiver{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, req *http.Request) {
		var body io.Reader = http.MaxBytesReader(w, req.Body, 64<<20)
		if req.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			http.Error(w, "want application/x-protobuf, not "+ct, http.StatusUnsupportedMediaType)
			return
		}
		var export coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &export); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.add(&export)
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	})
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err, "the OTLP receiver's port")
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *otlpReceiver) add(export *coltracepb.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range export.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				attrs := map[string]string{}
				for _, kv := range s.GetAttributes() {
					attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
				}
				r.spans = append(r.spans, otlpSpan{
					Service: service, Name: s.GetName(), Kind: s.GetKind(), Attr: attrs,
					TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()),
					Start:    time.Unix(0, int64(s.GetStartTimeUnixNano())), //nolint:gosec // nanoseconds since 1970 fit
					End:      time.Unix(0, int64(s.GetEndTimeUnixNano())),   //nolint:gosec // nanoseconds since 1970 fit
				})
			}
		}
	}
}
