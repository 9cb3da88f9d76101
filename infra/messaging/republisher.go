package messaging

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/app/poison"
	"github.com/orderflow/orderflow/messages"
)

// Republisher puts a message of a poison queue back onto its original topic
// (poison.Republisher on a Watermill publisher).
type Republisher struct {
	Publisher message.Publisher
}

var _ poison.Republisher = Republisher{}

// Republish implements poison.Republisher. The message keeps the UUID it had
// when it failed (a new one if that is unknown).
func (r Republisher) Republish(ctx context.Context, m poison.Message) error {
	uuid := m.UUID
	if uuid == "" {
		uuid = watermill.NewUUID()
	}
	msg := message.NewMessage(uuid, m.Payload)
	for k, v := range m.Metadata {
		msg.Metadata.Set(k, v)
	}
	// Whoever waited for its answer is long gone; the operator asks for it now.
	delete(msg.Metadata, messages.MetadataExpiresAt)
	msg.SetContext(ctx)
	if err := r.Publisher.Publish(m.Topic, msg); err != nil {
		return fmt.Errorf("republish to %s: %w", m.Topic, err)
	}
	return nil
}
