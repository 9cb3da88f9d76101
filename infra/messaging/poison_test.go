package messaging_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/faults"
	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/messages"
)

var errPoisonous = errors.New("cannot handle this")

func poisonAll(error) bool { return true }

// capture is a publisher that records what it is given, or fails.
type capture struct {
	mu   sync.Mutex
	msgs map[string][]*message.Message
	err  error
}

func (c *capture) Publish(topic string, msgs ...*message.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.msgs == nil {
		c.msgs = map[string][]*message.Message{}
	}
	c.msgs[topic] = append(c.msgs[topic], msgs...)
	return nil
}

func (c *capture) Close() error { return nil }

func (c *capture) on(topic string) []*message.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*message.Message(nil), c.msgs[topic]...)
}

func TestPoisonQueueDecides(t *testing.T) {
	t.Parallel()
	errPublish := errors.New("broker down")
	tests := []struct {
		name         string
		handlerErr   error
		shouldPoison func(error) bool
		publishErr   error
		wantErr      error // nil: acked
		wantPoisoned bool
	}{
		{name: "success passes through", handlerErr: nil, shouldPoison: poisonAll},
		{name: "a poisonous error is poisoned and acked", handlerErr: errPoisonous, shouldPoison: poisonAll, wantPoisoned: true},
		{name: "an error not to poison is returned unchanged", handlerErr: errPoisonous, shouldPoison: func(error) bool { return false }, wantErr: errPoisonous},
		{name: "a failed poison publish is returned, not acked", handlerErr: errPoisonous, shouldPoison: poisonAll, publishErr: errPublish, wantErr: errPublish},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pub := &capture{err: tc.publishErr}
			mw := messaging.PoisonQueue(pub, "orders.poison", "orders", tc.shouldPoison)
			h := mw(func(*message.Message) ([]*message.Message, error) { return nil, tc.handlerErr })
			msg := message.NewMessage("m-1", []byte(`{"order_id":"o-1"}`))

			_, err := h(msg)

			if tc.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.wantErr)
			}
			assert.Equal(t, tc.wantPoisoned, len(pub.on("orders.poison")) == 1)
		})
	}
}

// On a real router: what the poison message carries, and a message read from
// the poison topic itself is never poisoned (the poison store's handler would
// feed itself in a loop).
func TestPoisonQueueOnARouter(t *testing.T) {
	t.Parallel()
	logger := watermill.NopLogger{}
	ps := gochannel.NewGoChannel(gochannel.Config{}, logger)
	t.Cleanup(func() { _ = ps.Close() })
	router, err := message.NewRouter(message.RouterConfig{}, logger)
	require.NoError(t, err)
	router.AddMiddleware(messaging.PoisonQueue(ps, messages.TopicInventoryPoison, "inventory", poisonAll))

	var mu sync.Mutex
	var storeAttempts int
	var recorded []*message.Message
	router.AddConsumerHandler("inventory.order_events", messages.TopicOrderEvents, ps, func(*message.Message) error {
		return errPoisonous
	})
	router.AddConsumerHandler("inventory.poison_store", messages.TopicInventoryPoison, ps, func(msg *message.Message) error {
		mu.Lock()
		defer mu.Unlock()
		storeAttempts++
		if storeAttempts < 3 {
			return errors.New("store down") // retried, never poisoned into its own topic
		}
		recorded = append(recorded, msg)
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = router.Run(ctx) }()
	<-router.Running()

	msg := message.NewMessage("original-1", []byte(`{"order_id":"o-1"}`))
	msg.Metadata.Set(messages.MetadataPartitionKey, "o-1")
	msg.Metadata.Set(messages.MetadataCorrelationID, "corr-1")
	require.NoError(t, ps.Publish(messages.TopicOrderEvents, msg))

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(recorded) == 1
	}, 10*time.Second, 5*time.Millisecond)
	mu.Lock()
	got := recorded[0]
	attempts := storeAttempts
	mu.Unlock()
	assert.Equal(t, 3, attempts, "the store's failures were retried, not poisoned")
	assert.True(t, strings.HasPrefix(got.UUID, "inventory-"), "the entry id names its service: %s", got.UUID)
	assert.NotEqual(t, "inventory-original-1", got.UUID)
	assert.JSONEq(t, `{"order_id":"o-1"}`, string(got.Payload))
	md := got.Metadata
	assert.Equal(t, "o-1", md.Get(messages.MetadataPartitionKey))
	assert.Equal(t, "corr-1", md.Get(messages.MetadataCorrelationID))
	assert.Equal(t, errPoisonous.Error(), md.Get(messages.MetadataPoisonReason))
	assert.Equal(t, "inventory.order_events", md.Get(messages.MetadataPoisonHandler))
	assert.Equal(t, messages.TopicOrderEvents, md.Get(messages.MetadataPoisonTopic))
	assert.Equal(t, "inventory", md.Get(messages.MetadataPoisonService))
	assert.Equal(t, "original-1", md.Get(messages.MetadataPoisonUUID))
	assert.Equal(t, faults.Classify(errPoisonous).String(), md.Get(messages.MetadataPoisonClass))
	at, err := time.Parse(time.RFC3339Nano, md.Get(messages.MetadataPoisonedAt))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), at, time.Minute)
}
