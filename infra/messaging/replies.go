package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/components/requestreply"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/messages"
)

// Watermill's requestreply.PubSubBackend subscribes anew for every request,
// which on Kafka means a consumer group join per HTTP request. These backends
// share one long-lived subscription per gateway instance to messages.TopicReplies
// instead, and route replies by operation ID. The handlers and the gateway still
// use requestreply's NewCommandHandlerWithResult and SendWithReply.

// ReplyPublisher is the services' side of request/reply: it publishes a
// handler's result to the reply topic. A handler error gets no reply: the command
// is retried, and poisoned if it keeps failing, while the gateway's wait times out.
type ReplyPublisher struct {
	Publisher message.Publisher
}

var _ requestreply.Backend[any] = ReplyPublisher{}

// ListenForNotifications implements requestreply.Backend; services only answer.
func (ReplyPublisher) ListenForNotifications(context.Context, requestreply.BackendListenForNotificationsParams) (<-chan requestreply.Reply[any], error) {
	return nil, errors.New("services answer requests, they do not wait for replies")
}

// OnCommandProcessed implements requestreply.Backend.
func (p ReplyPublisher) OnCommandProcessed(ctx context.Context, params requestreply.BackendOnCommandProcessedParams[any]) error {
	if params.HandleErr != nil {
		return params.HandleErr
	}
	op := params.CommandMessage.Metadata.Get(requestreply.OperationIDMetadataKey)
	if op == "" {
		return nil // sent without waiting for an answer
	}
	payload, err := json.Marshal(params.HandlerResult)
	if err != nil {
		return fmt.Errorf("marshal reply: %w", err)
	}
	msg := message.NewMessage(newUUID(), payload)
	msg.SetContext(ctx)
	msg.Metadata.Set(requestreply.OperationIDMetadataKey, op)
	stamp(msg, nil)
	msg.Metadata.Set(messages.MetadataPartitionKey, op)
	if err := p.Publisher.Publish(messages.TopicReplies, msg); err != nil {
		return fmt.Errorf("publish reply: %w", err)
	}
	return nil
}

// ReplyHub is the gateway's side: Handle consumes the reply topic and hands
// each reply to the request waiting for it. Replies nobody waits for (another
// gateway instance's, a duplicate, one past its deadline) are dropped.
type ReplyHub struct {
	mu      sync.Mutex
	waiting map[string]chan *message.Message
}

var _ requestreply.Backend[json.RawMessage] = (*ReplyHub)(nil)

// NewReplyHub returns a hub with nobody waiting.
func NewReplyHub() *ReplyHub {
	return &ReplyHub{waiting: map[string]chan *message.Message{}}
}

// expect registers a waiter for the reply to op.
func (h *ReplyHub) expect(op string) chan *message.Message {
	in := make(chan *message.Message, 1)
	h.mu.Lock()
	h.waiting[op] = in
	h.mu.Unlock()
	return in
}

// forget drops the waiter for op, if it still waits.
func (h *ReplyHub) forget(op string) {
	h.mu.Lock()
	delete(h.waiting, op)
	h.mu.Unlock()
}

// Handle is the consumer handler of messages.TopicReplies.
func (h *ReplyHub) Handle(msg *message.Message) error {
	op := msg.Metadata.Get(requestreply.OperationIDMetadataKey)
	h.mu.Lock()
	ch, ok := h.waiting[op]
	delete(h.waiting, op)
	h.mu.Unlock()
	if ok {
		ch <- msg // buffered: never blocks
	}
	return nil
}

// ListenForNotifications implements requestreply.Backend.
func (h *ReplyHub) ListenForNotifications(ctx context.Context, params requestreply.BackendListenForNotificationsParams) (<-chan requestreply.Reply[json.RawMessage], error) {
	op := string(params.OperationID)
	in := h.expect(op)

	out := make(chan requestreply.Reply[json.RawMessage], 1)
	start := time.Now()
	go func() {
		defer close(out)
		select {
		case msg := <-in:
			out <- requestreply.Reply[json.RawMessage]{HandlerResult: json.RawMessage(msg.Payload), NotificationMessage: msg}
		case <-ctx.Done():
			h.forget(op)
			out <- requestreply.Reply[json.RawMessage]{Error: requestreply.ReplyTimeoutError{Duration: time.Since(start), Err: ctx.Err()}}
		}
	}()
	return out, nil
}

// Probe publishes a reply addressed to nobody but this hub and waits for it to
// come back through the reply subscription. A subscription that starts from the
// newest offset drops replies published before it has its partitions, so a
// gateway is ready only once a probe has returned.
func (h *ReplyHub) Probe(ctx context.Context, pub message.Publisher) error {
	op := "probe-" + watermill.NewUUID()
	in := h.expect(op)
	defer h.forget(op)
	msg := message.NewMessage(watermill.NewUUID(), []byte("{}"))
	msg.Metadata.Set(requestreply.OperationIDMetadataKey, op)
	msg.Metadata.Set(messages.MetadataPartitionKey, op)
	if err := pub.Publish(messages.TopicReplies, msg); err != nil {
		return fmt.Errorf("publish probe: %w", err)
	}
	select {
	case <-in:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the reply subscription did not deliver a probe: %w", ctx.Err())
	}
}

// ReplyReadiness is a gateway's readiness as far as its replies go: not
// ready until a probe (ReplyHub.Probe) has come back through the reply
// subscription, since before that the subscription may not have its
// partitions yet and answers would be lost.
type ReplyReadiness struct {
	hub     *ReplyHub
	pub     message.Publisher
	logger  *slog.Logger
	flowing atomic.Bool
}

// NewReplyReadiness returns the readiness of hub's subscription, probed
// through pub (the bare publisher: a probe is no part of any request, so it is
// not traced).
func NewReplyReadiness(hub *ReplyHub, pub message.Publisher, logger *slog.Logger) *ReplyReadiness {
	return &ReplyReadiness{hub: hub, pub: pub, logger: logger}
}

// Run probes, each probe waiting up to 2 s, until one comes back or ctx is
// done. It is a background loop of the gateway; it returns nil either way.
func (r *ReplyReadiness) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		probeCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := r.hub.Probe(probeCtx, r.pub)
		cancel()
		if err == nil {
			r.flowing.Store(true)
			return nil
		}
		r.logger.Debug("gateway not ready yet", "error", err)
	}
	return nil
}

// Ready returns nil once a probe has come back.
func (r *ReplyReadiness) Ready(context.Context) error {
	if !r.flowing.Load() {
		return errors.New("the gateway's reply subscription does not deliver yet")
	}
	return nil
}

// OnCommandProcessed implements requestreply.Backend; the gateway handles no commands.
func (h *ReplyHub) OnCommandProcessed(context.Context, requestreply.BackendOnCommandProcessedParams[json.RawMessage]) error {
	return errors.New("the gateway handles no commands")
}

// Requester sends commands and waits for their answer.
type Requester struct {
	Bus     *cqrs.CommandBus
	Hub     *ReplyHub
	Timeout time.Duration
}

// Request sends cmd and decodes the answer into result. The command is sent
// within the request's deadline (ctx's, capped at the timeout), and expires
// then (messages.MetadataExpiresAt): a service that gets to it later drops
// it, so that a messages.ErrNoReply means it took effect before the deadline
// or never. It returns an error wrapping messages.ErrNotSent when the broker
// did not take the command, and messages.ErrNoReply when it did but no answer
// came within the timeout.
//
// It does what requestreply.SendWithReplies with the hub as its backend does
// (an operation id in the command's metadata, the hub routing the reply to
// it), without the goroutine, the channels and the context the generic path
// adds per request.
func (r Requester) Request(ctx context.Context, cmd, result any) error {
	return r.request(ctx, cmd, result, true)
}

// Submit is Request for a command that stands whenever it is handled: it
// does not expire, and a messages.ErrNoReply means it will take effect when
// its service gets to it (an order placed, whose client is told 202).
func (r Requester) Submit(ctx context.Context, cmd, result any) error {
	return r.request(ctx, cmd, result, false)
}

func (r Requester) request(ctx context.Context, cmd, result any, expires bool) error {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	op := newUUID()
	in := r.Hub.expect(op)
	defer r.Hub.forget(op)
	deadline, _ := ctx.Deadline()
	if err := r.Bus.SendWithModifiedMessage(ctx, cmd, func(m *message.Message) error {
		m.Metadata.Set(requestreply.OperationIDMetadataKey, op)
		if expires {
			m.Metadata.Set(messages.MetadataExpiresAt, deadline.UTC().Format(time.RFC3339Nano))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("%w: %T: %v", messages.ErrNotSent, cmd, err) //nolint:errorlint // callers match the sentinel only; wrapping the cause would change what errors.Is/As match
	}
	var reply *message.Message
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w: %T within %s", messages.ErrNoReply, cmd, r.Timeout)
	case reply = <-in:
	}
	if err := json.Unmarshal(reply.Payload, result); err != nil {
		return fmt.Errorf("decode reply to %T: %w", cmd, err)
	}
	return nil
}
