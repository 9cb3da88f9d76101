package pubsub_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/faults"
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

func TestGoChannelDeliversToEverySubscriptionOfItsTopic(t *testing.T) {
	t.Parallel()
	ps := pubsub.NewGoChannel(watermill.NopLogger{})
	defer ps.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := ps.Subscriber("g")
	require.NoError(t, err)
	a, err := sub.Subscribe(ctx, "topic")
	require.NoError(t, err)
	b, err := sub.Subscribe(ctx, "topic")
	require.NoError(t, err)
	other, err := sub.Subscribe(ctx, "other")
	require.NoError(t, err)

	sent := message.NewMessage("m-1", []byte(`{"order_id":"o-1"}`))
	sent.Metadata.Set("name", "OrderPlaced")
	require.NoError(t, ps.Publisher.Publish("topic", sent))

	receive := func(ch <-chan *message.Message) *message.Message {
		select {
		case m := <-ch:
			return m
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery")
			return nil
		}
	}
	ma, mb := receive(a), receive(b)
	assert.NotSame(t, ma, mb, "each subscription acks a message of its own")
	for _, m := range []*message.Message{ma, mb} {
		assert.Equal(t, "m-1", m.UUID)
		assert.JSONEq(t, `{"order_id":"o-1"}`, string(m.Payload))
		assert.Equal(t, "OrderPlaced", m.Metadata.Get("name"))
	}
	ma.Nack() // comes again, as it was published
	again := receive(a)
	assert.NotSame(t, ma, again)
	assert.Equal(t, "m-1", again.UUID)
	again.Ack()
	mb.Ack()
	select {
	case m := <-other:
		t.Fatalf("a subscription of another topic got %s", m.UUID)
	default:
	}
	drainCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	require.NoError(t, ps.Drain(drainCtx))
}

func TestGoChannelSubscriptionEndsWithItsContext(t *testing.T) {
	t.Parallel()
	ps := pubsub.NewGoChannel(watermill.NopLogger{})
	defer ps.Close()
	sub, err := ps.Subscriber("g")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	msgs, err := sub.Subscribe(ctx, "topic")
	require.NoError(t, err)
	cancel()
	for range msgs { // closed once the subscription ends
	}
	// Nobody listens any more: the message is dropped, nothing waits for it.
	require.NoError(t, ps.Publisher.Publish("topic", message.NewMessage("m-1", nil)))
	require.NoError(t, ps.Drain(context.Background()))
}

func TestGoChannelClosed(t *testing.T) {
	t.Parallel()
	ps := pubsub.NewGoChannel(watermill.NopLogger{})
	sub, err := ps.Subscriber("g")
	require.NoError(t, err)
	msgs, err := sub.Subscribe(context.Background(), "topic")
	require.NoError(t, err)
	require.NoError(t, ps.Publisher.Publish("topic", message.NewMessage("m-1", nil))) // never taken
	require.NoError(t, ps.Close())
	require.NoError(t, ps.Close(), "closing twice is fine")
	for range msgs { // every subscription ends
	}
	err = ps.Publisher.Publish("topic", message.NewMessage("m-2", nil))
	require.Error(t, err)
	assert.Equal(t, faults.Transient, faults.Classify(err), "a stop, waited out by the retry")
	_, err = sub.Subscribe(context.Background(), "topic")
	require.Error(t, err)
}

func TestGoChannelFilteredSubscriptionGetsOnlyWhatItKeeps(t *testing.T) {
	t.Parallel()
	ps := pubsub.NewGoChannel(watermill.NopLogger{})
	defer ps.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	filtered, err := ps.FilteredSubscriber("g", func(m *message.Message) bool { return m.Metadata.Get("name") == "wanted" })
	require.NoError(t, err)
	some, err := filtered.Subscribe(ctx, "topic")
	require.NoError(t, err)
	sub, err := ps.Subscriber("h")
	require.NoError(t, err)
	every, err := sub.Subscribe(ctx, "topic")
	require.NoError(t, err)

	for i, name := range []string{"other", "wanted", "other"} {
		m := message.NewMessage(fmt.Sprintf("m-%d", i), nil)
		m.Metadata.Set("name", name)
		require.NoError(t, ps.Publisher.Publish("topic", m))
	}
	var all []string
	for range 3 {
		select {
		case m := <-every:
			all = append(all, m.UUID)
			m.Ack()
		case <-time.After(10 * time.Second):
			t.Fatal("the plain subscription missed a message")
		}
	}
	assert.ElementsMatch(t, []string{"m-0", "m-1", "m-2"}, all)
	select {
	case m := <-some:
		assert.Equal(t, "m-1", m.UUID)
		m.Ack()
	case <-time.After(10 * time.Second):
		t.Fatal("the filtered subscription missed the message it keeps")
	}
	drainCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	require.NoError(t, ps.Drain(drainCtx), "what a subscription does not keep is not waited for")
	select {
	case m := <-some:
		t.Fatalf("the filtered subscription got %s", m.UUID)
	default:
	}
}
