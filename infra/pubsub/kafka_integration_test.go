//go:build integration

package pubsub_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/Shopify/sarama"
	"github.com/ThreeDotsLabs/watermill"

	"github.com/orderflow/orderflow/infra/pubsub"
)

// TestKafkaOnBroker runs the suite against a real broker:
//
//	eval "$(tools/deps/kafka.sh start)"
//	go test -race -tags integration ./infra/pubsub/
func TestKafkaOnBroker(t *testing.T) {
	brokers := os.Getenv("KAFKA_BROKERS")
	if brokers == "" {
		t.Fatal(`KAFKA_BROKERS is not set: start a broker with eval "$(tools/deps/kafka.sh start)"`)
	}
	for _, concurrency := range []int{1, 8} {
		t.Run(fmt.Sprintf("consumer concurrency %d", concurrency), func(t *testing.T) {
			kafkaSuite(t, pubsub.KafkaConfig{
				Brokers: strings.Split(brokers, ","),
				// The version production sets: Kafka 4 refuses Sarama's older defaults.
				Version: sarama.V3_3_1_0,
				// The broker is shared and long-lived: a prefix of this run's own gives
				// it fresh system topics (so EnsureTopics' partition count is checked
				// on every one of them) and keeps it off the system's real topics.
				Prefix:              "pubsub-test-" + watermill.NewShortUUID() + ".",
				ConsumerConcurrency: concurrency,
			})
		})
	}
}
