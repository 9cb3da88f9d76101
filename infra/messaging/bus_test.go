package messaging_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/infra/pubsub"
	"github.com/orderflow/orderflow/messages"
)

// An event group hands each event to the handlers of its type, in the order
// they were given, each with an event of its own and the original message in
// the context; events no handler takes are acked and pass.
func TestEventGroupDispatchesByEventType(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	ps := pubsub.NewGoChannel(watermill.NopLogger{})
	t.Cleanup(func() { _ = ps.Close() })
	router, err := messaging.NewRouter(messaging.RouterConfig{
		Service: "inventory", PoisonTopic: messages.TopicInventoryPoison, Publisher: ps.Publisher, Logger: logger,
	})
	require.NoError(t, err)
	procs, err := messaging.NewProcessors(router, ps, logger)
	require.NoError(t, err)

	var mu sync.Mutex
	var seen []string
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, s)
	}
	require.NoError(t, procs.AddEventGroup("inventory.order_events", messages.TopicOrderEvents,
		cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderPlaced) error {
			if cqrs.OriginalMessageFromCtx(ctx) == nil {
				note("no original message")
			}
			note("placed-1 " + e.OrderID)
			e.OrderID = "changed" // the next handler gets an event of its own
			return nil
		}),
		cqrs.NewGroupEventHandler(func(_ context.Context, e *messages.OrderCancelled) error {
			note("cancelled " + e.OrderID)
			return nil
		}),
		cqrs.NewGroupEventHandler(func(_ context.Context, e *messages.OrderPlaced) error {
			note("placed-2 " + e.OrderID)
			return nil
		}),
	))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = router.Run(ctx) }()
	<-router.Running()

	bus, err := messaging.NewEventBus(ps.Publisher, logger)
	require.NoError(t, err)
	require.NoError(t, bus.Publish(ctx, &messages.OrderConfirmed{OrderID: "o-0"})) // nobody here takes it
	require.NoError(t, bus.Publish(ctx, &messages.OrderPlaced{OrderID: "o-1"}))
	waitSeen := func(n int) {
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) >= n
		}, 10*time.Second, time.Millisecond)
	}
	waitSeen(2)
	require.NoError(t, bus.Publish(ctx, &messages.OrderCancelled{OrderID: "o-1"}))
	want := []string{"placed-1 o-1", "placed-2 o-1", "cancelled o-1"}
	waitSeen(len(want))
	drainCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	require.NoError(t, ps.Drain(drainCtx), "every event acked, the one nobody takes included")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, want, seen)
}

func TestEventGroupRejectsAHandlerOfAValue(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	ps := pubsub.NewGoChannel(watermill.NopLogger{})
	t.Cleanup(func() { _ = ps.Close() })
	router, err := messaging.NewRouter(messaging.RouterConfig{Service: "s", PoisonTopic: "s.poison", Publisher: ps.Publisher, Logger: logger})
	require.NoError(t, err)
	procs, err := messaging.NewProcessors(router, ps, logger)
	require.NoError(t, err)
	require.Error(t, procs.AddEventGroup("g", "t", valueHandler{}))
}

type valueHandler struct{}

func (valueHandler) NewEvent() any                     { return messages.OrderPlaced{} }
func (valueHandler) Handle(context.Context, any) error { return nil }
