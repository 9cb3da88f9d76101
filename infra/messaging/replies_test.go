package messaging_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/faults"
	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/infra/pubsub"
	"github.com/orderflow/orderflow/messages"
)

func TestReplyHubProbeComesBackOnlyThroughTheSubscription(t *testing.T) {
	t.Parallel()
	ps := pubsub.NewGoChannel(watermill.NopLogger{})
	defer ps.Close()
	hub := messaging.NewReplyHub()

	// Nobody consumes the reply topic yet: the probe cannot come back.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.Error(t, hub.Probe(short, ps.Publisher))

	serveReplies(t, ps, hub)

	probeCtx, cancelProbe := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelProbe()
	require.NoError(t, hub.Probe(probeCtx, ps.Publisher))
}

func TestReplyReadinessIsReadyOnceAProbeCameBack(t *testing.T) {
	t.Parallel()
	ps := pubsub.NewGoChannel(watermill.NopLogger{})
	defer ps.Close()
	hub := messaging.NewReplyHub()
	readiness := messaging.NewReplyReadiness(hub, ps.Publisher, slog.New(slog.DiscardHandler))

	// Nobody consumes the reply topic: the probes cannot come back, and Run
	// ends only with its context.
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	require.NoError(t, readiness.Run(short))
	require.ErrorContains(t, readiness.Ready(t.Context()), "does not deliver yet")

	serveReplies(t, ps, hub)

	runCtx, cancelRun := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancelRun()
	require.NoError(t, readiness.Run(runCtx))
	require.NoError(t, runCtx.Err(), "Run returned because a probe came back, not at its deadline")
	require.NoError(t, readiness.Ready(t.Context()))
}

// publisherFunc is a message.Publisher made of a function.
type publisherFunc func(topic string, msgs ...*message.Message) error

func (f publisherFunc) Publish(topic string, msgs ...*message.Message) error {
	return f(topic, msgs...)
}
func (publisherFunc) Close() error { return nil }

func TestRequesterTellsANotSentCommandFromAnUnansweredOne(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		publish publisherFunc
		want    error
	}{
		{
			name:    "the broker refuses the command",
			publish: func(string, ...*message.Message) error { return faults.Unavailable(errors.New("broker down")) },
			want:    messages.ErrNotSent,
		},
		{
			name: "the broker does not acknowledge within the deadline",
			publish: func(_ string, msgs ...*message.Message) error {
				<-msgs[0].Context().Done() // as the Kafka publisher does: it returns at the deadline
				return msgs[0].Context().Err()
			},
			want: messages.ErrNotSent,
		},
		{
			name:    "the broker takes it and nobody answers",
			publish: func(string, ...*message.Message) error { return nil },
			want:    messages.ErrNoReply,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bus, err := messaging.NewCommandBus(tc.publish, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			r := messaging.Requester{Bus: bus, Hub: messaging.NewReplyHub(), Timeout: 50 * time.Millisecond}
			var res messages.CancelOrderResult
			err = r.Request(context.Background(), messages.CancelOrder{OrderID: "o-1"}, &res)
			require.ErrorIs(t, err, tc.want)
			other := messages.ErrNoReply
			if tc.want == messages.ErrNoReply {
				other = messages.ErrNotSent
			}
			assert.NotErrorIs(t, err, other)
		})
	}
}

// A command sent with Request expires when its sender stops waiting; one sent
// with Submit (an order placed: its 202 stands) never does.
func TestRequesterStampsTheExpiryOfCommandsItStopsWaitingFor(t *testing.T) {
	t.Parallel()
	var sent []*message.Message
	publish := publisherFunc(func(_ string, msgs ...*message.Message) error {
		sent = append(sent, msgs...)
		return nil
	})
	bus, err := messaging.NewCommandBus(publish, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	r := messaging.Requester{Bus: bus, Hub: messaging.NewReplyHub(), Timeout: 50 * time.Millisecond}

	before := time.Now()
	var cancelled messages.CancelOrderResult
	require.ErrorIs(t, r.Request(context.Background(), messages.CancelOrder{OrderID: "o-1"}, &cancelled), messages.ErrNoReply)
	var placed messages.PlaceOrderResult
	require.ErrorIs(t, r.Submit(context.Background(), messages.PlaceOrder{OrderID: "o-2"}, &placed), messages.ErrNoReply)

	require.Len(t, sent, 2)
	at, err := time.Parse(time.RFC3339Nano, sent[0].Metadata.Get(messages.MetadataExpiresAt))
	require.NoError(t, err, "the cancel carries its expiry")
	assert.WithinDuration(t, before.Add(50*time.Millisecond), at, 40*time.Millisecond)
	assert.Empty(t, sent[1].Metadata.Get(messages.MetadataExpiresAt), "an order placed does not expire")
}

// serveReplies runs a gateway router that hands the replies topic to hub,
// until the test ends.
func serveReplies(t *testing.T, ps pubsub.PubSub, hub *messaging.ReplyHub) {
	t.Helper()
	router, err := messaging.NewRouter(messaging.RouterConfig{
		Service: "gateway", PoisonTopic: messages.TopicGatewayPoison, Publisher: ps.Publisher, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	sub, err := ps.NewestSubscriber("gateway.replies")
	require.NoError(t, err)
	router.AddConsumerHandler("gateway.replies", messages.TopicReplies, sub, hub.Handle)
	ctx, stop := context.WithCancel(t.Context())
	t.Cleanup(stop)
	go func() { _ = router.Run(ctx) }()
	<-router.Running()
}
