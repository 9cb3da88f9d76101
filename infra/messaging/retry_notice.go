package messaging

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/infra/faults"
	"github.com/orderflow/orderflow/messages"
)

// RetryNotices makes the retry middleware publish a messages.MessageRetried
// for the retries it schedules, so that an order's timeline shows them.
type RetryNotices struct {
	// Publisher publishes the notices; Topic is where (messages.TopicRetries).
	Publisher message.Publisher
	Topic     string
	// Timeout bounds how long a notice may hold up the retry (default 500ms).
	Timeout time.Duration
}

// retryNotifier sends the notices of one router, best effort.
type retryNotifier struct {
	RetryNotices
	service string
	logger  *slog.Logger
	warned  atomic.Bool
}

func newRetryNotifier(n *RetryNotices, service string, logger *slog.Logger) *retryNotifier {
	if n == nil || n.Publisher == nil || n.Topic == "" {
		return nil
	}
	r := &retryNotifier{RetryNotices: *n, service: service, logger: logger}
	if r.Timeout <= 0 {
		r.Timeout = 500 * time.Millisecond
	}
	return r
}

// notify publishes the notice of retry attempt (from 1) of msg, if the
// attempt is one that tells (messages.NoticeRetry) and the message names what
// it is about. A failed or slow publish changes nothing in the handling: it is
// logged (a warning the first time, then at debug level) and the retry goes on.
func (r *retryNotifier) notify(msg *message.Message, attempt int, class faults.Class, err error, wait time.Duration) {
	if r == nil || !messages.NoticeRetry(attempt) {
		return
	}
	ctx := msg.Context()
	topic := message.SubscribeTopicFromCtx(ctx)
	// A notice's own retries send no notice: that would feed the failing
	// handler its own failures.
	if topic == r.Topic {
		return
	}
	orderID := orderOf(msg)
	if orderID == "" {
		return
	}
	e := messages.MessageRetried{
		Service: r.service, Topic: topic, Handler: message.HandlerNameFromCtx(ctx), MessageUUID: msg.UUID,
		OrderID: orderID, Attempt: attempt, Class: class.String(), Error: err.Error(),
		DelayMS: wait.Milliseconds(), OccurredAt: time.Now().UTC(),
	}
	payload, jerr := json.Marshal(e)
	if jerr != nil {
		r.failed(ctx, e, jerr)
		return
	}
	notice := message.NewMessage(watermill.NewUUID(), payload)
	notice.Metadata.Set("name", "MessageRetried")
	notice.Metadata.Set(messages.MetadataPartitionKey, orderID)
	for _, k := range []string{messages.MetadataTraceParent, messages.MetadataTraceState} {
		if v := msg.Metadata.Get(k); v != "" {
			notice.Metadata.Set(k, v)
		}
	}
	if id := middleware.MessageCorrelationID(msg); id != "" {
		middleware.SetCorrelationID(id, notice)
	}
	// The notice belongs to the handling's trace, not to the message's
	// cancellation, and waits at most Timeout.
	pubCtx, cancel := context.WithTimeout(trace.ContextWithSpan(context.Background(), trace.SpanFromContext(ctx)), r.Timeout)
	defer cancel()
	notice.SetContext(pubCtx)
	done := make(chan error, 1)
	go func() { done <- r.Publisher.Publish(r.Topic, notice) }()
	select {
	case perr := <-done:
		if perr != nil {
			r.failed(ctx, e, perr)
		}
	case <-pubCtx.Done():
		// The publish goes on in the background and ends with the publisher's own timeouts.
		r.failed(ctx, e, pubCtx.Err())
	}
}

func (r *retryNotifier) failed(ctx context.Context, e messages.MessageRetried, err error) {
	level := slog.LevelDebug
	if r.warned.CompareAndSwap(false, true) {
		level = slog.LevelWarn
	}
	r.logger.Log(ctx, level, "retry notice not sent (further failures are logged at debug level)",
		"handler", e.Handler, "message_uuid", e.MessageUUID, "attempt", e.Attempt, "topic", r.Topic, "error", err)
}

// orderOf returns the order a message is about: the order_id of its JSON
// payload, which every command and event about an order carries, or "" (a
// message about stock only, or one that cannot be read). Its partition key is
// no answer: for a message about stock it is a SKU.
func orderOf(msg *message.Message) string {
	var about struct {
		OrderID string `json:"order_id"`
	}
	if json.Unmarshal(msg.Payload, &about) != nil {
		return ""
	}
	return about.OrderID
}
