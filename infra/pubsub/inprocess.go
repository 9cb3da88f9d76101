package pubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/infra/faults"
)

// inProcess is the embedded mode's transport. It keeps Watermill GoChannel's
// semantics, which the system was built and tested on: every subscription of
// a topic that exists when a message is published gets that message; a nacked
// message comes again, a fresh copy of what was published, until it is acked;
// a subscription's messages are handled concurrently; nothing is kept, so
// what is in flight is lost with the process unless drained first.
//
// It is its own implementation because the way GoChannel gets there cost more
// than the handlers: per message published, a copy and a goroutine, then per
// subscription another goroutine, another copy, a cancellable context and the
// log fields of five trace lines; and counting what is in flight (drain) took a
// goroutine per delivery and a second channel hop on top. Here a delivery is
// one goroutine that hands the message over and waits for its ack (a copy
// only when the topic has more subscriptions than one, or after a nack), and the
// count of deliveries in flight is kept exact, under the lock that picks the
// subscriptions a message goes to.
//
// The message given to Publish is the original every delivery is copied from
// (a nacked one included): a publisher must not change it after Publish.
type inProcess struct {
	mu     sync.RWMutex
	topics map[string][]*subscription
	// filtered counts the subscriptions of each topic that want only some
	// of its messages.
	filtered map[string]int
	closed   bool
	// closing is closed by Close: subscriptions end, deliveries are dropped.
	closing chan struct{}
	subs    sync.WaitGroup

	pmu     sync.Mutex
	pending int           // deliveries published and not yet acked
	idle    chan struct{} // closed while pending == 0
}

// outputBuffer is how many deliveries a subscription holds before a handler
// takes them; a full buffer makes deliveries wait in their goroutines, never
// the publisher.
const outputBuffer = 256

// errClosed is what Publish and Subscribe answer once the transport is closed.
var errClosed = errors.New("in-process pub/sub closed")

func newInProcess() *inProcess {
	idle := make(chan struct{})
	close(idle)
	return &inProcess{topics: map[string][]*subscription{}, filtered: map[string]int{}, closing: make(chan struct{}), idle: idle}
}

type subscription struct {
	ctx context.Context
	// keep, when set, says which messages the subscription wants; the others
	// are not delivered to it at all (see PubSub.FilteredSubscriber).
	keep func(*message.Message) bool
	out  chan *message.Message
	// mu guards sending on out against closing it: senders share it, the
	// subscription's end takes it alone.
	mu     sync.RWMutex
	closed bool
	done   chan struct{} // closed when the subscription ends
}

func (p *inProcess) add(n int) {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	was := p.pending
	p.pending += n
	switch {
	case was == 0 && p.pending > 0:
		p.idle = make(chan struct{})
	case was > 0 && p.pending == 0:
		close(p.idle)
	}
}

// Publish implements message.Publisher. It does not wait for the handlers.
func (p *inProcess) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		// A stop, which the retry waits out until the message's context ends.
		return faults.Unavailable(errClosed)
	}
	all := p.topics[topic]
	if len(all) == 0 {
		return nil // nobody listens: dropped, as on GoChannel
	}
	for _, msg := range msgs {
		subs := all
		if p.filtered[topic] > 0 {
			subs = wanting(all, msg)
		}
		if len(subs) == 0 {
			continue
		}
		p.add(len(subs)) // before delivering: a fast ack must not count first
		if len(subs) == 1 {
			// The only delivery takes the message itself; a nack, once its
			// handler is done with it, brings a copy.
			go p.deliver(subs[0], msg, msg)
			continue
		}
		// Each subscription acks a message of its own; the original stays
		// untouched for the copies that nacks bring.
		for _, s := range subs {
			go p.deliver(s, msg, msg.Copy())
		}
	}
	return nil
}

// wanting returns the subscriptions of all that want msg.
func wanting(all []*subscription, msg *message.Message) []*subscription {
	subs := make([]*subscription, 0, len(all))
	for _, s := range all {
		if s.keep == nil || s.keep(msg) {
			subs = append(subs, s)
		}
	}
	return subs
}

// deliver hands m, a copy of msg or msg itself, to s and waits for it to be
// acked, handing over a fresh copy of msg after each nack.
func (p *inProcess) deliver(s *subscription, msg, m *message.Message) {
	for {
		m.SetContext(s.ctx)
		if !s.send(m) {
			return // the subscription ended: nothing takes it any more
		}
		select {
		case <-m.Acked():
			p.add(-1)
			return
		case <-m.Nacked():
			m = msg.Copy()
		case <-s.done:
			return
		}
	}
}

func (s *subscription) send(m *message.Message) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	select {
	case s.out <- m:
		return true
	case <-s.done:
		return false
	}
}

// Subscribe implements message.Subscriber: the subscription lasts until ctx
// ends or the transport is closed.
func (p *inProcess) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	return p.subscribe(ctx, topic, nil)
}

func (p *inProcess) subscribe(ctx context.Context, topic string, keep func(*message.Message) bool) (<-chan *message.Message, error) {
	s := &subscription{ctx: ctx, keep: keep, out: make(chan *message.Message, outputBuffer), done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errClosed
	}
	p.topics[topic] = append(p.topics[topic], s)
	if keep != nil {
		p.filtered[topic]++
	}
	p.subs.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.subs.Done()
		select {
		case <-ctx.Done():
		case <-p.closing:
		}
		p.mu.Lock()
		subs := p.topics[topic]
		for i, other := range subs {
			if other == s {
				p.topics[topic] = append(subs[:i:i], subs[i+1:]...)
				break
			}
		}
		if keep != nil {
			p.filtered[topic]--
		}
		p.mu.Unlock()
		close(s.done) // senders waiting on out give up and release mu
		s.mu.Lock()
		s.closed = true
		close(s.out)
		s.mu.Unlock()
	}()
	return s.out, nil
}

// Close ends every subscription; deliveries not yet taken are dropped.
func (p *inProcess) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.closing)
	p.mu.Unlock()
	p.subs.Wait()
	return nil
}

// drain waits until nothing is in flight.
func (p *inProcess) drain(ctx context.Context) error {
	for {
		p.pmu.Lock()
		idle, pending := p.idle, p.pending
		p.pmu.Unlock()
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

// filteredSubscriber subscribes for only the messages keep says yes to.
type filteredSubscriber struct {
	p    *inProcess
	keep func(*message.Message) bool
}

func (f filteredSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	return f.p.subscribe(ctx, topic, f.keep)
}

func (filteredSubscriber) Close() error { return nil }

// publisher is what PubSub.Publisher is: Close is a no-op there, the
// transport is closed by PubSub.Close.
type publisher struct{ *inProcess }

func (publisher) Close() error { return nil }
