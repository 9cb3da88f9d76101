package pubsub

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/faults"
)

type stuckPublisher struct {
	err     error
	release chan struct{}
}

func (p stuckPublisher) Publish(string, ...*message.Message) error {
	if p.release != nil {
		<-p.release
	}
	return p.err
}
func (stuckPublisher) Close() error { return nil }

func TestKafkaPublishReturnsAtTheDeadlineAndMarksBrokerErrors(t *testing.T) {
	t.Parallel()

	t.Run("a producer stuck past the deadline", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		defer close(release)
		p := prefixedPublisher{Publisher: stuckPublisher{release: release}, prefix: "x."}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		msg := message.NewMessage("m", nil)
		msg.SetContext(ctx)
		err := p.Publish("orders.events", msg)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, faults.Transient, faults.Classify(err))
	})

	t.Run("a stop abandons the publish without poisoning", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		defer close(release)
		p := prefixedPublisher{Publisher: stuckPublisher{release: release}}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		msg := message.NewMessage("m", nil)
		msg.SetContext(ctx)
		assert.Equal(t, faults.Shutdown, faults.Classify(p.Publish("orders.events", msg)))
	})

	t.Run("an error of the producer", func(t *testing.T) {
		t.Parallel()
		p := prefixedPublisher{Publisher: stuckPublisher{err: errors.New("circuit breaker is open")}}
		err := p.Publish("orders.events", message.NewMessage("m", nil))
		require.ErrorIs(t, err, faults.ErrUnavailable)
		assert.ErrorContains(t, err, "circuit breaker is open")
	})

	t.Run("a publish that succeeds", func(t *testing.T) {
		t.Parallel()
		p := prefixedPublisher{Publisher: stuckPublisher{}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		msg := message.NewMessage("m", nil)
		msg.SetContext(ctx)
		assert.NoError(t, p.Publish("orders.events", msg))
	})
}
