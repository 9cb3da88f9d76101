package tracing_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/infra/tracing"
	"github.com/orderflow/orderflow/messages"
)

func recording(t *testing.T) (*tracing.Tracing, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tr := tracing.New(rec, tracing.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, rec
}

// system runs one service's router on GoChannel with the standard middleware
// and tracing, and a handler on topic "in" that handle decides about.
func system(t *testing.T, tr *tracing.Tracing, handle func(ctx context.Context, attempt int) error) (pub message.Publisher, done <-chan struct{}) {
	t.Helper()
	ch := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 16, Persistent: true}, watermill.NopLogger{})
	t.Cleanup(func() { _ = ch.Close() })
	pub = tr.Publisher("svc", ch)
	router, err := messaging.NewRouter(messaging.RouterConfig{
		Service: "svc", PoisonTopic: "svc.poison", Publisher: pub,
		Retry:   messaging.RetryConfig{MaxRetries: 2, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond},
		Tracing: tr.Middleware("svc"),
		Logger:  slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	finished := make(chan struct{}, 16)
	var attempts atomic.Int32
	router.AddConsumerHandler("svc.handler", "in", ch, func(msg *message.Message) error {
		err := handle(msg.Context(), int(attempts.Add(1)))
		if err == nil || errors.Is(err, messages.ErrInvalid) {
			finished <- struct{}{}
		}
		return err
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = router.Run(ctx) }()
	t.Cleanup(func() { cancel(); _ = router.Close() })
	<-router.Running()
	return pub, finished
}

// sendWithin publishes a message under a span of its own and returns that span's context.
func sendWithin(t *testing.T, tr *tracing.Tracing, pub message.Publisher) trace.SpanContext {
	t.Helper()
	ctx, span := tr.Provider("client").Tracer("test").Start(context.Background(), "client")
	defer span.End()
	msg := message.NewMessage(watermill.NewUUID(), []byte("{}"))
	msg.Metadata.Set(messages.MetadataCorrelationID, "corr-1") // as the buses stamp it
	msg.SetContext(ctx)
	require.NoError(t, pub.Publish("in", msg))
	return span.SpanContext()
}

func waitEnded(t *testing.T, rec *tracetest.SpanRecorder, name string, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	var got []sdktrace.ReadOnlySpan
	require.Eventually(t, func() bool {
		got = got[:0]
		for _, s := range rec.Ended() {
			if s.Name() == name {
				got = append(got, s)
			}
		}
		return len(got) >= n
	}, 10*time.Second, time.Millisecond, "span %q never ended %d times", name, n)
	return got
}

func TestAHandledMessageContinuesThePublishersTrace(t *testing.T) {
	t.Parallel()
	tr, rec := recording(t)
	var seen atomic.Value
	pub, done := system(t, tr, func(ctx context.Context, _ int) error {
		seen.Store([2]string{messages.TraceID(ctx), trace.SpanContextFromContext(ctx).SpanID().String()})
		return nil
	})
	client := sendWithin(t, tr, pub)
	<-done

	send := waitEnded(t, rec, "send in", 1)[0]
	process := waitEnded(t, rec, "process in", 1)[0]
	assert.Equal(t, trace.SpanKindProducer, send.SpanKind())
	assert.Equal(t, trace.SpanKindConsumer, process.SpanKind())
	assert.Equal(t, client.TraceID(), send.SpanContext().TraceID(), "one trace")
	assert.Equal(t, client.SpanID(), send.Parent().SpanID(), "the publish is a child of the span it was sent in")
	assert.Equal(t, send.SpanContext().SpanID(), process.Parent().SpanID(), "the handling is a child of the publish")
	assert.True(t, process.Parent().IsRemote(), "the consumer found its parent in the message's metadata")
	assert.Equal(t, [2]string{client.TraceID().String(), process.SpanContext().SpanID().String()}, seen.Load(),
		"the handler sees the trace ID (messages.TraceID) and its consumer span")
	attrs := map[string]string{}
	for _, a := range process.Attributes() {
		attrs[string(a.Key)] = a.Value.String()
	}
	assert.Equal(t, "svc.handler", attrs["messaging.consumer.group.name"])
	assert.Equal(t, "in", attrs["messaging.destination.name"])
	assert.Equal(t, "corr-1", attrs["orderflow.correlation_id"])
	name, _ := process.Resource().Set().Value("service.name")
	assert.Equal(t, "svc", name.String())
}

func TestRetriesAndPoisoningAreSpanEvents(t *testing.T) {
	t.Parallel()
	tr, rec := recording(t)
	pub, done := system(t, tr, func(_ context.Context, attempt int) error {
		switch attempt {
		case 1:
			return errors.New("flaky") // unknown: retried
		case 2:
			return fmt.Errorf("%w: no such order", messages.ErrInvalid) // permanent: poisoned
		}
		return nil
	})
	client := sendWithin(t, tr, pub)
	<-done

	process := waitEnded(t, rec, "process in", 1)[0]
	var events []string
	for _, e := range process.Events() {
		events = append(events, e.Name)
	}
	assert.Equal(t, []string{"retry", "poisoned"}, events)
	assert.Equal(t, "Error", process.Status().Code.String(), "a poisoned message's span says so")
	poisonSend := waitEnded(t, rec, "send svc.poison", 1)[0]
	assert.Equal(t, client.TraceID(), poisonSend.SpanContext().TraceID(), "the poison queue entry is sent within the handling's trace")
	assert.Equal(t, process.SpanContext().SpanID(), poisonSend.Parent().SpanID())
}

func TestOffTracesNothingAndChangesNothing(t *testing.T) {
	t.Parallel()
	var off *tracing.Tracing
	ch := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	defer ch.Close()
	assert.False(t, off.Enabled())
	assert.Same(t, message.Publisher(ch), off.Publisher("svc", ch), "the publisher is not decorated")
	assert.Nil(t, off.Middleware("svc"), "no middleware")
	assert.Nil(t, off.MongoMonitor(), "no command monitor")
	assert.NoError(t, off.Shutdown(context.Background()))
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		cfg     tracing.Config
		exports bool
		invalid string
	}{
		{name: "nothing set", cfg: tracing.Config{}},
		{name: "an endpoint", cfg: tracing.Config{Endpoint: "http://127.0.0.1:4318"}, exports: true},
		{name: "a traces endpoint", cfg: tracing.Config{TracesEndpoint: "http://127.0.0.1:4318/v1/traces"}, exports: true},
		{name: "otlp to the default endpoint", cfg: tracing.Config{Exporter: "otlp"}, exports: true},
		{name: "none wins over an endpoint", cfg: tracing.Config{Exporter: "none", Endpoint: "http://127.0.0.1:4318"}},
		{name: "disabled wins over everything", cfg: tracing.Config{SDKDisabled: true, Exporter: "otlp", Endpoint: "http://127.0.0.1:4318"}},
		{name: "grpc is not built in", cfg: tracing.Config{Endpoint: "http://x:4317", Protocol: "grpc"}, exports: true, invalid: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{name: "an unknown exporter", cfg: tracing.Config{Exporter: "zipkin"}, invalid: "OTEL_TRACES_EXPORTER"},
		{name: "an unknown sampler", cfg: tracing.Config{Sampler: "sometimes"}, invalid: "OTEL_TRACES_SAMPLER"},
		{name: "a ratio sampler", cfg: tracing.Config{Sampler: "parentbased_traceidratio"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.exports, tc.cfg.Exports())
			if err := tc.cfg.Validate(); tc.invalid != "" {
				assert.ErrorContains(t, err, tc.invalid)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestFromConfigWithNothingSetRunsNoExporter(t *testing.T) {
	t.Parallel()
	tr, err := tracing.FromConfig(context.Background(), tracing.Config{})
	require.NoError(t, err)
	assert.Nil(t, tr)
}
