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
// publish through buses instead.
func correlationToContext(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		id := middleware.MessageCorrelationID(msg)
		if id == "" {
			id = watermill.NewShortUUID()
			middleware.SetCorrelationID(id, msg)
		}
		msg.SetContext(messages.WithCorrelationID(msg.Context(), id))
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
