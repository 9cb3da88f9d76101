package tracing

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/messages"
)

// Attribute keys of this system on the messaging spans.
const (
	// AttrCorrelationID is the correlation ID of the message or request.
	AttrCorrelationID = attribute.Key("orderflow.correlation_id")
	// AttrMessageName is the name of the command or event a message carries
	// (cqrs's "name" metadata: PlaceOrder, StockReserved...).
	AttrMessageName = attribute.Key("orderflow.message.name")
	// AttrService is the service that handled or sent the message.
	AttrService = attribute.Key("orderflow.service")
)

// metadataName is where cqrs's JSON marshaler keeps a message's name.
const metadataName = "name"

// PublisherDecorator returns the Watermill publisher decorator of the named
// service: every message published through it gets a producer span ("send
// <topic>"), child of the span in the message's context, and the W3C trace
// context of that span in its metadata (messages.MetadataTraceParent,
// messages.MetadataTraceState), which the consumer's Middleware continues.
// A message that already carries a trace context from elsewhere (a poison
// queue entry being requeued) keeps a link to it. When tracing is off it
// returns the publisher unchanged.
func (t *Tracing) PublisherDecorator(service string) message.PublisherDecorator {
	return func(pub message.Publisher) (message.Publisher, error) {
		if t == nil {
			return pub, nil
		}
		return &publisher{Publisher: pub, tracer: t.tracer(service), service: service, system: t.system}, nil
	}
}

// Publisher decorates pub with PublisherDecorator.
func (t *Tracing) Publisher(service string, pub message.Publisher) message.Publisher {
	decorated, _ := t.PublisherDecorator(service)(pub) // it never fails
	return decorated
}

type publisher struct {
	message.Publisher
	tracer  trace.Tracer
	service string
	system  string
}

func (p *publisher) Publish(topic string, msgs ...*message.Message) error {
	var one [1]trace.Span
	spans := one[:0]
	if len(msgs) > 1 {
		spans = make([]trace.Span, 0, len(msgs))
	}
	for _, msg := range msgs {
		ctx := msg.Context()
		opts := []trace.SpanStartOption{
			trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(
				semconv.MessagingSystemKey.String(p.system),
				semconv.MessagingOperationTypeSend,
				semconv.MessagingDestinationName(topic),
				semconv.MessagingMessageID(msg.UUID),
				AttrService.String(p.service),
			),
		}
		if name := msg.Metadata.Get(metadataName); name != "" {
			opts = append(opts, trace.WithAttributes(AttrMessageName.String(name)))
		}
		if id := messages.CorrelationID(ctx); id != "" {
			opts = append(opts, trace.WithAttributes(AttrCorrelationID.String(id)))
		}
		if msg.Metadata.Get(messages.MetadataTraceParent) != "" {
			if prev := trace.SpanContextFromContext(propagator.Extract(context.Background(), propagation.MapCarrier(msg.Metadata))); prev.IsValid() &&
				prev.TraceID() != trace.SpanContextFromContext(ctx).TraceID() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: prev}))
			}
		}
		ctx, span := p.tracer.Start(ctx, "send "+topic, opts...)
		if msg.Metadata == nil {
			msg.Metadata = message.Metadata{}
		}
		propagator.Inject(ctx, propagation.MapCarrier(msg.Metadata))
		spans = append(spans, span)
	}
	err := p.Publisher.Publish(topic, msgs...)
	for _, span := range spans {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
	return err
}

// Middleware returns the router middleware of the named service: every
// message handled gets a consumer span ("process <topic>"), child of the
// producer span whose trace context the message carries (or the root of a
// new trace when it carries none), in the message's context for the handler,
// its logs, its MongoDB commands and what it publishes. The handler's error
// is recorded on it; the retry and poison middleware inside it add their
// events. When tracing is off it returns nil (add nothing).
func (t *Tracing) Middleware(service string) message.HandlerMiddleware {
	if t == nil {
		return nil
	}
	tracer := t.tracer(service)
	system := t.system
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			ctx := propagator.Extract(msg.Context(), propagation.MapCarrier(msg.Metadata))
			topic := message.SubscribeTopicFromCtx(ctx)
			attrs := []attribute.KeyValue{
				semconv.MessagingSystemKey.String(system),
				semconv.MessagingOperationTypeProcess,
				semconv.MessagingDestinationName(topic),
				semconv.MessagingConsumerGroupName(message.HandlerNameFromCtx(ctx)),
				semconv.MessagingMessageID(msg.UUID),
				AttrService.String(service),
			}
			if name := msg.Metadata.Get(metadataName); name != "" {
				attrs = append(attrs, AttrMessageName.String(name))
			}
			if id := messages.CorrelationID(ctx); id != "" {
				attrs = append(attrs, AttrCorrelationID.String(id))
			}
			ctx, span := tracer.Start(ctx, "process "+topic, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
			defer span.End()
			if id := span.SpanContext().TraceID(); id.IsValid() && messages.TraceID(ctx) != id.String() {
				ctx = messages.WithTraceID(ctx, id.String())
			}
			msg.SetContext(ctx)
			out, err := h(msg)
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			return out, err
		}
	}
}
