package wiring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/cmd/internal/wiring/wiringtest"
	"github.com/orderflow/orderflow/infra/tracing"
	"github.com/orderflow/orderflow/messages"
)

// hop is what the test knows of a span: the service that made it, its name,
// and the command or event it sent or handled.
type hop struct {
	Service, Name, Message string
}

func (h hop) String() string { return fmt.Sprintf("%s: %s [%s]", h.Service, h.Name, h.Message) }

func hopOf(s sdktrace.ReadOnlySpan) hop {
	service, _ := s.Resource().Set().Value("service.name")
	h := hop{Service: service.String(), Name: s.Name()}
	for _, a := range s.Attributes() {
		if a.Key == tracing.AttrMessageName {
			h.Message = a.Value.String()
		}
	}
	return h
}

// One POST /orders is one trace, from the gateway's HTTP server span through
// the saga to the delivery service scheduling the shipment, every hop a child
// of the one that caused it, on the in-process transport.
func TestOnePlacedOrderIsOneTraceAcrossTheFourServices(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tr := tracing.New(rec, tracing.WithSampler(sdktrace.AlwaysSample()))
	h := start(t, withTracing(tr))
	h.SetStock("SKU-TRACE", 10)
	id := h.PlaceOrder("c-trace", []messages.Item{item("SKU-TRACE", 2)}, "X-Correlation-ID", "trace-1")
	h.WaitStatus(id, messages.OrderStatusConfirmed)
	h.WaitShipment(id, messages.ShipmentStatusScheduled)

	var root sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "POST /orders" {
			require.Nil(t, root, "one POST, one server span")
			root = s
		}
	}
	require.NotNil(t, root, "the gateway's server span of POST /orders")
	assert.Equal(t, trace.SpanKindServer, root.SpanKind())
	assert.False(t, root.Parent().IsValid(), "the request came without a trace: its span is the root")
	traceID := root.SpanContext().TraceID()

	// The spans of the trace, once delivery's handling of OrderConfirmed has ended.
	var byID map[trace.SpanID]sdktrace.ReadOnlySpan
	var last sdktrace.ReadOnlySpan
	require.Eventually(t, func() bool {
		byID = map[trace.SpanID]sdktrace.ReadOnlySpan{}
		last = nil
		for _, s := range rec.Ended() {
			if s.SpanContext().TraceID() != traceID {
				continue
			}
			byID[s.SpanContext().SpanID()] = s
			if hopOf(s) == (hop{"delivery", "process orders.events", "OrderConfirmed"}) {
				last = s
			}
		}
		return last != nil
	}, h.Within, time.Millisecond, "delivery's span of OrderConfirmed never ended in the order's trace")

	services := map[string]bool{}
	for _, s := range byID {
		services[hopOf(s).Service] = true
		if s == root {
			continue
		}
		parent, ok := byID[s.Parent().SpanID()]
		if assert.True(t, ok, "the parent of %s is in the trace", hopOf(s)) {
			assert.False(t, s.StartTime().Before(parent.StartTime()), "%s starts after its parent %s", hopOf(s), hopOf(parent))
		}
	}
	assert.Equal(t, map[string]bool{"gateway": true, "orders": true, "inventory": true, "delivery": true}, services)

	// The causal chain, from the request to the shipment.
	var chain []string
	for s := last; s != nil; s = byID[s.Parent().SpanID()] {
		chain = append([]string{hopOf(s).String()}, chain...)
		if s == root {
			break
		}
	}
	assert.Equal(t, wiringtest.OrderTraceChain(), chain, "the hops in causal order:\n%s", strings.Join(chain, "\n"))

	// The answer to the gateway is in the trace too.
	replied := false
	for _, s := range byID {
		replied = replied || hopOf(s) == hop{"gateway", "process " + messages.TopicReplies, ""}
	}
	assert.True(t, replied, "the gateway's handling of the reply is in the trace")

	// The trace context travels in the messages' metadata, where a read model can take the trace ID.
	carried := 0
	for _, m := range h.Rec.All() {
		if m.Msg.Metadata.Get("name") == "OrderPlaced" && strings.Contains(string(m.Msg.Payload), id) {
			assert.Equal(t, traceID.String(), messages.TraceIDFromTraceParent(m.Msg.Metadata.Get(messages.MetadataTraceParent)))
			carried++
		}
	}
	assert.Equal(t, 1, carried, "one OrderPlaced, carrying the trace")

	// ...and the order's timeline, from the view, names the trace of each step.
	var timeline struct {
		Steps []struct {
			Step    string `json:"step"`
			Service string `json:"service"`
			TraceID string `json:"trace_id"`
		} `json:"steps"`
	}
	require.Eventually(t, func() bool {
		status, _, body := h.Do(http.MethodGet, "/orders/"+id+"/timeline", nil)
		if status != http.StatusOK || json.Unmarshal(body, &timeline) != nil {
			return false
		}
		for _, st := range timeline.Steps {
			if st.Step == "placed" {
				return true
			}
		}
		return false
	}, h.Within, 5*time.Millisecond, "the timeline has the order placed")
	for _, st := range timeline.Steps {
		assert.Equal(t, traceID.String(), st.TraceID, "timeline step %s (%s)", st.Step, st.Service)
	}
	require.NoError(t, tr.Shutdown(context.Background()))
}
