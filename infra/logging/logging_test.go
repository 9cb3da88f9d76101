package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

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
