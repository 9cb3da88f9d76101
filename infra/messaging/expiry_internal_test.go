package messaging

import (
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/poison"
	"github.com/orderflow/orderflow/messages"
)

func TestDropExpiredHandlesOnlyCommandsStillAwaited(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		expires string // "" for no expiry
		handled bool
	}{
		{"no expiry: an order placed, an event", "", true},
		{"before its expiry", now.Add(time.Second).Format(time.RFC3339Nano), true},
		{"at its expiry", now.Format(time.RFC3339Nano), true},
		{"after its expiry", now.Add(-time.Millisecond).Format(time.RFC3339Nano), false},
		{"an expiry that cannot be read", "soon", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg := message.NewMessage("m-1", []byte(`{}`))
			if tc.expires != "" {
				msg.Metadata.Set(messages.MetadataExpiresAt, tc.expires)
			}
			out := []*message.Message{message.NewMessage("e-1", nil)}
			handled := false
			h := dropExpired(quiet, func() time.Time { return now })(func(*message.Message) ([]*message.Message, error) {
				handled = true
				return out, nil
			})
			got, err := h(msg)
			require.NoError(t, err, "a dropped command is acked, not failed")
			assert.Equal(t, tc.handled, handled)
			if tc.handled {
				assert.Equal(t, out, got)
			} else {
				assert.Empty(t, got, "nothing is published for a dropped command")
			}
		})
	}
}

// A command put back from the poison queue is what the operator asks for now:
// the expiry of its first sender's wait no longer holds.
func TestRepublishedCommandDoesNotExpire(t *testing.T) {
	t.Parallel()
	var got *message.Message
	pub := publisherOf(func(_ string, msgs ...*message.Message) error {
		got = msgs[0]
		return nil
	})
	err := Republisher{Publisher: pub}.Republish(t.Context(), poisonMessage("orders.commands.cancel_order", map[string]string{
		messages.MetadataExpiresAt: "2026-12-02T06:00:00Z", messages.MetadataCorrelationID: "corr-1",
	}))
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Empty(t, got.Metadata.Get(messages.MetadataExpiresAt))
	assert.Equal(t, "corr-1", got.Metadata.Get(messages.MetadataCorrelationID), "the rest of its metadata stays")
}

type publisherOf func(topic string, msgs ...*message.Message) error

func (p publisherOf) Publish(topic string, msgs ...*message.Message) error { return p(topic, msgs...) }
func (publisherOf) Close() error                                           { return nil }

func poisonMessage(topic string, md map[string]string) poison.Message {
	return poison.Message{UUID: "m-1", Topic: topic, Payload: []byte(`{}`), Metadata: md}
}
