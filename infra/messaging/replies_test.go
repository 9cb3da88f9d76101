package messaging_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/stretchr/testify/require"

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

	router, err := messaging.NewRouter(messaging.RouterConfig{
		Service: "gateway", PoisonTopic: messages.TopicGatewayPoison, Publisher: ps.Publisher, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	sub, err := ps.NewestSubscriber("gateway.replies")
	require.NoError(t, err)
	router.AddConsumerHandler("gateway.replies", messages.TopicReplies, sub, hub.Handle)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = router.Run(ctx) }()
	<-router.Running()

	probeCtx, cancelProbe := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelProbe()
	require.NoError(t, hub.Probe(probeCtx, ps.Publisher))
}
