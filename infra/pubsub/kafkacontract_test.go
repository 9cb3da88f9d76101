package pubsub_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/Shopify/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v2/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/pubsub"
	"github.com/orderflow/orderflow/messages"
)

// testPartitions is the partition count the suite configures. It differs from
// both test brokers' default for auto-created topics (4): a topic that got
// auto-created by a metadata request instead of by EnsureTopics shows.
const testPartitions = 3

// waitTimeout bounds every wait of the suite; a healthy run needs a fraction of it.
const waitTimeout = 20 * time.Second

// kafkaSuite checks our Kafka wiring (NewKafka, EnsureTopics, Ping) against the
// cluster cfg points at. Every test uses its own topics and consumer groups
// (and cfg.Prefix, if set, goes before all of them), so reruns against a
// long-lived broker do not see each other's messages; what the suite created
// is deleted at the end.
func kafkaSuite(t *testing.T, cfg pubsub.KafkaConfig) {
	cfg.Partitions = testPartitions
	cfg.ReplicationFactor = 1
	if cfg.ClientID == "" {
		cfg.ClientID = "orderflow-pubsub-test"
	}
	e := &kafkaEnv{cfg: cfg, k: newInspector(t, cfg)}
	t.Cleanup(func() { e.deleteCreated(t) }) // after every subtest, before the inspector closes

	// First and alone: it sees which of the system's topics exist before any
	// NewKafka of this suite runs.
	t.Run("ensure_topics", func(t *testing.T) { testEnsureTopics(t, e) })

	tests := []struct {
		name string
		run  func(t *testing.T, e *kafkaEnv)
	}{
		{"ping", testPing},
		{"round_trip", testRoundTrip},
		{"partition_key_decides_partition", testPartitionKey},
		{"metadata_travels_as_headers", testMetadataAsHeaders},
		{"consumer_group_splits_partitions", testConsumerGroupSplit},
		{"offsets_committed_across_restart", testOffsetsAcrossRestart},
		{"nack_redelivers", testNackRedelivers},
		{"new_group_initial_offset", testNewGroupInitialOffset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, e)
		})
	}
}

// kafkaEnv is what the suite's tests share: the configuration, an inspector
// (Sarama clients are safe for concurrent use), and the names they created.
type kafkaEnv struct {
	cfg pubsub.KafkaConfig
	k   *inspector

	mu     sync.Mutex
	topics []string // as on the broker (prefixed)
	groups []string
}

// wire is the name on the broker of a topic or group the code calls name.
func (e *kafkaEnv) wire(name string) string { return e.cfg.Prefix + name }

// topic creates a topic of the test's own, as NewKafka does the system's, and
// returns its name as the code uses it.
func (e *kafkaEnv) topic(t *testing.T, label string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	name := uniqueName(label)
	e.track(&e.topics, e.wire(name))
	require.NoError(t, pubsub.EnsureTopics(ctx, e.cfg, []string{e.wire(name)}))
	return name
}

// group returns a consumer group name no one used before.
func (e *kafkaEnv) group(label string) string {
	name := uniqueName(label)
	e.track(&e.groups, e.wire(name))
	return name
}

func (e *kafkaEnv) track(names *[]string, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	*names = append(*names, name)
}

// deleteCreated deletes, best effort, the groups and topics the suite created,
// so that a long-lived broker does not collect them run after run.
func (e *kafkaEnv) deleteCreated(t *testing.T) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, g := range e.groups {
		if err := e.k.admin.DeleteConsumerGroup(g); err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
			t.Logf("delete consumer group %s: %v", g, err)
		}
	}
	topics := e.topics
	if e.cfg.Prefix != "" { // the system's topics are the suite's own too
		for _, topic := range messages.AllTopics() {
			topics = append(topics, e.wire(topic))
		}
	}
	for _, topic := range topics {
		if err := e.k.admin.DeleteTopic(topic); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			t.Logf("delete topic %s: %v", topic, err)
		}
	}
}

func testEnsureTopics(t *testing.T, e *kafkaEnv) {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	cfg := e.cfg

	// The system's topics, through NewKafka. On a shared broker without a
	// prefix they may exist from earlier runs: EnsureTopics leaves those as
	// they are.
	var system []string
	for _, topic := range messages.AllTopics() {
		system = append(system, e.wire(topic))
	}
	before := e.k.partitionCounts(t, system)
	newKafka(t, cfg)
	after := e.k.partitionCounts(t, system)
	for _, topic := range system {
		if n, existed := before[topic]; existed {
			assert.Equal(t, n, after[topic], "existing topic %s changed", topic)
			continue
		}
		assert.Equal(t, cfg.Partitions, after[topic], "topic %s", topic)
	}
	if len(before) > 0 {
		t.Logf("%d of the system's %d topics existed before (partitions: %v)", len(before), len(system), before)
	}

	// Topics nobody created before: created with the configured count, and a
	// second call (even with another count) changes nothing and does not fail.
	fresh := []string{e.wire(uniqueName("ensure-a")), e.wire(uniqueName("ensure-b"))}
	for _, topic := range fresh {
		e.track(&e.topics, topic)
	}
	require.Empty(t, e.k.partitionCounts(t, fresh))
	require.NoError(t, pubsub.EnsureTopics(ctx, cfg, fresh))
	want := map[string]int32{fresh[0]: cfg.Partitions, fresh[1]: cfg.Partitions}
	assert.Equal(t, want, e.k.partitionCounts(t, fresh))
	require.NoError(t, pubsub.EnsureTopics(ctx, cfg, fresh))
	other := cfg
	other.Partitions = cfg.Partitions + 2
	require.NoError(t, pubsub.EnsureTopics(ctx, other, fresh))
	assert.Equal(t, want, e.k.partitionCounts(t, fresh))
}

func testPing(t *testing.T, e *kafkaEnv) {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	require.NoError(t, pubsub.Ping(ctx, e.cfg))

	// A port nobody listens on: Ping fails, and fast.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	down := e.cfg
	down.Brokers = []string{closed}
	start := time.Now()
	assert.Error(t, pubsub.Ping(ctx, down))
	assert.Less(t, time.Since(start), 5*time.Second)
}

func testRoundTrip(t *testing.T, e *kafkaEnv) {
	ps := newKafka(t, e.cfg)
	topic := e.topic(t, "round-trip")
	sent := newMsg("order-1", 0)
	sent.Metadata.Set("custom", "value")
	publish(t, ps, topic, sent)

	c := subscribe(t, ps.Subscriber, e.group("round-trip"), topic)
	got := c.waitFor(t, "the message", func(r []received) bool { return len(r) >= 1 })
	require.Len(t, got, 1)
	assert.Equal(t, sent.UUID, got[0].msg.UUID)
	assert.Equal(t, string(sent.Payload), string(got[0].msg.Payload))
	assert.Equal(t, "value", got[0].msg.Metadata.Get("custom"))
}

func testPartitionKey(t *testing.T, e *kafkaEnv) {
	ps := newKafka(t, e.cfg)
	topic := e.topic(t, "partition-key")
	keys := []string{"order-a", "order-b", "order-c", "order-d", "order-e", "order-f", "order-g", "order-h"}
	const perKey = 10
	var sent []*message.Message
	for seq := range perKey { // interleaved: a, b, c, ..., a, b, c, ...
		for _, k := range keys {
			sent = append(sent, newMsg(k, seq))
		}
	}
	publish(t, ps, topic, sent...)

	c := subscribe(t, ps.Subscriber, e.group("partition-key"), topic)
	got := c.waitFor(t, "every message", func(r []received) bool { return len(r) >= len(sent) })
	require.Len(t, got, len(sent))
	assertExactly(t, sent, got)

	byKey := map[string][]received{}
	for _, r := range got {
		k := r.msg.Metadata.Get(messages.MetadataPartitionKey)
		byKey[k] = append(byKey[k], r)
	}
	partitionsUsed := map[int32]bool{}
	for _, k := range keys {
		rs := byKey[k]
		require.Len(t, rs, perKey, "key %s", k)
		for i, r := range rs {
			assert.Equal(t, rs[0].partition, r.partition, "key %s: message %d on another partition", k, i)
			assert.Equal(t, payload(k, i), string(r.msg.Payload), "key %s: out of publish order", k)
			if i > 0 {
				assert.Greater(t, r.offset, rs[i-1].offset, "key %s", k)
			}
		}
		partitionsUsed[rs[0].partition] = true
	}
	// The key, not a fixed partition, decides: eight keys do not all hash alike.
	assert.Greater(t, len(partitionsUsed), 1, "every key landed on one partition")
}

func testMetadataAsHeaders(t *testing.T, e *kafkaEnv) {
	ps := newKafka(t, e.cfg)
	topic := e.topic(t, "headers")
	sent := newMsg("order-42", 0)
	sent.Metadata.Set(messages.MetadataCorrelationID, "corr-42")
	publish(t, ps, topic, sent)

	c := subscribe(t, ps.Subscriber, e.group("headers"), topic)
	got := c.waitFor(t, "the message", func(r []received) bool { return len(r) >= 1 })[0]
	assert.Equal(t, "corr-42", got.msg.Metadata.Get(messages.MetadataCorrelationID))
	assert.Equal(t, "order-42", got.msg.Metadata.Get(messages.MetadataPartitionKey))

	// On the wire: the same record read with plain Sarama carries them as
	// headers, and the partition key as the record key.
	rec := e.k.record(t, e.wire(topic), got.partition, got.offset)
	headers := map[string]string{}
	for _, h := range rec.Headers {
		headers[string(h.Key)] = string(h.Value)
	}
	assert.Equal(t, "corr-42", headers[messages.MetadataCorrelationID])
	assert.Equal(t, "order-42", headers[messages.MetadataPartitionKey])
	assert.Equal(t, sent.UUID, headers[kafka.UUIDHeaderKey])
	assert.Equal(t, "order-42", string(rec.Key))
}

func testConsumerGroupSplit(t *testing.T, e *kafkaEnv) {
	ps := newKafka(t, e.cfg)
	topic := e.topic(t, "group-split")
	group := e.group("group-split")

	c1 := subscribe(t, ps.Subscriber, group, topic)
	c2 := subscribe(t, ps.Subscriber, group, topic)
	// Publishing before both joined would let the first one take everything.
	e.k.waitGroupStable(t, e.wire(group), 2)

	var sent []*message.Message
	for i := range 40 {
		sent = append(sent, newMsg(fmt.Sprintf("order-%d", i), 0))
	}
	publish(t, ps, topic, sent...)

	var got1, got2 []received
	waitUntil(t, "both members together to receive every message", func() bool {
		got1, got2 = c1.received(), c2.received()
		return len(got1)+len(got2) >= len(sent)
	}, c1.notify, c2.notify)
	assert.NotEmpty(t, got1, "first member got nothing")
	assert.NotEmpty(t, got2, "second member got nothing")
	assertExactly(t, sent, append(got1, got2...))
	// The members split by partition: none is read by both.
	p1, p2 := partitionsOf(got1), partitionsOf(got2)
	for p := range p1 {
		assert.False(t, p2[p], "partition %d read by both members", p)
	}
}

func testOffsetsAcrossRestart(t *testing.T, e *kafkaEnv) {
	ps := newKafka(t, e.cfg)
	topic := e.topic(t, "restart")
	group := e.group("restart")
	// The same keys before and after the restart put new messages on every
	// partition that holds old ones, after them: an old message delivered
	// again would arrive before the new one of its partition.
	keys := []string{"order-a", "order-b", "order-c", "order-d", "order-e", "order-f"}
	var first, second []*message.Message
	for _, key := range keys {
		first = append(first, newMsg(key, 0))
		second = append(second, newMsg(key, 1))
	}

	sub, err := ps.Subscriber(group)
	require.NoError(t, err)
	c := consume(t, sub, topic)
	publish(t, ps, topic, first...)
	got := c.waitFor(t, "the first batch", func(r []received) bool { return len(r) >= len(first) })
	assertExactly(t, first, got)
	// Acked is not yet committed: wait until the broker has the commits, which
	// also proves they are accepted at all (Kafka 4 refuses Sarama's default).
	e.k.waitCommitted(t, e.wire(group), e.wire(topic))
	require.NoError(t, sub.Close())
	c.waitClosed(t)

	publish(t, ps, topic, second...)
	c = subscribe(t, ps.Subscriber, group, topic)
	got = c.waitFor(t, "the second batch", func(r []received) bool { return len(r) >= len(second) })
	assertExactly(t, second, got)
}

func testNackRedelivers(t *testing.T, e *kafkaEnv) {
	ps := newKafka(t, e.cfg)
	topic := e.topic(t, "nack")
	sent := newMsg("order-1", 0)
	publish(t, ps, topic, sent)

	group := e.group("nack")
	sub, err := ps.Subscriber(group)
	require.NoError(t, err)
	msgs, err := sub.Subscribe(t.Context(), topic)
	require.NoError(t, err)
	next := func() *message.Message {
		select {
		case m, ok := <-msgs:
			require.True(t, ok, "subscription closed")
			return m
		case <-time.After(waitTimeout):
			t.Fatal("timed out waiting for a message")
			return nil
		}
	}

	m := next()
	require.Equal(t, sent.UUID, m.UUID)
	m.Nack()
	again := next()
	assert.Equal(t, sent.UUID, again.UUID, "another message came instead of the nacked one")
	assert.Equal(t, string(sent.Payload), string(again.Payload))
	assert.Equal(t, "order-1", again.Metadata.Get(messages.MetadataPartitionKey))
	require.True(t, again.Ack())
	e.k.waitCommitted(t, e.wire(group), e.wire(topic))
}

func testNewGroupInitialOffset(t *testing.T, e *kafkaEnv) {
	ps := newKafka(t, e.cfg)
	topic := e.topic(t, "initial-offset")
	keys := []string{"order-a", "order-b", "order-c", "order-d", "order-e", "order-f"}
	var before []*message.Message
	for _, key := range keys {
		before = append(before, newMsg(key, 0))
	}
	publish(t, ps, topic, before...)

	// Subscriber, new group: from the oldest message, so it sees those.
	oldest := subscribe(t, ps.Subscriber, e.group("oldest"), topic)
	assertExactly(t, before, oldest.waitFor(t, "the earlier messages", func(r []received) bool { return len(r) >= len(before) }))

	// NewestSubscriber, new group: only what comes after it started. When its
	// partitions start is not observable, so probes on the same keys (hence
	// partitions) are published until one per key arrived: by then an earlier
	// message of that partition would have arrived first.
	newest := subscribe(t, ps.NewestSubscriber, e.group("newest"), topic)
	seen := func(r []received) map[string]bool {
		s := map[string]bool{}
		for _, x := range r {
			s[x.msg.Metadata.Get(messages.MetadataPartitionKey)] = true
		}
		return s
	}
	deadline := time.Now().Add(waitTimeout)
	for round := 1; ; round++ {
		var probes []*message.Message
		for _, key := range keys {
			probes = append(probes, newMsg(key, round))
		}
		publish(t, ps, topic, probes...)
		got := newest.waitForUntil(time.Now().Add(500*time.Millisecond), func(r []received) bool { return len(seen(r)) == len(keys) })
		if len(seen(got)) == len(keys) {
			for _, r := range got {
				assert.NotEqual(t, payload(r.msg.Metadata.Get(messages.MetadataPartitionKey), 0), string(r.msg.Payload),
					"a new NewestSubscriber group got a message published before it subscribed")
			}
			return
		}
		require.True(t, time.Now().Before(deadline), "the NewestSubscriber never received a probe on some partitions")
	}
}

// newKafka returns a PubSub on cfg, closed when the test ends.
func newKafka(t *testing.T, cfg pubsub.KafkaConfig) pubsub.PubSub {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	ps, err := pubsub.NewKafka(ctx, cfg, watermill.NopLogger{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, ps.Close()) })
	return ps
}

// uniqueName is a topic or group name no other run uses.
func uniqueName(label string) string {
	return "pubsub-test." + label + "." + watermill.NewShortUUID()
}

func payload(key string, seq int) string { return fmt.Sprintf("%s/%d", key, seq) }

// newMsg is the seq-th message of key, stamped the way messaging's buses do.
func newMsg(key string, seq int) *message.Message {
	msg := message.NewMessage(watermill.NewUUID(), []byte(payload(key, seq)))
	msg.Metadata.Set(messages.MetadataPartitionKey, key)
	return msg
}

// publish publishes msgs in order, one at a time.
func publish(t *testing.T, ps pubsub.PubSub, topic string, msgs ...*message.Message) {
	t.Helper()
	for _, m := range msgs {
		require.NoError(t, ps.Publisher.Publish(topic, m))
	}
}

// received is a consumed message with where it came from.
type received struct {
	msg       *message.Message
	partition int32
	offset    int64
}

// consumer acks everything a subscription delivers and keeps it.
type consumer struct {
	mu     sync.Mutex
	got    []received
	notify chan struct{} // a message arrived (or the subscription ended) since the last look
	closed chan struct{} // the subscription's channel was closed
}

// subscribe subscribes to topic as group, through newSub (ps.Subscriber or
// ps.NewestSubscriber), and consumes in the background.
func subscribe(t *testing.T, newSub func(string) (message.Subscriber, error), group, topic string) *consumer {
	t.Helper()
	sub, err := newSub(group)
	require.NoError(t, err)
	return consume(t, sub, topic)
}

func consume(t *testing.T, sub message.Subscriber, topic string) *consumer {
	t.Helper()
	msgs, err := sub.Subscribe(t.Context(), topic)
	require.NoError(t, err)
	c := &consumer{notify: make(chan struct{}, 1), closed: make(chan struct{})}
	go func() {
		defer close(c.closed)
		defer c.signal()
		for m := range msgs {
			p, o, ok := pubsub.MessagePosition(m.Context())
			if !ok {
				p, o = -1, -1 // fails every assertion on partitions
			}
			c.mu.Lock()
			c.got = append(c.got, received{msg: m, partition: p, offset: o})
			c.mu.Unlock()
			m.Ack()
			c.signal()
		}
	}()
	return c
}

func (c *consumer) signal() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *consumer) received() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// waitFor waits until cond holds for what was received, and returns that.
func (c *consumer) waitFor(t *testing.T, what string, cond func([]received) bool) []received {
	t.Helper()
	var got []received
	waitUntil(t, what, func() bool {
		got = c.received()
		return cond(got)
	}, c.notify)
	return got
}

// waitForUntil is waitFor that gives up quietly at deadline.
func (c *consumer) waitForUntil(deadline time.Time, cond func([]received) bool) []received {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		got := c.received()
		if cond(got) {
			return got
		}
		select {
		case <-c.notify:
		case <-timer.C:
			return c.received()
		}
	}
}

func (c *consumer) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-c.closed:
	case <-time.After(waitTimeout):
		t.Fatal("subscription not closed after its subscriber was")
	}
}

// waitUntil re-checks cond whenever one of (at most two) consumers signals,
// until it holds or waitTimeout passes.
func waitUntil(t *testing.T, what string, cond func() bool, wake ...<-chan struct{}) {
	t.Helper()
	require.LessOrEqual(t, len(wake), 2)
	var w [2]<-chan struct{} // a nil channel never wakes
	copy(w[:], wake)
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for !cond() {
		select {
		case <-w[0]:
		case <-w[1]:
		case <-timer.C:
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		}
	}
}

// assertExactly asserts that got holds every message of want once, and nothing else.
func assertExactly(t *testing.T, want []*message.Message, got []received) {
	t.Helper()
	var wantIDs, gotIDs []string
	for _, m := range want {
		wantIDs = append(wantIDs, m.UUID)
	}
	for _, r := range got {
		gotIDs = append(gotIDs, r.msg.UUID)
	}
	slices.Sort(wantIDs)
	slices.Sort(gotIDs)
	assert.Equal(t, wantIDs, gotIDs)
}

func partitionsOf(rs []received) map[int32]bool {
	ps := map[int32]bool{}
	for _, r := range rs {
		ps[r.partition] = true
	}
	return ps
}

// inspector looks at the cluster with plain Sarama, independently of the code
// under test. It never auto-creates a topic by asking about it.
type inspector struct {
	client sarama.Client
	admin  sarama.ClusterAdmin
}

func newInspector(t *testing.T, cfg pubsub.KafkaConfig) *inspector {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Version = cfg.Version
	sc.ClientID = "orderflow-pubsub-test-inspector"
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Metadata.Retry.Backoff = 50 * time.Millisecond
	sc.Consumer.Return.Errors = true
	client, err := sarama.NewClient(cfg.Brokers, sc)
	require.NoError(t, err)
	admin, err := sarama.NewClusterAdminFromClient(client)
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() }) // closes client too
	return &inspector{client: client, admin: admin}
}

// partitionCounts returns the partition count of each of topics that exists.
func (k *inspector) partitionCounts(t *testing.T, topics []string) map[string]int32 {
	t.Helper()
	md, err := k.admin.DescribeTopics(topics)
	require.NoError(t, err)
	counts := map[string]int32{}
	for _, m := range md {
		switch m.Err {
		case sarama.ErrNoError:
			counts[m.Name] = int32(len(m.Partitions))
		case sarama.ErrUnknownTopicOrPartition:
		default:
			t.Fatalf("describe topic %s: %v", m.Name, m.Err)
		}
	}
	return counts
}

// record reads one record as it is stored.
func (k *inspector) record(t *testing.T, topic string, partition int32, offset int64) *sarama.ConsumerMessage {
	t.Helper()
	consumer, err := sarama.NewConsumerFromClient(k.client)
	require.NoError(t, err)
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, partition, offset)
	require.NoError(t, err)
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		require.Equal(t, offset, m.Offset)
		return m
	case err := <-pc.Errors():
		t.Fatalf("read %s/%d@%d: %v", topic, partition, offset, err)
	case <-time.After(waitTimeout):
		t.Fatalf("read %s/%d@%d: timed out", topic, partition, offset)
	}
	return nil
}

// waitGroupStable waits until group has settled with members members.
func (k *inspector) waitGroupStable(t *testing.T, group string, members int) {
	t.Helper()
	var last string
	poll(t, "consumer group "+group+" stable with "+fmt.Sprint(members)+" members", func() bool {
		gs, err := k.admin.DescribeConsumerGroups([]string{group})
		if err != nil || len(gs) != 1 {
			last = fmt.Sprint(err)
			return false
		}
		last = fmt.Sprintf("%s with %d members", gs[0].State, len(gs[0].Members))
		return gs[0].State == "Stable" && len(gs[0].Members) == members
	}, func() string { return last })
}

// waitCommitted waits until group has committed, on every partition of topic,
// the offset after the last message.
func (k *inspector) waitCommitted(t *testing.T, group, topic string) {
	t.Helper()
	var last string
	poll(t, "group "+group+" to commit everything on "+topic, func() bool {
		partitions, err := k.client.Partitions(topic)
		if err != nil {
			last = err.Error()
			return false
		}
		resp, err := k.admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: partitions})
		if err != nil {
			last = err.Error()
			return false
		}
		last = ""
		done := true
		for _, p := range partitions {
			end, err := k.client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				last = err.Error()
				return false
			}
			committed := int64(-1)
			if b := resp.GetBlock(topic, p); b != nil && b.Err == sarama.ErrNoError {
				committed = b.Offset
			}
			// A partition nothing was written to has nothing to commit.
			if end > 0 && committed != end {
				done = false
			}
			last += fmt.Sprintf(" p%d: committed %d of %d;", p, committed, end)
		}
		return done
	}, func() string { return last })
}

// poll checks cond every 50 ms until it holds or waitTimeout passes: for
// conditions on the broker, which cannot signal a change.
func poll(t *testing.T, what string, cond func() bool, state func() string) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-timer.C:
			t.Fatalf("timed out after %s waiting for %s; last: %s", waitTimeout, what, state())
		}
	}
}
