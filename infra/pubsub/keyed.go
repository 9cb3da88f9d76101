package pubsub

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/Shopify/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v2/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
)

// keyedSubscriber consumes a topic as a member of a consumer group, as
// watermill-kafka's Subscriber does (same Sarama configuration, same records,
// same ack/nack contract), but does not wait for one message's ack before it
// hands out the next of its partition: up to concurrency messages of a
// partition are out at once, and only those with the same record key (the
// partition key: an order id, a SKU) wait for one another. So one key's
// messages are still handled one at a time, in order, and a nacked one holds
// back only its key.
//
// A partition's offset is marked (and committed by Sarama's auto-commit) only
// up to the oldest message not yet acked: everything before a commit was
// handled (at least once), and a restart redelivers what came after it,
// acked or not.
type keyedSubscriber struct {
	brokers     []string
	config      *sarama.Config
	group       string
	unmarshaler kafka.Unmarshaler
	concurrency int
	nackSleep   time.Duration
	retrySleep  time.Duration
	logger      watermill.LoggerAdapter

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Subscribe joins the group for topic. The channel closes once the
// subscription ended (Close, or ctx done) and every message it handed out
// was answered or abandoned.
func (s *keyedSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	select {
	case <-s.closing:
		return nil, errors.New("subscriber closed")
	default:
	}
	client, err := sarama.NewClient(s.brokers, s.config)
	if err != nil {
		return nil, err
	}
	group, err := sarama.NewConsumerGroupFromClient(s.group, client)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	fields := watermill.LogFields{"topic": topic, "consumer_group": s.group}
	s.logger.Info("Subscribing to Kafka topic, per key in parallel", fields.Add(watermill.LogFields{"concurrency": s.concurrency}))
	out := make(chan *message.Message)
	ctx, cancel := context.WithCancel(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer func() { _ = client.Close() }()
		defer func() { _ = group.Close() }()
		defer cancel()
		go func() {
			select {
			case <-s.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		go func() {
			for err := range group.Errors() { // closed by group.Close
				s.logger.Error("Kafka consumer group error", err, fields)
			}
		}()
		h := &keyedHandler{ctx: ctx, out: out, s: s}
		for ctx.Err() == nil {
			// Consume returns at every rebalance; it is called again for the next.
			if err := group.Consume(ctx, []string{topic}, h); err != nil {
				if errors.Is(err, sarama.ErrClosedConsumerGroup) {
					return
				}
				s.logger.Error("Kafka consume failed, retrying", err, fields)
				select {
				case <-ctx.Done():
				case <-time.After(s.retrySleep):
				}
			}
		}
	}()
	return out, nil
}

// Close ends every subscription and waits until each has ended; the contexts
// of the messages still out are cancelled.
func (s *keyedSubscriber) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	s.wg.Wait()
	return nil
}

type keyedHandler struct {
	ctx context.Context // the subscription's
	out chan<- *message.Message
	s   *keyedSubscriber
}

func (*keyedHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (*keyedHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim hands out the partition's messages, up to concurrency at once
// and one at a time per key, until the claim ends (a rebalance or the end of
// the subscription); it returns once every message it handed out was answered
// (as watermill-kafka's does: a rebalance waits for the handlers) or the
// subscription ended.
func (h *keyedHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	var (
		mu      sync.Mutex
		lanes   = map[string][]*sarama.ConsumerMessage{} // a key being handled -> its messages waiting behind
		offsets offsetTracker
		stopped bool // a message was abandoned: nothing after it may be handed out
		wg      sync.WaitGroup
	)
	slots := make(chan struct{}, h.s.concurrency)
	stop := sess.Context().Done() // closed at a rebalance
	// The messages handed out live as long as the claim: at a rebalance their
	// handlers are cancelled (a handler waiting out a fault gives up at once,
	// unacked), so that the member rejoins the group promptly. Had it waited
	// for them, one handler retrying a fault would hold every partition of
	// the group still until the broker dropped the member, after the
	// rebalance timeout, and then the member's commits would fail ("the
	// provided member is not known") for as long as the handler went on. What
	// was cancelled is handled again by the partition's next owner, from the
	// last offset committed; handlers are idempotent.
	claimCtx, cancelClaim := context.WithCancel(h.ctx)
	defer cancelClaim()
	defer context.AfterFunc(sess.Context(), cancelClaim)()
	lane := func(key string, m *sarama.ConsumerMessage) {
		defer wg.Done()
		for {
			acked := h.deliver(claimCtx, stop, m)
			mu.Lock()
			if acked {
				if next, ok := offsets.done(m.Offset); ok {
					sess.MarkOffset(m.Topic, m.Partition, next, "")
				}
			} else {
				stopped = true
			}
			<-slots
			queue := lanes[key]
			if stopped || len(queue) == 0 {
				delete(lanes, key)
				mu.Unlock()
				return
			}
			m, lanes[key] = queue[0], queue[1:]
			mu.Unlock()
		}
	}
	defer wg.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-stop:
			return nil
		case <-h.ctx.Done():
			return nil
		}
		var m *sarama.ConsumerMessage
		var ok bool
		select {
		case m, ok = <-claim.Messages():
		case <-stop:
			return nil
		case <-h.ctx.Done():
			return nil
		}
		if !ok {
			return nil
		}
		key := string(m.Key)
		mu.Lock()
		if stopped {
			mu.Unlock()
			return nil
		}
		offsets.add(m.Offset)
		if queue, busy := lanes[key]; busy {
			lanes[key] = append(queue, m)
			mu.Unlock()
			continue
		}
		lanes[key] = nil
		mu.Unlock()
		wg.Add(1)
		go lane(key, m)
	}
}

// deliver hands one record to the subscriber's channel and waits for its ack,
// handing it again after a nack. It reports whether it was acked; false means
// it was abandoned (the claim or the subscription ended before it was taken,
// or the subscription ended before it was answered). The message's context is
// claimCtx's: it ends with the claim.
func (h *keyedHandler) deliver(claimCtx context.Context, stop <-chan struct{}, rec *sarama.ConsumerMessage) bool {
	msg, err := h.s.unmarshaler.Unmarshal(rec)
	if err != nil {
		// Never for watermill-kafka's marshaler, which reads any record.
		h.s.logger.Error("Kafka record unreadable, skipped", err, watermill.LogFields{"topic": rec.Topic, "partition": rec.Partition, "offset": rec.Offset})
		return true
	}
	ctx := context.WithValue(claimCtx, positionKey{}, position{partition: rec.Partition, offset: rec.Offset})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for {
		msg.SetContext(ctx)
		select {
		case <-stop: // not taken yet: the partition's next owner gets it
			return false
		default:
		}
		select {
		case h.out <- msg:
		case <-stop:
			return false
		case <-h.ctx.Done():
			return false
		}
		select {
		case <-msg.Acked():
			return true
		case <-msg.Nacked():
			msg = msg.Copy()
			if h.s.nackSleep > 0 {
				select {
				case <-time.After(h.s.nackSleep):
				case <-h.ctx.Done():
					return false
				}
			}
		case <-h.ctx.Done():
			return false
		}
	}
}

// offsetTracker knows the offsets of a partition handed out and not yet
// acked, in the order they came.
type offsetTracker struct {
	pending []int64
	acked   map[int64]bool
}

func (t *offsetTracker) add(offset int64) { t.pending = append(t.pending, offset) }

// done records offset as acked and returns the offset to commit (the one
// after the last of the acked run at the front), if that run grew.
func (t *offsetTracker) done(offset int64) (int64, bool) {
	if t.acked == nil {
		t.acked = map[int64]bool{}
	}
	t.acked[offset] = true
	var next int64
	moved := false
	for len(t.pending) > 0 && t.acked[t.pending[0]] {
		delete(t.acked, t.pending[0])
		next, moved = t.pending[0]+1, true
		t.pending = t.pending[1:]
	}
	return next, moved
}

type positionKey struct{}

type position struct {
	partition int32
	offset    int64
}

// MessagePosition returns the partition and offset a consumed message came
// from, for either of the Kafka subscribers.
func MessagePosition(ctx context.Context) (partition int32, offset int64, ok bool) {
	if p, found := ctx.Value(positionKey{}).(position); found {
		return p.partition, p.offset, true
	}
	p, okP := kafka.MessagePartitionFromCtx(ctx)
	o, okO := kafka.MessagePartitionOffsetFromCtx(ctx)
	return p, o, okP && okO
}
