package pubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/Shopify/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v2/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/rcrowley/go-metrics"

	"github.com/orderflow/orderflow/infra/faults"
	"github.com/orderflow/orderflow/messages"
)

// KafkaConfig configures the Kafka transport.
type KafkaConfig struct {
	Brokers []string
	// Version is the Kafka protocol version Sarama speaks. watermill-kafka v2
	// defaults to 1.0.0, which Kafka 4 no longer accepts, so it is always set.
	Version sarama.KafkaVersion
	// Partitions of each topic created at start; with ConsumerConcurrency 1 it
	// bounds how many messages of a handler are handled at once (one in
	// flight per partition), and in any case how many instances share them.
	Partitions int32
	// ConsumerConcurrency is how many messages of one partition a handler may
	// have in flight at once, one at a time per record key (the partition
	// key); 1 (or 0) consumes with watermill-kafka's Subscriber, one message
	// of a partition at a time.
	ConsumerConcurrency int
	// ReplicationFactor of each topic created at start.
	ReplicationFactor int16
	// ClientID names this process to the brokers.
	ClientID string
	// Prefix is put before every topic and consumer group name, so that several
	// systems (or test runs) can share a cluster without seeing each other.
	Prefix string
}

// partitionKey keeps the messages of one order (or SKU) on one partition, in order.
func partitionKey(_ string, msg *message.Message) (string, error) {
	return msg.Metadata.Get(messages.MetadataPartitionKey), nil
}

func (c KafkaConfig) sarama() *sarama.Config {
	s := sarama.NewConfig()
	s.Version = c.Version
	s.ClientID = c.ClientID
	// watermill's default 2 s makes the first publish to a new topic take 2 s.
	s.Metadata.Retry.Backoff = 100 * time.Millisecond
	return s
}

// PublisherConfig is the producer's Sarama configuration: acknowledged by all
// in-sync replicas, idempotent (no duplicates from the producer's own retries).
func (c KafkaConfig) PublisherConfig() *sarama.Config {
	s := c.sarama()
	s.Producer.Return.Successes = true
	s.Producer.RequiredAcks = sarama.WaitForAll
	s.Producer.Idempotent = true
	s.Net.MaxOpenRequests = 1 // required by the idempotent producer
	s.Producer.Retry.Max = 10
	s.Producer.Retry.Backoff = 100 * time.Millisecond
	return s
}

// SubscriberConfig is the consumer's Sarama configuration. Offsets are marked
// by watermill-kafka only once the handler acked the message, and committed
// from the marks, so a message is never committed before it was handled.
func (c KafkaConfig) SubscriberConfig(fromOldest bool) *sarama.Config {
	s := c.sarama()
	s.Consumer.Return.Errors = true
	s.Consumer.Offsets.AutoCommit.Enable = true
	s.Consumer.Offsets.AutoCommit.Interval = 250 * time.Millisecond
	// Sarama 1.38 commits with an OffsetCommit version Kafka 4 no longer accepts
	// unless a retention is set: without it nothing is ever committed and every
	// restart re-consumes the topic. Offsets of a group with no members expire
	// that long after its last commit.
	s.Consumer.Offsets.Retention = 90 * 24 * time.Hour
	// A new consumer group reads its topic from the start: topics exist before
	// the groups that read them, and nothing published before a group first
	// joined may be skipped. (Replies are the exception: only new ones matter.)
	s.Consumer.Offsets.Initial = sarama.OffsetNewest
	if fromOldest {
		s.Consumer.Offsets.Initial = sarama.OffsetOldest
	}
	// The broker answers a fetch as soon as data arrives (Fetch.Min is 1 byte),
	// so this bounds only how long Close waits and how often an idle consumer
	// polls: a process has a consumer group per handler (24 in the four
	// services), each fetching every MaxWaitTime while its topic is quiet.
	// Kafka's own default (500 ms) instead of 100 ms halves the idle CPU of
	// the broker (0.10 -> 0.05 cores) and of the four services (0.085 ->
	// 0.051) and changes no latency.
	s.Consumer.MaxWaitTime = 500 * time.Millisecond
	s.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{stickyStrategy{}}
	// A member that died holds its partitions until its session times out:
	// 6 s (the broker's default minimum) instead of Sarama's 10 s halves the
	// pause after a crash. Heartbeats run beside the handlers, so slow handlers
	// do not count against it.
	s.Consumer.Group.Session.Timeout = 6 * time.Second
	s.Consumer.Group.Heartbeat.Interval = 2 * time.Second
	s.Consumer.Group.Rebalance.Retry.Backoff = 250 * time.Millisecond
	s.Consumer.Group.Rebalance.Retry.Max = 8
	return s
}

// How long a nacked message waits before it is handed out again, and a
// subscription whose consumer failed before it is started again.
const (
	nackResendSleep     = 50 * time.Millisecond
	reconnectRetrySleep = 500 * time.Millisecond
)

// NewKafka returns a PubSub on Kafka: one idempotent producer, and one
// consumer-group subscriber per handler. Every topic of messages.AllTopics is
// created at start with cfg.Partitions if it is missing.
func NewKafka(ctx context.Context, cfg KafkaConfig, logger watermill.LoggerAdapter) (PubSub, error) {
	if len(cfg.Brokers) == 0 {
		return PubSub{}, errors.New("kafka: no brokers")
	}
	topics := messages.AllTopics()
	for i := range topics {
		topics[i] = cfg.Prefix + topics[i]
	}
	if err := EnsureTopics(ctx, cfg, topics); err != nil {
		return PubSub{}, err
	}
	marshaler := kafka.NewWithPartitioningMarshaler(partitionKey)
	// A broker that just started answers the first idempotent producer with a
	// "still loading" error Sarama treats as fatal: retry for a while.
	var producer sarama.AsyncProducer
	var err error
	for {
		producer, err = sarama.NewAsyncProducer(cfg.Brokers, cfg.PublisherConfig())
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return PubSub{}, fmt.Errorf("kafka publisher: %w", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
	pub := newAsyncPublisher(producer, marshaler, cfg.Prefix)
	var mu sync.Mutex
	var subs []message.Subscriber
	newSub := func(group string, fromOldest bool) (message.Subscriber, error) {
		var s message.Subscriber
		if cfg.ConsumerConcurrency > 1 {
			s = &keyedSubscriber{
				brokers:     cfg.Brokers,
				config:      cfg.SubscriberConfig(fromOldest),
				group:       cfg.Prefix + group,
				unmarshaler: marshaler,
				concurrency: cfg.ConsumerConcurrency,
				nackSleep:   nackResendSleep,
				retrySleep:  reconnectRetrySleep,
				logger:      logger,
				closing:     make(chan struct{}),
			}
		} else {
			ks, err := kafka.NewSubscriber(kafka.SubscriberConfig{
				Brokers:               cfg.Brokers,
				Unmarshaler:           marshaler,
				OverwriteSaramaConfig: cfg.SubscriberConfig(fromOldest),
				ConsumerGroup:         cfg.Prefix + group,
				NackResendSleep:       nackResendSleep,
				ReconnectRetrySleep:   reconnectRetrySleep,
			}, logger)
			if err != nil {
				return nil, fmt.Errorf("kafka subscriber %s: %w", group, err)
			}
			s = ks
		}
		mu.Lock()
		subs = append(subs, s)
		mu.Unlock()
		return prefixedSubscriber{Subscriber: s, prefix: cfg.Prefix}, nil
	}
	return PubSub{
		Publisher:        pub,
		Subscriber:       func(group string) (message.Subscriber, error) { return newSub(group, true) },
		NewestSubscriber: func(group string) (message.Subscriber, error) { return newSub(group, false) },
		Close: func() error {
			mu.Lock()
			defer mu.Unlock()
			errs := []error{pub.Close()}
			for _, s := range subs {
				errs = append(errs, s.Close())
			}
			return errors.Join(errs...)
		},
	}, nil
}

// EnsureTopics creates the topics that do not exist yet, and waits until every
// partition of them has a leader: the idempotent producer retries without
// pausing and exhausts its retries on a topic that is still being set up.
func EnsureTopics(ctx context.Context, cfg KafkaConfig, topics []string) error {
	client, err := sarama.NewClient(cfg.Brokers, cfg.sarama())
	if err != nil {
		return fmt.Errorf("kafka client on %v: %w", cfg.Brokers, err)
	}
	defer func() { _ = client.Close() }()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("kafka admin on %v: %w", cfg.Brokers, err)
	}
	existing, err := admin.ListTopics()
	if err != nil {
		return fmt.Errorf("list kafka topics: %w", err)
	}
	for _, t := range topics {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, ok := existing[t]; ok {
			continue
		}
		err := admin.CreateTopic(t, &sarama.TopicDetail{NumPartitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor}, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			var topicErr *sarama.TopicError
			if !errors.As(err, &topicErr) || !errors.Is(topicErr.Err, sarama.ErrTopicAlreadyExists) {
				return fmt.Errorf("create kafka topic %s: %w", t, err)
			}
		}
	}
	for _, t := range topics {
		for {
			if err := topicReady(client, t); err == nil {
				break
			} else if ctx.Err() != nil {
				return fmt.Errorf("kafka topic %s not ready: %w", t, err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// topicReady reports whether every partition of topic has a leader that
// answers for it: one ListOffsets request per leader for all of its
// partitions (a topic has dozens, and a process checks every topic at start).
func topicReady(client sarama.Client, topic string) error {
	if err := client.RefreshMetadata(topic); err != nil {
		return err
	}
	partitions, err := client.Partitions(topic)
	if err != nil {
		return err
	}
	if len(partitions) == 0 {
		return fmt.Errorf("no partitions yet")
	}
	byLeader := map[*sarama.Broker][]int32{}
	for _, p := range partitions {
		leader, err := client.Leader(topic, p)
		if err != nil {
			return err
		}
		byLeader[leader] = append(byLeader[leader], p)
	}
	for leader, ps := range byLeader {
		req := &sarama.OffsetRequest{Version: 1} // v0 is gone from Kafka 4
		for _, p := range ps {
			req.AddBlock(topic, p, sarama.OffsetNewest, 1)
		}
		resp, err := leader.GetAvailableOffsets(req)
		if err != nil {
			return err
		}
		for _, p := range ps {
			block := resp.GetBlock(topic, p)
			if block == nil {
				return fmt.Errorf("partition %d: %w", p, sarama.ErrIncompleteResponse)
			}
			if !errors.Is(block.Err, sarama.ErrNoError) {
				return fmt.Errorf("partition %d: %w", p, block.Err)
			}
		}
	}
	return nil
}

// Ping checks that a broker answers a metadata request.
//
// It returns when ctx ends: a broker that accepts connections but does not
// answer yet (one that is starting) would otherwise hold it for Sarama's 30 s
// read timeout. The attempt left behind ends within its own 2 s timeouts.
func Ping(ctx context.Context, cfg KafkaConfig) error {
	c := cfg.sarama()
	c.Net.DialTimeout = 2 * time.Second
	c.Net.ReadTimeout = 2 * time.Second
	c.Net.WriteTimeout = 2 * time.Second
	c.Metadata.Retry.Max = 0
	done := make(chan error, 1)
	go func() {
		client, err := sarama.NewClient(cfg.Brokers, c)
		if err != nil {
			done <- err
			return
		}
		defer func() { _ = client.Close() }()
		if len(client.Brokers()) == 0 {
			done <- errors.New("no brokers known")
			return
		}
		done <- nil
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func brokerFault(topic string, err error) error {
	if err == nil {
		return nil
	}
	return faults.Unavailable(fmt.Errorf("publish to %s: %w", topic, err))
}

type prefixedSubscriber struct {
	message.Subscriber
	prefix string
}

func (s prefixedSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	return s.Subscriber.Subscribe(ctx, s.prefix+topic)
}

// Sarama records its own metrics (rates and histograms of every request, per
// broker and topic) in go-metrics, which nothing here reads (the services'
// metrics are Prometheus'); in the benchmark they cost about 5 % of the
// transport's CPU. Set before any Sarama client exists (an init), so without
// a race.
func init() { metrics.UseNilMetrics = true }

// stickyMu serialises the use of sarama.BalanceStrategySticky: Sarama 1.38
// has one instance of it for the whole process, and its Plan writes that
// instance's fields, so two consumer groups of one process whose leader plans
// at the same time race (the race detector saw it; later Sarama versions give
// each group a strategy of its own with NewBalanceStrategySticky).
var stickyMu sync.Mutex

// stickyStrategy is Sarama's sticky strategy, one plan at a time.
type stickyStrategy struct{}

func (stickyStrategy) Name() string { return sarama.BalanceStrategySticky.Name() }

func (stickyStrategy) Plan(members map[string]sarama.ConsumerGroupMemberMetadata, topics map[string][]int32) (sarama.BalanceStrategyPlan, error) {
	stickyMu.Lock()
	defer stickyMu.Unlock()
	return sarama.BalanceStrategySticky.Plan(members, topics)
}

func (stickyStrategy) AssignmentData(memberID string, topics map[string][]int32, generationID int32) ([]byte, error) {
	stickyMu.Lock()
	defer stickyMu.Unlock()
	return sarama.BalanceStrategySticky.AssignmentData(memberID, topics, generationID)
}
