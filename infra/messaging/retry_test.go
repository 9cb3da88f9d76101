package messaging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/faults"
	"github.com/orderflow/orderflow/messages"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func fastRetry() RetryConfig {
	return RetryConfig{MaxRetries: 3, InitialInterval: time.Microsecond, MaxInterval: 50 * time.Microsecond}
}

// failing returns a handler that fails with err on its first n calls, and counts them.
func failing(n int, err error, calls *atomic.Int32) message.HandlerFunc {
	return func(*message.Message) ([]*message.Message, error) {
		if int(calls.Add(1)) <= n {
			return nil, err
		}
		return nil, nil
	}
}

func TestRetryByClass(t *testing.T) {
	t.Parallel()
	unknown := errors.New("something odd")
	for _, tc := range []struct {
		name      string
		err       error
		failures  int
		wantCalls int32
		wantErr   bool
		poisoned  bool
	}{
		{name: "a permanent error is given up at once", err: fmt.Errorf("%w: no order id", messages.ErrInvalid), failures: 100, wantCalls: 1, wantErr: true, poisoned: true},
		{name: "an unknown error is retried MaxRetries times", err: unknown, failures: 100, wantCalls: 4, wantErr: true, poisoned: true},
		{name: "an unknown error that clears within the retries succeeds", err: unknown, failures: 2, wantCalls: 3},
		{name: "an infrastructure fault is retried past MaxRetries until it clears", err: faults.Unavailable(errors.New("broker down")), failures: 50, wantCalls: 51},
		{name: "a deadline is an infrastructure fault", err: fmt.Errorf("publish: %w", context.DeadlineExceeded), failures: 20, wantCalls: 21},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			h := retry(fastRetry(), NewStalls(), quiet, nil)(failing(tc.failures, tc.err, &calls))
			_, err := h(message.NewMessage("m-1", nil))
			assert.Equal(t, tc.wantCalls, calls.Load())
			if !tc.wantErr {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.poisoned, ShouldPoison(err))
		})
	}
}

func TestRetryRecordsTheStallWhileWaitingOnTheInfrastructure(t *testing.T) {
	t.Parallel()
	stalls := NewStalls()
	release := make(chan struct{})
	var calls atomic.Int32
	h := retry(fastRetry(), stalls, quiet, nil)(func(*message.Message) ([]*message.Message, error) {
		calls.Add(1)
		select {
		case <-release:
			return nil, nil
		default:
			return nil, faults.Unavailable(errors.New("store unreachable"))
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := h(message.NewMessage("m-1", nil))
		done <- err
	}()
	require.Eventually(t, func() bool { return stalls.Check(context.Background()) != nil }, 5*time.Second, time.Millisecond,
		"the process is not ready while a handler waits")
	assert.ErrorContains(t, stalls.Check(context.Background()), "store unreachable")
	close(release)
	require.NoError(t, <-done)
	assert.NoError(t, stalls.Check(context.Background()), "ready again once the handler got through")
	assert.Greater(t, calls.Load(), int32(1))
}

func TestRetryStopsWithoutPoisoningWhenTheMessageContextEnds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{name: "while waiting out an infrastructure fault", err: faults.Unavailable(errors.New("broker down"))},
		{name: "while retrying an unknown error", err: errors.New("something odd")},
		{name: "when the handler itself saw the cancellation", err: fmt.Errorf("save: %w", context.Canceled)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stalls := NewStalls()
			cfg := RetryConfig{MaxRetries: 1000, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}
			ctx, cancel := context.WithCancel(context.Background())
			var calls atomic.Int32
			h := retry(cfg, stalls, quiet, nil)(func(*message.Message) ([]*message.Message, error) {
				if calls.Add(1) == 3 {
					cancel() // the subscriber closes: a stop
				}
				return nil, tc.err
			})
			msg := message.NewMessage("m-1", nil)
			msg.SetContext(ctx)
			_, err := h(msg)
			require.Error(t, err)
			assert.Equal(t, faults.Shutdown, faults.Classify(err), "%v", err)
			assert.False(t, ShouldPoison(err), "a stop never poisons a message")
			assert.NoError(t, stalls.Check(context.Background()), "the stall ends with the handler")
		})
	}
}

func TestDelayDoublesUpToTheCap(t *testing.T) {
	t.Parallel()
	cfg := RetryConfig{InitialInterval: 10 * time.Millisecond, MaxInterval: 100 * time.Millisecond}
	for n, want := range []time.Duration{10, 20, 40, 80, 100, 100} {
		want *= time.Millisecond
		for range 20 {
			d := cfg.delay(n)
			assert.InDelta(t, float64(want), float64(d), float64(want)*0.2+1, "retry %d", n)
		}
	}
	assert.LessOrEqual(t, cfg.delay(200), 120*time.Millisecond, "no overflow for large attempts")
}
