package pubsub_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/Shopify/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orderflow/orderflow/infra/pubsub"
)

// fakeKafka is the package's in-process Kafka: it keeps everything in memory,
// so there is one for all tests, closed by TestMain.
var fakeKafka *kfake.Cluster

func TestMain(m *testing.M) {
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(4),
		// Production keeps Sarama's 10 s session timeout, which kfake's
		// default minimum (6 s, as Kafka's) admits; lowered so that the fake
		// never refuses a shorter one a test sets.
		kfake.GroupMinSessionTimeout(100*time.Millisecond),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
	rejectVersionsKafka4Removed(c)
	fakeKafka = c
	code := m.Run()
	c.Close()
	os.Exit(code)
}

// kafka4MinVersions are the lowest request versions Kafka 4.1 accepts where
// kfake accepts lower ones (measured: ApiVersions of a Kafka 4.1.2 broker).
// Kafka 4 removed them (KIP-896); Sarama 1.38 still sends some, e.g.
// OffsetCommit v1 unless Consumer.Offsets.Retention is set.
var kafka4MinVersions = map[kmsg.Key]int16{
	kmsg.ListOffsets:         1,
	kmsg.OffsetCommit:        2,
	kmsg.OffsetFetch:         1,
	kmsg.CreateTopics:        2,
	kmsg.DeleteTopics:        1,
	kmsg.WriteTxnMarkers:     1,
	kmsg.DescribeACLs:        1,
	kmsg.CreateACLs:          1,
	kmsg.DeleteACLs:          1,
	kmsg.DescribeConfigs:     1,
	kmsg.AlterReplicaLogDirs: 1,
	kmsg.DescribeLogDirs:     1,
}

// rejectVersionsKafka4Removed makes the fake answer a request Kafka 4 no
// longer accepts as kfake answers any unsupported version: by closing the
// connection. Without it the fake would pass a client Kafka 4 refuses.
func rejectVersionsKafka4Removed(c *kfake.Cluster) {
	for key, minVersion := range kafka4MinVersions {
		c.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
			if req.GetVersion() >= minVersion {
				return nil, nil, false
			}
			c.KeepControl()
			return nil, fmt.Errorf("%s v%d was removed in Kafka 4 (min v%d)", kmsg.NameForKey(int16(key)), req.GetVersion(), minVersion), true
		})
	}
}

// fakeKafkaConfig is the production configuration pointed at the fake, with
// the protocol version production uses against Kafka 4.
func fakeKafkaConfig() pubsub.KafkaConfig {
	return pubsub.KafkaConfig{Brokers: fakeKafka.ListenAddrs(), Version: sarama.V3_3_1_0}
}

func TestKafkaOnKfake(t *testing.T) {
	t.Run("watermill-kafka subscriber", func(t *testing.T) { kafkaSuite(t, fakeKafkaConfig()) })
	t.Run("per-key parallel subscriber", func(t *testing.T) {
		cfg := fakeKafkaConfig()
		cfg.ConsumerConcurrency = 8
		kafkaSuite(t, cfg)
	})
}

func TestNewKafkaNeedsBrokers(t *testing.T) {
	t.Parallel()
	_, err := pubsub.NewKafka(context.Background(), pubsub.KafkaConfig{Version: sarama.V3_3_1_0}, watermill.NopLogger{})
	require.Error(t, err)
}

// A broker that accepts connections but does not answer yet (Kafka binds its
// port long before it serves) must not hold a readiness check past its deadline.
func TestPingReturnsWhenContextEnds(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never answered
		}
	}()

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = pubsub.Ping(ctx, pubsub.KafkaConfig{Brokers: []string{l.Addr().String()}, Version: sarama.V3_3_1_0, ClientID: "ping-test"})
	assert.Error(t, err)
	assert.Less(t, time.Since(start), 1500*time.Millisecond, "Ping outlived its context")
}
