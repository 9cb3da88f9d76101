package pubsub

import (
	"context"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/infra/faults"
)

// inflight wraps GoChannel to count deliveries that are published and not yet
// acked. GoChannel hands a message to every subscription of its topic that
// exists when it is published, and resends a nacked one until it is acked, so
// "published × subscriptions − acked" is exactly what is still in flight.
type inflight struct {
	pub message.Publisher
	sub message.Subscriber

	mu      sync.Mutex
	subs    map[string]int
	pending int
	idle    chan struct{} // closed while pending == 0
}

func newInflight(pub message.Publisher, sub message.Subscriber) *inflight {
	idle := make(chan struct{})
	close(idle)
	return &inflight{pub: pub, sub: sub, subs: map[string]int{}, idle: idle}
}

func (f *inflight) add(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	was := f.pending
	f.pending += n
	switch {
	case was == 0 && f.pending > 0:
		f.idle = make(chan struct{})
	case was > 0 && f.pending == 0:
		close(f.idle)
	}
}

func (f *inflight) Publish(topic string, msgs ...*message.Message) error {
	f.mu.Lock()
	n := f.subs[topic] * len(msgs)
	f.mu.Unlock()
	f.add(n) // before publishing: a fast ack must not count first
	if err := f.pub.Publish(topic, msgs...); err != nil {
		f.add(-n)
		// GoChannel fails only once closed: a stop, which the retry waits out
		// until the message's context ends.
		return faults.Unavailable(err)
	}
	return nil
}

func (f *inflight) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	// Counted before subscribing: all subscriptions are made before anything is
	// published, and an over-count could only make a drain wait, never undercount.
	f.mu.Lock()
	f.subs[topic]++
	f.mu.Unlock()
	unsubscribe := func() {
		f.mu.Lock()
		f.subs[topic]--
		f.mu.Unlock()
	}
	in, err := f.sub.Subscribe(ctx, topic)
	if err != nil {
		unsubscribe()
		return nil, err
	}
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		defer unsubscribe()
		for msg := range in {
			go func() {
				select {
				case <-msg.Acked():
					f.add(-1)
				case <-msg.Nacked(): // GoChannel sends a fresh copy, which is counted when acked
				case <-ctx.Done():
				}
			}()
			select {
			case out <- msg:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func (f *inflight) Close() error { return nil } // the GoChannel is closed by PubSub.Close

// drain waits until nothing is in flight.
func (f *inflight) drain(ctx context.Context) error {
	for {
		f.mu.Lock()
		idle, pending := f.idle, f.pending
		f.mu.Unlock()
		if pending == 0 {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return fmt.Errorf("%d deliveries still in flight: %w", pending, ctx.Err())
		}
	}
}
