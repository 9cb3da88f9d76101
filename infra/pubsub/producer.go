package pubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/Shopify/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v2/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
)

// errPublisherClosed is what Publish returns once Close has begun.
var errPublisherClosed = errors.New("kafka publisher closed")

// asyncPublisher is a message.Publisher on one Sarama AsyncProducer shared by
// every handler of the process. watermill-kafka's own Publisher is a
// SyncProducer that sends one message and waits for its answer before the
// next; here every Publish hands its messages to the producer at once and
// waits only for its own acknowledgements, so the messages of concurrent
// handlers travel together in the producer's batches (one produce request per
// partition leader carries what all of them published meanwhile), and a
// caller still returns only once the broker has its messages (acks=all, with
// the idempotent producer's retries behind it).
//
// The records are those of watermill-kafka (its Marshaler), so the
// subscribers of watermill-kafka read them unchanged.
type asyncPublisher struct {
	producer  sarama.AsyncProducer
	marshaler kafka.Marshaler
	prefix    string

	// mu guards sending on the producer's input against Close, which closes
	// it: a send on a closed channel panics.
	mu     sync.RWMutex
	closed bool
	// results ends when both of the producer's result channels are drained.
	results sync.WaitGroup
}

// pendingPublish is one Publish call waiting for its messages' results. Each
// record carries it as its Metadata, so the result loops find their caller.
type pendingPublish struct {
	remaining atomic.Int32
	once      sync.Once
	err       error // the first failure, set before done is closed
	done      chan struct{}
}

func (p *pendingPublish) result(err error) {
	if err != nil {
		p.once.Do(func() { p.err = err })
	}
	if p.remaining.Add(-1) == 0 {
		close(p.done)
	}
}

func newAsyncPublisher(producer sarama.AsyncProducer, marshaler kafka.Marshaler, prefix string) *asyncPublisher {
	p := &asyncPublisher{producer: producer, marshaler: marshaler, prefix: prefix}
	p.results.Add(2)
	go func() {
		defer p.results.Done()
		for m := range producer.Successes() {
			if pending, ok := m.Metadata.(*pendingPublish); ok {
				pending.result(nil)
			}
		}
	}()
	go func() {
		defer p.results.Done()
		for e := range producer.Errors() {
			if e == nil || e.Msg == nil {
				continue
			}
			if pending, ok := e.Msg.Metadata.(*pendingPublish); ok {
				pending.result(e.Err)
			}
		}
	}()
	return p
}

// Publish publishes msgs to topic and returns once the broker acknowledged
// every one of them, or one failed, or the first message's context ended:
// the producer does not watch contexts and, with the broker down, retries for
// a while. Past the deadline it returns, and the messages left behind may
// still be published (consumers are idempotent, and a request is retried with
// its idempotency key). Every error of the broker is an infrastructure fault.
func (p *asyncPublisher) Publish(topic string, msgs ...*message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ctx := msgs[0].Context()
	pending := &pendingPublish{done: make(chan struct{})}
	pending.remaining.Store(int32(len(msgs))) //nolint:gosec // a Publish carries a handful of messages
	records := make([]*sarama.ProducerMessage, len(msgs))
	for i, msg := range msgs {
		rec, err := p.marshaler.Marshal(p.prefix+topic, msg)
		if err != nil {
			// A message that cannot be put into a record never will be.
			return fmt.Errorf("publish to %s: marshal message %s: %w", topic, msg.UUID, err)
		}
		rec.Metadata = pending
		records[i] = rec
	}
	if err := p.send(ctx, topic, records); err != nil {
		return err
	}
	select {
	case <-pending.done:
		return brokerFault(topic, pending.err)
	case <-ctx.Done():
		// Canceled (a stop) or DeadlineExceeded (a request's deadline): faults
		// classifies them as such.
		return fmt.Errorf("publish to %s abandoned: %w", topic, ctx.Err())
	}
}

// send hands the records to the producer, in order (the producer keeps the
// order of one partition's records).
func (p *asyncPublisher) send(ctx context.Context, topic string, records []*sarama.ProducerMessage) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return brokerFault(topic, errPublisherClosed)
	}
	input := p.producer.Input()
	for _, rec := range records {
		select {
		case input <- rec:
		case <-ctx.Done():
			return fmt.Errorf("publish to %s abandoned: %w", topic, ctx.Err())
		}
	}
	return nil
}

// Close stops taking messages, waits until the producer has the results of
// those it was given (it flushes what it buffers), and closes it.
func (p *asyncPublisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.producer.AsyncClose() // closes Successes and Errors once everything is answered
	p.results.Wait()
	return nil
}
