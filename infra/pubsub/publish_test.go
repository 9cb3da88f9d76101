package pubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/Shopify/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v2/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/faults"
	"github.com/orderflow/orderflow/messages"
)

// fakeProducer is a sarama.AsyncProducer whose answers the test gives: every
// record handed to it waits in taken until the test acks or fails it.
type fakeProducer struct {
	sarama.AsyncProducer // the transactional methods, never called

	input     chan *sarama.ProducerMessage
	successes chan *sarama.ProducerMessage
	errors    chan *sarama.ProducerError
	taken     chan *sarama.ProducerMessage
	closeOnce sync.Once
}

func newFakeProducer() *fakeProducer {
	f := &fakeProducer{
		input:     make(chan *sarama.ProducerMessage),
		successes: make(chan *sarama.ProducerMessage),
		errors:    make(chan *sarama.ProducerError),
		taken:     make(chan *sarama.ProducerMessage, 100),
	}
	go func() {
		for m := range f.input {
			f.taken <- m
		}
		close(f.taken)
	}()
	return f
}

func (f *fakeProducer) Input() chan<- *sarama.ProducerMessage     { return f.input }
func (f *fakeProducer) Successes() <-chan *sarama.ProducerMessage { return f.successes }
func (f *fakeProducer) Errors() <-chan *sarama.ProducerError      { return f.errors }
func (f *fakeProducer) AsyncClose() {
	f.closeOnce.Do(func() {
		close(f.input)
		close(f.successes)
		close(f.errors)
	})
}
func (f *fakeProducer) Close() error { f.AsyncClose(); return nil }

// next returns the next record handed to the producer.
func (f *fakeProducer) next(t *testing.T) *sarama.ProducerMessage {
	t.Helper()
	select {
	case m := <-f.taken:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no record reached the producer")
		return nil
	}
}

func (f *fakeProducer) ack(m *sarama.ProducerMessage) { f.successes <- m }
func (f *fakeProducer) fail(m *sarama.ProducerMessage, err error) {
	f.errors <- &sarama.ProducerError{Msg: m, Err: err}
}

func newTestPublisher(t *testing.T, prefix string) (*asyncPublisher, *fakeProducer) {
	t.Helper()
	f := newFakeProducer()
	p := newAsyncPublisher(f, kafka.NewWithPartitioningMarshaler(partitionKey), prefix)
	t.Cleanup(func() { _ = p.Close() })
	return p, f
}

func keyed(id, key string) *message.Message {
	m := message.NewMessage(id, []byte(id))
	m.Metadata.Set(messages.MetadataPartitionKey, key)
	return m
}

// publishAsync runs Publish in the background; the channel gets its result.
func publishAsync(p *asyncPublisher, topic string, msgs ...*message.Message) <-chan error {
	done := make(chan error, 1)
	go func() { done <- p.Publish(topic, msgs...) }()
	return done
}

func requireNotReturned(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("Publish returned (%v) before its records were answered", err)
	default:
	}
}

func requireReturned(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Publish did not return")
		return nil
	}
}

func TestKafkaPublishReturnsAtTheDeadlineAndMarksBrokerErrors(t *testing.T) {
	t.Parallel()

	t.Run("a producer stuck past the deadline", func(t *testing.T) {
		t.Parallel()
		p, f := newTestPublisher(t, "x.")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		msg := keyed("m", "order-1")
		msg.SetContext(ctx)
		done := publishAsync(p, "orders.events", msg)
		assert.Equal(t, "x.orders.events", f.next(t).Topic, "the prefix goes before the topic")
		err := requireReturned(t, done) // never answered: the deadline ends it
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, faults.Transient, faults.Classify(err))
	})

	t.Run("a stop abandons the publish without poisoning", func(t *testing.T) {
		t.Parallel()
		p, _ := newTestPublisher(t, "")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		msg := keyed("m", "order-1")
		msg.SetContext(ctx)
		assert.Equal(t, faults.Shutdown, faults.Classify(p.Publish("orders.events", msg)))
	})

	t.Run("an error of the producer", func(t *testing.T) {
		t.Parallel()
		p, f := newTestPublisher(t, "")
		done := publishAsync(p, "orders.events", keyed("m", "order-1"))
		f.fail(f.next(t), errors.New("circuit breaker is open"))
		err := requireReturned(t, done)
		require.ErrorIs(t, err, faults.ErrUnavailable)
		assert.ErrorContains(t, err, "circuit breaker is open")
	})

	t.Run("a publish that succeeds", func(t *testing.T) {
		t.Parallel()
		p, f := newTestPublisher(t, "")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		msg := keyed("m", "order-1")
		msg.SetContext(ctx)
		done := publishAsync(p, "orders.events", msg)
		rec := f.next(t)
		requireNotReturned(t, done)
		f.ack(rec)
		assert.NoError(t, requireReturned(t, done))
	})

	t.Run("after Close", func(t *testing.T) {
		t.Parallel()
		p, _ := newTestPublisher(t, "")
		require.NoError(t, p.Close())
		err := p.Publish("orders.events", keyed("m", "order-1"))
		require.ErrorIs(t, err, faults.ErrUnavailable)
		require.NoError(t, p.Close(), "a second Close")
	})
}

// Concurrent callers share the producer: each returns when its own records
// are acknowledged, whatever happens to the others', and a call with several
// messages returns when all of them are.
func TestKafkaPublishWaitsForItsOwnAcks(t *testing.T) {
	t.Parallel()
	p, f := newTestPublisher(t, "")

	const callers = 5
	done := make([]<-chan error, callers)
	for i := range callers {
		done[i] = publishAsync(p, "orders.events",
			keyed(fmt.Sprintf("c%d-a", i), fmt.Sprintf("order-%d", i)),
			keyed(fmt.Sprintf("c%d-b", i), fmt.Sprintf("order-%d", i)))
	}
	byUUID := map[string]*sarama.ProducerMessage{}
	for range 2 * callers {
		rec := f.next(t)
		var uuid string
		for _, h := range rec.Headers {
			if string(h.Key) == kafka.UUIDHeaderKey {
				uuid = string(h.Value)
			}
		}
		byUUID[uuid] = rec
	}
	require.Len(t, byUUID, 2*callers, "every record reached the producer before any was answered")
	key, err := byUUID["c0-a"].Key.Encode()
	require.NoError(t, err)
	assert.Equal(t, "order-0", string(key), "the partition key is the record key")

	// Caller 0: one of two acked is not enough.
	f.ack(byUUID["c0-a"])
	// Caller 1 fails on its second record: it returns the error.
	f.ack(byUUID["c1-a"])
	f.fail(byUUID["c1-b"], sarama.ErrNotEnoughReplicas)
	require.ErrorIs(t, requireReturned(t, done[1]), sarama.ErrNotEnoughReplicas)
	// Caller 2, both acked, in reverse order.
	f.ack(byUUID["c2-b"])
	f.ack(byUUID["c2-a"])
	require.NoError(t, requireReturned(t, done[2]))
	requireNotReturned(t, done[0])
	f.ack(byUUID["c0-b"])
	require.NoError(t, requireReturned(t, done[0]))
	for _, i := range []int{3, 4} {
		requireNotReturned(t, done[i])
		f.ack(byUUID[fmt.Sprintf("c%d-a", i)])
		f.ack(byUUID[fmt.Sprintf("c%d-b", i)])
		require.NoError(t, requireReturned(t, done[i]))
	}
}
