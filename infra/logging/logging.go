// Package logging builds the services' slog logger: JSON or text, a level, and
// the correlation ID of the message or request being handled on every line
// logged with its context, with the trace and span IDs when it is traced.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/ThreeDotsLabs/watermill"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/messages"
)

// New returns a logger writing to w in the given format ("json" or "text") at the given level.
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	return slog.New(contextHandler{h}), nil
}

// Watermill adapts the logger for Watermill. Watermill logs every subscription
// and router start at info; those are demoted to debug to keep info for the service's own story.
//
// Unlike watermill.NewSlogLogger, the adapter asks the logger whether the level
// is enabled before it turns the fields into attributes: Watermill traces every
// message it receives, acks and publishes, and with trace off (always, in
// practice) building those attributes was a tenth of the embedded mode's CPU.
func Watermill(l *slog.Logger) watermill.LoggerAdapter {
	return watermillLogger{l: l}
}

type watermillLogger struct{ l *slog.Logger }

func (w watermillLogger) log(level slog.Level, msg string, fields watermill.LogFields, extra ...any) {
	ctx := context.Background()
	if !w.l.Enabled(ctx, level) {
		return
	}
	args := make([]any, 0, 2*len(fields)+len(extra))
	for k, v := range fields {
		args = append(args, k, v)
	}
	w.l.Log(ctx, level, msg, append(args, extra...)...)
}

func (w watermillLogger) Error(msg string, err error, fields watermill.LogFields) {
	w.log(slog.LevelError, msg, fields, "error", err)
}

func (w watermillLogger) Info(msg string, fields watermill.LogFields) {
	w.log(slog.LevelDebug, msg, fields) // demoted, see Watermill
}

func (w watermillLogger) Debug(msg string, fields watermill.LogFields) {
	w.log(slog.LevelDebug, msg, fields)
}

func (w watermillLogger) Trace(msg string, fields watermill.LogFields) {
	w.log(watermill.LevelTrace, msg, fields)
}

func (w watermillLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	args := make([]any, 0, 2*len(fields))
	for k, v := range fields {
		args = append(args, k, v)
	}
	return watermillLogger{l: w.l.With(args...)}
}

// contextHandler adds correlation_id from the context to every record that
// does not carry one already (audit lines name theirs whatever the handler),
// and trace_id and span_id of the span in the context, if any.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := messages.CorrelationID(ctx); id != "" && !hasAttr(r, "correlation_id") {
		r.AddAttrs(slog.String("correlation_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}
