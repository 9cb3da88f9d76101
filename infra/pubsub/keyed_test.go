package pubsub_test

import (
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/pubsub"
	"github.com/orderflow/orderflow/messages"
)

// keyedOnKfake returns a PubSub with the keyed subscriber (ConsumerConcurrency
// 8) on kfake, its env, and a topic of one partition (every key on it) and a
// group of its own named after name, deleted when the test ends.
func keyedOnKfake(t *testing.T, name string) (e *kafkaEnv, ps pubsub.PubSub, topic, group string) {
	t.Helper()
	cfg := fakeKafkaConfig()
	cfg.ConsumerConcurrency = 8
	cfg.Partitions = 1 // every key on one partition
	cfg.ClientID = "orderflow-pubsub-" + name + "-test"
	cfg.ReplicationFactor = 1
	e = &kafkaEnv{cfg: cfg, k: newInspector(t, cfg)}
	t.Cleanup(func() { e.deleteCreated(t) })
	return e, newKafka(t, cfg), e.topic(t, name), e.group(name)
}

// With ConsumerConcurrency above 1, messages of one partition with different
// keys are out at once, those of one key one at a time in order, and the
// group's offset never passes a message not acked: a new member gets it again.
func TestKafkaKeyedSubscriberOnKfake(t *testing.T) {
	t.Parallel()
	e, ps, topic, group := keyedOnKfake(t, "keyed")
	publish(t, ps, topic, newMsg("order-a", 0), newMsg("order-b", 0), newMsg("order-a", 1), newMsg("order-b", 1))

	sub, err := ps.Subscriber(group)
	require.NoError(t, err)
	msgs, err := sub.Subscribe(t.Context(), topic)
	require.NoError(t, err)
	next := func() *message.Message {
		t.Helper()
		select {
		case m, ok := <-msgs:
			require.True(t, ok, "subscription closed")
			return m
		case <-time.After(waitTimeout):
			t.Fatal("timed out waiting for a message")
			return nil
		}
	}

	// Both keys' first messages, neither acked: one partition, two in flight.
	first := map[string]*message.Message{}
	for range 2 {
		m := next()
		first[string(m.Payload)] = m
	}
	require.Contains(t, first, "order-a/0")
	require.Contains(t, first, "order-b/0")
	// b's second comes once b's first is acked; a's cannot, a/0 is still out.
	first["order-b/0"].Ack()
	bNext := next()
	assert.Equal(t, "order-b/1", string(bNext.Payload))
	bNext.Ack()
	// A nack holds back only its key: a/0 again, then a/1 once it is acked.
	first["order-a/0"].Nack()
	again := next()
	assert.Equal(t, "order-a/0", string(again.Payload))
	partition, offset, ok := pubsub.MessagePosition(again.Context())
	require.True(t, ok)
	assert.Equal(t, int32(0), partition)
	assert.Equal(t, int64(0), offset)

	// Closed with a/0 still out: b's acks are not committed past it, so the
	// next member of the group starts at a/0 and sees the rest after it.
	require.NoError(t, sub.Close())
	c := subscribe(t, ps.Subscriber, group, topic)
	got := c.waitFor(t, "the messages from a/0 on", func(r []received) bool { return len(r) >= 4 })
	byKey := map[string][]string{}
	for _, r := range got {
		k := r.msg.Metadata.Get(messages.MetadataPartitionKey)
		byKey[k] = append(byKey[k], string(r.msg.Payload))
	}
	assert.Equal(t, []string{"order-a/0", "order-a/1"}, byKey["order-a"], "a's messages again, in order")
	assert.Equal(t, []string{"order-b/0", "order-b/1"}, byKey["order-b"], "acked after a/0, so redelivered")
	e.k.waitCommitted(t, e.wire(group), e.wire(topic))
}

// At a rebalance the messages a member has out are cancelled: a handler
// waiting out a fault must not hold the group's rebalance (and every
// partition of it) until the broker drops the member. The message, unacked,
// is handled again by the partition's owner after the rebalance.
func TestKafkaKeyedSubscriberCancelsItsMessagesAtARebalance(t *testing.T) {
	t.Parallel()
	_, ps, topic, group := keyedOnKfake(t, "keyed-rebalance")
	publish(t, ps, topic, newMsg("order-a", 0))

	sub1, err := ps.Subscriber(group)
	require.NoError(t, err)
	msgs1, err := sub1.Subscribe(t.Context(), topic)
	require.NoError(t, err)
	var stuck *message.Message
	select {
	case stuck = <-msgs1:
	case <-time.After(waitTimeout):
		t.Fatal("timed out waiting for the message")
	}
	require.NoError(t, stuck.Context().Err(), "out and not answered: its handler runs")

	// A second member joins: the group rebalances, and the first member's
	// claim ends. The handler still holding its message is cancelled.
	sub2, err := ps.Subscriber(group)
	require.NoError(t, err)
	msgs2, err := sub2.Subscribe(t.Context(), topic)
	require.NoError(t, err)
	select {
	case <-stuck.Context().Done():
	case <-time.After(waitTimeout):
		t.Fatal("the message's context was not cancelled at the rebalance")
	}
	stuck.Nack() // what the router does with a handler that stopped on its context

	// Whichever member owns the partition now gets it again, unacked as it was.
	var again *message.Message
	select {
	case again = <-msgs1:
	case again = <-msgs2:
	case <-time.After(waitTimeout):
		t.Fatal("the cancelled message was not delivered again")
	}
	assert.Equal(t, "order-a/0", string(again.Payload))
	require.NoError(t, again.Context().Err())
	again.Ack()
	require.NoError(t, sub1.Close())
	require.NoError(t, sub2.Close())
}
