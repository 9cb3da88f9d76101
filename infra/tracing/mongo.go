package tracing

import (
	"context"

	"go.mongodb.org/mongo-driver/event"
	"go.opentelemetry.io/contrib/instrumentation/go.mongodb.org/mongo-driver/mongo/otelmongo"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// MongoMonitor returns the MongoDB command monitor that gives every command a
// client span, with the driver's official instrumentation (otelmongo). One
// client serves every service of a process, so the span goes to the
// provider of the span it is a child of (the handler's or the request's), and
// a command issued outside any traced work (index creation at start, the
// outbox relay's and the saga sweeper's polls) gets none, instead of a root
// span a second. Nil when tracing is off: no monitor at all.
func (t *Tracing) MongoMonitor() *event.CommandMonitor {
	if t == nil {
		return nil
	}
	return otelmongo.NewMonitor(otelmongo.WithTracerProvider(parentProvider{}))
}

// parentProvider is a TracerProvider whose tracers start their spans with the
// provider of the parent span in the context, and start none without one.
type parentProvider struct{ embedded.TracerProvider }

func (parentProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return parentTracer{name: name, opts: opts}
}

type parentTracer struct {
	embedded.Tracer
	name string
	opts []trace.TracerOption
}

func (p parentTracer) Start(ctx context.Context, spanName string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return noop.NewTracerProvider().Tracer(p.name).Start(ctx, spanName, opts...)
	}
	return parent.TracerProvider().Tracer(p.name, p.opts...).Start(ctx, spanName, opts...)
}
