package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/infra/logging"
	"github.com/orderflow/orderflow/messages"
)

func TestCorrelationIDOncePerLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger, err := logging.New(&buf, "text", "info")
	require.NoError(t, err)
	ctx := messages.WithCorrelationID(context.Background(), "corr-1")

	logger.InfoContext(ctx, "from the context")
	logger.InfoContext(ctx, "named already", "correlation_id", "corr-1")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	for _, l := range lines {
		assert.Equal(t, 1, strings.Count(l, "correlation_id=corr-1"), l)
	}
}

func TestTraceAndSpanIDsBesideTheCorrelationID(t *testing.T) {
	t.Parallel()
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	traced := trace.ContextWithSpanContext(messages.WithCorrelationID(context.Background(), "corr-1"),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled}))
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want map[string]any
	}{
		{name: "traced", ctx: traced, want: map[string]any{
			"correlation_id": "corr-1", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}},
		{name: "not traced", ctx: messages.WithCorrelationID(context.Background(), "corr-1"), want: map[string]any{"correlation_id": "corr-1"}},
		{name: "nothing", ctx: context.Background(), want: map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger, err := logging.New(&buf, "json", "info")
			require.NoError(t, err)
			logger.InfoContext(tc.ctx, "hello")
			var line map[string]any
			require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
			for _, k := range []string{"time", "level", "msg"} {
				delete(line, k)
			}
			assert.Equal(t, tc.want, line)
		})
	}
}

func TestWatermillLevels(t *testing.T) {
	t.Parallel()
	fields := watermill.LogFields{"message_uuid": "m-1"}
	tests := []struct {
		name  string
		level string
		log   func(watermill.LoggerAdapter)
		want  string // "" when nothing is written
	}{
		{name: "info is demoted to debug", level: "info", log: func(l watermill.LoggerAdapter) { l.Info("starting handler", fields) }},
		{name: "a demoted info shows at debug", level: "debug", log: func(l watermill.LoggerAdapter) { l.Info("starting handler", fields) }, want: "level=DEBUG msg=\"starting handler\" message_uuid=m-1"},
		{name: "trace is off at debug", level: "debug", log: func(l watermill.LoggerAdapter) { l.Trace("message acked", fields) }},
		{name: "an error names it", level: "info", log: func(l watermill.LoggerAdapter) { l.Error("handler failed", errors.New("boom"), fields) }, want: "level=ERROR msg=\"handler failed\" message_uuid=m-1 error=boom"},
		{name: "fields given to With stay", level: "debug", log: func(l watermill.LoggerAdapter) {
			l.With(watermill.LogFields{"topic": "t"}).Debug("subscribed", nil)
		}, want: "level=DEBUG msg=subscribed topic=t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger, err := logging.New(&buf, "text", tc.level)
			require.NoError(t, err)
			tc.log(logging.Watermill(logger))
			if tc.want == "" {
				assert.Empty(t, buf.String())
				return
			}
			assert.Contains(t, buf.String(), tc.want)
		})
	}
}

// Watermill traces every message it handles; with the level off that must cost nothing.
func TestWatermillDisabledLevelsDoNotAllocate(t *testing.T) {
	logger, err := logging.New(io.Discard, "json", "info")
	require.NoError(t, err)
	w := logging.Watermill(logger)
	fields := watermill.LogFields{"message_uuid": "m-1", "handler_name": "h"}
	allocs := testing.AllocsPerRun(100, func() {
		w.Trace("Received message", fields)
		w.Debug("Handling event", fields)
		w.Info("Starting handler", fields)
	})
	assert.Zero(t, allocs)
}
