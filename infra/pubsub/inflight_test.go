package pubsub_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/pubsub"
)

func TestGoChannelDrainWaitsForEveryDelivery(t *testing.T) {
	t.Parallel()
	ps := pubsub.NewGoChannel(watermill.NopLogger{})
	defer ps.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	release := make(chan struct{})
	var handled atomic.Int64
	for range 2 { // two subscriptions: every message is delivered twice
		sub, err := ps.Subscriber("group")
		require.NoError(t, err)
		msgs, err := sub.Subscribe(ctx, "topic")
		require.NoError(t, err)
		go func() {
			nacked := false
			for msg := range msgs {
				<-release
				if !nacked { // the first delivery is nacked once and comes back
					nacked = true
					msg.Nack()
					continue
				}
				handled.Add(1)
				msg.Ack()
			}
		}()
	}
	for i := range 10 {
		require.NoError(t, ps.Publisher.Publish("topic", message.NewMessage(watermill.NewUUID(), []byte{byte(i)})))
	}
	require.NoError(t, ps.Publisher.Publish("nobody-listens", message.NewMessage(watermill.NewUUID(), nil)))

	// Nothing is handled yet: a short drain gives up and says so.
	short, cancelShort := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelShort()
	require.Error(t, ps.Drain(short))

	close(release)
	drainCtx, cancelDrain := context.WithTimeout(ctx, 10*time.Second)
	defer cancelDrain()
	require.NoError(t, ps.Drain(drainCtx))
	assert.Equal(t, int64(20), handled.Load(), "drain returned before every delivery was acked")
}
