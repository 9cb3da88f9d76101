package handlers_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/handlers"
)

type counter struct{ n atomic.Int64 }

func (c *counter) Add(v float64) { c.n.Add(int64(v)) }

// The first round runs at once, not a tick later: the relay finishes what a
// crash left as soon as the service starts.
func TestEvery_runsAtOnceAndStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	rounds := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- handlers.Every(ctx, time.Hour, func(context.Context) {
			select {
			case rounds <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-rounds:
	case <-time.After(5 * time.Second):
		t.Fatal("no round at start")
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Every did not stop with its context")
	}
}

func TestRunOutboxRelay_worksOffABacklogInBoundedBatchesAndCountsIt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		results   []int // events relayed by each call; then 0
		failAt    int   // the call that fails (-1: none)
		wantCalls int
		wantCount int64
	}{
		{"nothing to relay", nil, -1, 1, 0},
		{"one batch", []int{3}, -1, 2, 3},
		{"a backlog", []int{100, 100, 7}, -1, 4, 207},
		{"a backlog larger than a round", []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, -1, 10, 10},
		{"a failing call ends the round, its events are counted", []int{100, 5}, 1, 2, 105},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var mu sync.Mutex
			calls := 0
			relayed := &counter{}
			relay := func(_ context.Context, olderThan time.Duration, limit int) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				assert.Equal(t, 2*time.Second, olderThan)
				assert.Positive(t, limit)
				i := calls
				calls++
				n := 0
				if i < len(tt.results) {
					n = tt.results[i]
				}
				if i == tt.wantCalls-1 {
					cancel() // one round only
				}
				if i == tt.failAt {
					return n, errors.New("broker unavailable")
				}
				return n, nil
			}

			err := handlers.RunOutboxRelay(ctx, relay, time.Hour, 2*time.Second, relayed, slog.New(slog.DiscardHandler))

			require.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, tt.wantCalls, calls)
			assert.Equal(t, tt.wantCount, relayed.n.Load())
		})
	}
}
