// Package pubsub provides the transports the services talk over: GoChannel in
// one process (the embedded default) and Kafka across processes. Both are
// handed to the rest of the system as a PubSub.
package pubsub

import (
	"context"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// PubSub is a publisher plus a way to subscribe as a consumer group. Handler
// names are consumer group names: on Kafka each handler consumes every topic it
// reads once per group, however many instances run.
type PubSub struct {
	Publisher message.Publisher
	// Subscriber returns a subscriber for the consumer group; a new group starts
	// from the oldest message, so nothing published before it first joined is missed.
	Subscriber func(consumerGroup string) (message.Subscriber, error)
	// NewestSubscriber returns a subscriber for a group that only wants what is
	// published from now on (a gateway instance's replies).
	NewestSubscriber func(consumerGroup string) (message.Subscriber, error)
	// FilteredSubscriber, when set, returns a subscriber for the group that is
	// handed only the messages keep says yes to, where a transport can leave
	// the others out at no risk (in one process: what nobody handles needs no
	// delivery, no ack and no redelivery). Nil where every message must be
	// consumed to move on (a broker's partition): use Subscriber.
	FilteredSubscriber func(consumerGroup string, keep func(*message.Message) bool) (message.Subscriber, error)
	// Drain, when set, waits until every message published so far has been
	// handled. A transport that keeps nothing (GoChannel) needs it to stop
	// without losing messages; a broker redelivers what was not acked instead.
	Drain func(ctx context.Context) error
	// Close closes the publisher and every subscriber.
	Close func() error
}

// NewGoChannel returns an in-process PubSub with the semantics of Watermill's
// GoChannel (see inProcess). There are no consumer groups: every subscription
// gets every message, which is what one handler per topic needs. It keeps
// nothing: messages in flight are lost with the process, so a graceful stop
// drains it first. The logger is unused: the transport logs nothing.
func NewGoChannel(watermill.LoggerAdapter) PubSub {
	t := newInProcess()
	sub := func(string) (message.Subscriber, error) { return publisher{t}, nil }
	return PubSub{
		Publisher:        publisher{t},
		Subscriber:       sub,
		NewestSubscriber: sub,
		FilteredSubscriber: func(_ string, keep func(*message.Message) bool) (message.Subscriber, error) {
			return filteredSubscriber{p: t, keep: keep}, nil
		},
		Drain: t.drain,
		Close: t.Close,
	}
}
