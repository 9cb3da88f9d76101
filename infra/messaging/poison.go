package messaging

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/infra/faults"
	"github.com/orderflow/orderflow/messages"
)

// PoisonQueue returns the middleware that sends a message its handler gave up
// on to the service's poison topic, where the service's poison store records it.
//
// On a handler error for which shouldPoison is true, it publishes a copy of the
// message to topic: a new UUID (the id of the poison queue entry, prefixed with
// the service, see messages.PoisonEntryID), the original payload and metadata,
// and the poison metadata of messages.PoisonMetadata (reason, handler, original
// topic, subscriber, service, time, original UUID, error class). Then it acks the message so
// the rest flows on. If that publish fails, it returns the error: the message
// is not acked and comes again. When shouldPoison is false, it returns the
// handler's error unchanged (the message is nacked and comes again).
//
// A message read from topic itself (the poison store's own handler) is never
// poisoned: poisoning it would feed it back to the handler that failed, in a
// loop. Its error is returned, so it is retried until it is recorded.
func PoisonQueue(pub message.Publisher, topic, service string, shouldPoison func(error) bool) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err == nil {
				return out, nil
			}
			ctx := msg.Context()
			if !shouldPoison(err) || message.SubscribeTopicFromCtx(ctx) == topic {
				return out, err
			}
			poisoned := message.NewMessage(messages.PoisonEntryID(service, watermill.NewUUID()), msg.Payload)
			for k, v := range msg.Metadata {
				poisoned.Metadata.Set(k, v)
			}
			poisoned.Metadata.Set(messages.MetadataPoisonReason, err.Error())
			poisoned.Metadata.Set(messages.MetadataPoisonHandler, message.HandlerNameFromCtx(ctx))
			poisoned.Metadata.Set(messages.MetadataPoisonTopic, message.SubscribeTopicFromCtx(ctx))
			poisoned.Metadata.Set(messages.MetadataPoisonSubscriber, message.SubscriberNameFromCtx(ctx))
			poisoned.Metadata.Set(messages.MetadataPoisonService, service)
			poisoned.Metadata.Set(messages.MetadataPoisonedAt, time.Now().UTC().Format(time.RFC3339Nano))
			poisoned.Metadata.Set(messages.MetadataPoisonUUID, msg.UUID)
			poisoned.Metadata.Set(messages.MetadataPoisonClass, faults.Classify(err).String())
			// The entry's publish is part of the handling's trace; it carries the
			// span, not the message's cancellation.
			span := trace.SpanFromContext(ctx)
			poisoned.SetContext(trace.ContextWithSpan(context.Background(), span))
			if perr := pub.Publish(topic, poisoned); perr != nil {
				return out, fmt.Errorf("send to poison topic %s: %w (handler error: %v)", topic, perr, err) //nolint:errorlint // the publish error decides retrying; wrapping the handler error too would change what errors.Is/As match
			}
			if span.IsRecording() {
				span.AddEvent("poisoned", trace.WithAttributes(
					attribute.String("poison.entry_id", poisoned.UUID),
					attribute.String("poison.topic", topic),
					attribute.String("error.class", faults.Classify(err).String()),
					attribute.String("exception.message", err.Error()),
				))
				span.SetStatus(codes.Error, "poisoned: "+err.Error())
			}
			return nil, nil
		}
	}
}
