package messaging

import (
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/orderflow/orderflow/messages"
)

// correlationToContext puts the message's correlation ID into its context (making
// one up for a message that came without), where the handler's logs and every
// message the handler publishes through a bus pick it up. Watermill's
// middleware.CorrelationID only stamps messages a handler returns; cqrs handlers
// publish through buses instead. The trace ID of the message's trace context,
// when it carries one, goes into the context too (messages.TraceID).
func correlationToContext(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		id := middleware.MessageCorrelationID(msg)
		if id == "" {
			id = watermill.NewShortUUID()
			middleware.SetCorrelationID(id, msg)
		}
		ctx := messages.WithCorrelationID(msg.Context(), id)
		// The trace the message belongs to, for a handler that records it,
		// even where this process traces nothing itself.
		if tid := messages.TraceIDFromTraceParent(msg.Metadata.Get(messages.MetadataTraceParent)); tid != "" {
			ctx = messages.WithTraceID(ctx, tid)
		}
		msg.SetContext(ctx)
		return h(msg)
	}
}

// stamp sets the metadata every outgoing message carries: the correlation ID of
// the context it is sent in, and the partition key of what it carries.
func stamp(msg *message.Message, payload any) {
	if id := messages.CorrelationID(msg.Context()); id != "" {
		middleware.SetCorrelationID(id, msg)
	}
	if k, ok := payload.(messages.Keyed); ok {
		msg.Metadata.Set(messages.MetadataPartitionKey, k.PartitionKey())
	}
}
