package tracing

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/messages"
)

// HTTPHandler returns h with a server span for every request ("POST
// /orders/{id}/cancel": the method and route names it, not the ids), child of
// the caller's span when the request carries a traceparent header. The
// operational paths (/healthz, /readyz, /metrics), polled all day, get none.
// The request's context carries the trace ID (messages.TraceID) for the
// handlers. When tracing is off it returns h unchanged.
func (t *Tracing) HTTPHandler(service string, h http.Handler, route func(*http.Request) string) http.Handler {
	if t == nil {
		return h
	}
	withRoute := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		span := trace.SpanFromContext(r.Context())
		span.SetAttributes(semconv.HTTPRoute(route(r)), AttrService.String(service))
		// The trace ID for what the handlers record (messages.TraceID), as for a message.
		if id := span.SpanContext().TraceID(); id.IsValid() {
			r = r.WithContext(messages.WithTraceID(r.Context(), id.String()))
		}
		h.ServeHTTP(w, r)
	})
	return otelhttp.NewHandler(withRoute, service,
		otelhttp.WithTracerProvider(t.Provider(service)),
		otelhttp.WithPropagators(propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + route(r) }),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}),
	)
}
