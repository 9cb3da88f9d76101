package messaging

import (
	"encoding/json"
	"reflect"
	"sync"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
)

// nameMetadataKey is where cqrs.JSONMarshaler keeps a message's command or
// event name; the wire format stays the same.
const nameMetadataKey = "name"

// jsonMarshaler is cqrs.JSONMarshaler with cqrs.StructName ("PlaceOrder"),
// except that it works out each type's name once: StructName formats the
// type with fmt and splits the result, and every message sent, received and
// dispatched asks for a name, two to four times.
type jsonMarshaler struct {
	names sync.Map // reflect.Type → string
}

var _ cqrs.CommandEventMarshaler = (*jsonMarshaler)(nil)

// marshaler names commands and events by their struct name ("PlaceOrder"), which
// is what messages maps to topics.
var marshaler = &jsonMarshaler{}

// Marshal implements cqrs.CommandEventMarshaler.
func (m *jsonMarshaler) Marshal(v any) (*message.Message, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	msg := message.NewMessage(newUUID(), b)
	msg.Metadata.Set(nameMetadataKey, m.Name(v))
	return msg, nil
}

// Unmarshal implements cqrs.CommandEventMarshaler.
func (*jsonMarshaler) Unmarshal(msg *message.Message, v any) error {
	return json.Unmarshal(msg.Payload, v)
}

// Name implements cqrs.CommandEventMarshaler.
func (m *jsonMarshaler) Name(v any) string {
	t := reflect.TypeOf(v)
	if n, ok := m.names.Load(t); ok {
		return n.(string) //nolint:forcetypeassert // only strings are stored
	}
	n := cqrs.StructName(v)
	m.names.Store(t, n)
	return n
}

// NameFromMessage implements cqrs.CommandEventMarshaler.
func (*jsonMarshaler) NameFromMessage(msg *message.Message) string {
	return msg.Metadata.Get(nameMetadataKey)
}
