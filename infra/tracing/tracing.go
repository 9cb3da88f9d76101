// Package tracing gives the services OpenTelemetry traces: a TracerProvider
// per service set up from the standard OTEL_* environment variables, exporting
// over OTLP/HTTP, and the instrumentation of every hop: the gateway's HTTP
// server, every publish (a producer span that writes the W3C trace context
// into the message's metadata) and every handled message (a consumer span,
// child of the publish that sent it), on GoChannel and Kafka alike, and the
// MongoDB commands issued while handling one.
//
// With no exporter configured nothing is instrumented at all: Enabled is
// false, the decorators hand back what they were given, and a message costs
// nothing more than before.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// scope is the instrumentation scope of the spans this package starts.
const scope = "github.com/orderflow/orderflow/infra/tracing"

// Namespace is the service.namespace of every service's resource.
const Namespace = "orderflow"

// propagator carries the W3C trace context (traceparent, tracestate) in HTTP
// headers and message metadata.
var propagator = propagation.TraceContext{}

// Config is what the environment says about tracing: the standard OTEL_*
// variables that decide whether spans are exported, and where. The OTLP
// exporter and the SDK read the rest of them (headers, timeouts, sampler
// argument, resource attributes) themselves, as the specification says.
type Config struct {
	// SDKDisabled (OTEL_SDK_DISABLED=true) turns tracing off whatever else is set.
	SDKDisabled bool
	// Exporter is OTEL_TRACES_EXPORTER: "otlp", "none", or empty (otlp when an
	// endpoint is set, else none: a process with nothing set exports nothing).
	Exporter string
	// Endpoint and TracesEndpoint are OTEL_EXPORTER_OTLP_ENDPOINT and
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.
	Endpoint, TracesEndpoint string
	// Protocol is OTEL_EXPORTER_OTLP_PROTOCOL (or its _TRACES_ variant):
	// only http/protobuf, the specification's default, is built in.
	Protocol string
	// ServiceName is OTEL_SERVICE_NAME: it replaces each service's own name
	// (orders, inventory, delivery, gateway) in the resource, so it fits a
	// process that runs one service.
	ServiceName string
	// Sampler is OTEL_TRACES_SAMPLER, checked here and read by the SDK
	// (default parentbased_always_on).
	Sampler string
}

var samplers = []string{"", "always_on", "always_off", "traceidratio",
	"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}

// Validate checks the values the SDK would otherwise ignore silently.
func (c Config) Validate() error {
	var errs []error
	if !slices.Contains([]string{"", "otlp", "none"}, c.Exporter) {
		errs = append(errs, fmt.Errorf("OTEL_TRACES_EXPORTER must be otlp or none, not %q", c.Exporter))
	}
	if c.Protocol != "" && c.Protocol != "http/protobuf" {
		errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: only http/protobuf is built in (Jaeger and the OpenTelemetry Collector take it on port 4318)", c.Protocol))
	}
	if !slices.Contains(samplers, c.Sampler) {
		errs = append(errs, fmt.Errorf("OTEL_TRACES_SAMPLER must be one of %v, not %q", samplers[1:], c.Sampler))
	}
	return errors.Join(errs...)
}

// Exports reports whether the configuration asks for spans to be exported.
func (c Config) Exports() bool {
	if c.SDKDisabled || c.Exporter == "none" {
		return false
	}
	return c.Exporter == "otlp" || c.Endpoint != "" || c.TracesEndpoint != ""
}

// Tracing is a process's tracing: one TracerProvider per service it runs, all
// feeding one span processor (one exporter). The nil *Tracing is valid and
// traces nothing.
type Tracing struct {
	processor   sdktrace.SpanProcessor
	sampler     sdktrace.Sampler // nil: the SDK's, from OTEL_TRACES_SAMPLER
	serviceName string
	system      string

	mu        sync.Mutex
	providers map[string]*sdktrace.TracerProvider
}

// Option configures New.
type Option func(*Tracing)

// WithSampler replaces the sampler of OTEL_TRACES_SAMPLER.
func WithSampler(s sdktrace.Sampler) Option { return func(t *Tracing) { t.sampler = s } }

// WithServiceName names every service's resource so (OTEL_SERVICE_NAME).
func WithServiceName(name string) Option { return func(t *Tracing) { t.serviceName = name } }

// WithMessagingSystem names the transport in the messaging spans
// (messaging.system: "kafka"; the default is "gochannel").
func WithMessagingSystem(system string) Option { return func(t *Tracing) { t.system = system } }

// New returns tracing whose spans end in sp: tests give it an in-memory
// recorder, FromConfig a batching OTLP exporter.
func New(sp sdktrace.SpanProcessor, opts ...Option) *Tracing {
	t := &Tracing{processor: sp, system: "gochannel", providers: map[string]*sdktrace.TracerProvider{}}
	for _, o := range opts {
		o(t)
	}
	return t
}

// FromConfig returns the tracing the configuration asks for: nil (nothing
// traced, no exporter running) unless it exports, else tracing that batches
// spans to the OTLP/HTTP exporter, which reads its endpoint, headers and
// timeouts from the environment.
func FromConfig(ctx context.Context, cfg Config, opts ...Option) (*Tracing, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Exports() {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	if cfg.ServiceName != "" {
		opts = append([]Option{WithServiceName(cfg.ServiceName)}, opts...)
	}
	return New(sdktrace.NewBatchSpanProcessor(exp), opts...), nil
}

// Enabled reports whether anything is traced.
func (t *Tracing) Enabled() bool { return t != nil }

// Provider returns the TracerProvider of the named service: its resource names
// the service (service.name, unless OTEL_SERVICE_NAME says otherwise, and
// service.namespace orderflow), plus OTEL_RESOURCE_ATTRIBUTES. A no-op
// provider when tracing is off.
func (t *Tracing) Provider(service string) trace.TracerProvider {
	if t == nil {
		return noop.NewTracerProvider()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.providers[service]; ok {
		return p
	}
	name := service
	if t.serviceName != "" {
		name = t.serviceName
	}
	// Later options win: OTEL_RESOURCE_ATTRIBUTES may add to the service's own,
	// and the name chosen above stays.
	res, err := sdkresource.New(context.Background(),
		sdkresource.WithTelemetrySDK(),
		sdkresource.WithFromEnv(),
		sdkresource.WithAttributes(semconv.ServiceName(name), semconv.ServiceNamespace(Namespace)),
	)
	if err != nil {
		// A malformed OTEL_RESOURCE_ATTRIBUTES still leaves the attributes
		// that parsed; the spans are worth more than the error.
		res = sdkresource.NewSchemaless(semconv.ServiceName(name), semconv.ServiceNamespace(Namespace))
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(t.processor), sdktrace.WithResource(res)}
	if t.sampler != nil {
		opts = append(opts, sdktrace.WithSampler(t.sampler))
	}
	p := sdktrace.NewTracerProvider(opts...)
	t.providers[service] = p
	return p
}

func (t *Tracing) tracer(service string) trace.Tracer {
	return t.Provider(service).Tracer(scope)
}

// Shutdown exports what is still buffered and stops the exporter. Call it once
// the services have stopped.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	providers := make([]*sdktrace.TracerProvider, 0, len(t.providers))
	for _, p := range t.providers {
		providers = append(providers, p)
	}
	t.mu.Unlock()
	var errs []error
	for _, p := range providers {
		// Each provider shuts the shared processor down; the first does the work.
		errs = append(errs, p.Shutdown(ctx))
	}
	if len(providers) == 0 {
		errs = append(errs, t.processor.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// ForceFlush exports every span ended so far.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.processor.ForceFlush(ctx)
}
