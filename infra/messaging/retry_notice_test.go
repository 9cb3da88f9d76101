package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/faults"
	"github.com/orderflow/orderflow/messages"
)

// noticePublisher records what is published, or fails, or blocks until released.
type noticePublisher struct {
	mu      sync.Mutex
	sent    []*message.Message
	err     error
	block   chan struct{}
	attempt atomic.Int32
}

func (p *noticePublisher) Publish(topic string, msgs ...*message.Message) error {
	p.attempt.Add(1)
	if p.block != nil {
		<-p.block
	}
	if p.err != nil {
		return p.err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, msgs...)
	return nil
}

func (p *noticePublisher) Close() error { return nil }

func (p *noticePublisher) notices(t *testing.T) []messages.MessageRetried {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]messages.MessageRetried, 0, len(p.sent))
	for _, m := range p.sent {
		var e messages.MessageRetried
		require.NoError(t, json.Unmarshal(m.Payload, &e))
		assert.Equal(t, e.OrderID, m.Metadata.Get(messages.MetadataPartitionKey), "keyed by the order")
		assert.Equal(t, "corr-1", m.Metadata.Get(messages.MetadataCorrelationID))
		out = append(out, e)
	}
	return out
}

// orderMessage is a message about order-1, as a router hands it to a handler.
func orderMessage() *message.Message {
	msg := message.NewMessage("m-1", []byte(`{"order_id":"order-1","customer_id":"c-1"}`))
	msg.Metadata.Set(messages.MetadataPartitionKey, "order-1")
	msg.Metadata.Set(messages.MetadataCorrelationID, "corr-1")
	return msg
}

func TestRetryNotices(t *testing.T) {
	t.Parallel()
	unknown := errors.New("something odd")
	for _, tc := range []struct {
		name      string
		err       error
		failures  int
		retries   RetryConfig
		wantCalls int32
		// wantAttempts are the attempts of the notices sent.
		wantAttempts []int
		wantClass    string
		// payload replaces the message's, when set.
		payload string
	}{
		{name: "two failures, then success: a notice per retry", err: unknown, failures: 2, retries: fastRetry(),
			wantCalls: 3, wantAttempts: []int{1, 2}, wantClass: "unknown"},
		{name: "a storm of transient faults: notices for attempts 1, 2, 4, 8, 16 only", err: faults.Unavailable(errors.New("store down")),
			failures: 20, retries: fastRetry(), wantCalls: 21, wantAttempts: []int{1, 2, 4, 8, 16}, wantClass: "transient"},
		{name: "a message about no order (stock only): no notice", err: unknown, failures: 2, retries: fastRetry(),
			payload: `{"sku":"SKU-1","on_hand":3}`, wantCalls: 3},
		{name: "a payload that is no JSON: no notice", err: unknown, failures: 2, retries: fastRetry(),
			payload: `not json`, wantCalls: 3},
		{name: "a permanent error is not retried: no notice", err: messages.ErrInvalid, failures: 5, retries: fastRetry(),
			wantCalls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pub := &noticePublisher{}
			n := newRetryNotifier(&RetryNotices{Publisher: pub, Topic: messages.TopicRetries}, "inventory", quiet)
			var calls atomic.Int32
			h := retry(tc.retries, NewStalls(), quiet, n)(failing(tc.failures, tc.err, &calls))
			msg := orderMessage()
			if tc.payload != "" {
				msg.Payload = []byte(tc.payload)
			}
			_, _ = h(msg)
			assert.Equal(t, tc.wantCalls, calls.Load())
			got := pub.notices(t)
			attempts := make([]int, 0, len(got))
			for _, e := range got {
				attempts = append(attempts, e.Attempt)
				assert.Equal(t, "inventory", e.Service)
				assert.Equal(t, "m-1", e.MessageUUID)
				assert.Equal(t, "order-1", e.OrderID)
				assert.Equal(t, tc.wantClass, e.Class)
				assert.NotEmpty(t, e.Error)
				assert.False(t, e.OccurredAt.IsZero())
			}
			if tc.wantAttempts == nil {
				assert.Empty(t, attempts)
			} else {
				assert.Equal(t, tc.wantAttempts, attempts)
			}
		})
	}
}

func TestRetryNoticesOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		notices *RetryNotices
	}{
		{name: "nil", notices: nil},
		{name: "no publisher", notices: &RetryNotices{Topic: messages.TopicRetries}},
		{name: "no topic", notices: &RetryNotices{Publisher: &noticePublisher{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Nil(t, newRetryNotifier(tc.notices, "inventory", quiet))
			var calls atomic.Int32
			h := retry(fastRetry(), NewStalls(), quiet, newRetryNotifier(tc.notices, "inventory", quiet))(failing(2, errors.New("odd"), &calls))
			_, err := h(orderMessage())
			require.NoError(t, err)
			assert.Equal(t, int32(3), calls.Load())
			if tc.notices != nil && tc.notices.Publisher != nil {
				assert.Zero(t, tc.notices.Publisher.(*noticePublisher).attempt.Load())
			}
		})
	}
}

// A notice that cannot be sent, or hangs, changes nothing in the handling.
func TestRetryNoticeFailureChangesNothing(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	for _, tc := range []struct {
		name string
		pub  *noticePublisher
	}{
		{name: "the publish fails", pub: &noticePublisher{err: errors.New("broker down")}},
		{name: "the publish hangs", pub: &noticePublisher{block: block}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newRetryNotifier(&RetryNotices{Publisher: tc.pub, Topic: messages.TopicRetries, Timeout: 20 * time.Millisecond}, "inventory", quiet)
			for _, c := range []struct {
				failures  int
				err       error
				wantCalls int32
				wantErr   bool
			}{
				{failures: 2, err: errors.New("odd"), wantCalls: 3},
				{failures: 100, err: errors.New("odd"), wantCalls: 4, wantErr: true}, // MaxRetries 3, then poisoned as before
			} {
				var calls atomic.Int32
				h := retry(fastRetry(), NewStalls(), quiet, n)(failing(c.failures, c.err, &calls))
				start := time.Now()
				_, err := h(orderMessage())
				assert.Equal(t, c.wantCalls, calls.Load())
				assert.Equal(t, c.wantErr, err != nil, "%v", err)
				assert.Less(t, time.Since(start), 5*time.Second, "a notice holds the handling up by its timeout at most")
			}
			assert.Positive(t, tc.pub.attempt.Load(), "a notice was tried")
		})
	}
}

// Through a router: the notice names the handler and the topic, and the
// retries of a message read from the notice topic itself send none (they
// would feed the failing handler its own failures).
func TestRetryNoticesThroughARouter(t *testing.T) {
	t.Parallel()
	ps := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	pub := &noticePublisher{}
	r, err := NewRouter(RouterConfig{
		Service: "inventory", PoisonTopic: "inventory.poison", Publisher: ps, Retry: fastRetry(),
		RetryNotices: &RetryNotices{Publisher: pub, Topic: messages.TopicRetries}, Logger: quiet,
	})
	require.NoError(t, err)
	var orderCalls, noticeCalls atomic.Int32
	r.AddConsumerHandler("inventory.order_events", messages.TopicOrderEvents, ps, message.NoPublishHandlerFunc(func(msg *message.Message) error {
		_, err := failing(2, errors.New("odd"), &orderCalls)(msg)
		return err
	}))
	r.AddConsumerHandler("gateway.view.retries", messages.TopicRetries, ps, message.NoPublishHandlerFunc(func(msg *message.Message) error {
		_, err := failing(2, errors.New("odd"), &noticeCalls)(msg)
		return err
	}))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = r.Run(ctx) }()
	<-r.Running()
	require.NoError(t, ps.Publish(messages.TopicRetries, orderMessage()))
	require.Eventually(t, func() bool { return noticeCalls.Load() == 3 }, 5*time.Second, time.Millisecond)
	require.NoError(t, ps.Publish(messages.TopicOrderEvents, orderMessage()))
	require.Eventually(t, func() bool { return orderCalls.Load() == 3 }, 5*time.Second, time.Millisecond)

	got := pub.notices(t)
	require.Len(t, got, 2, "two notices for the order's message, none for the notice's own retries")
	for i, e := range got {
		assert.Equal(t, i+1, e.Attempt)
		assert.Equal(t, messages.TopicOrderEvents, e.Topic)
		assert.Equal(t, "inventory.order_events", e.Handler)
		assert.Equal(t, "inventory", e.Service)
	}
}
