package wiring

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/ops"
)

// fakeStall reports a stall that began age before the watchdog asks (taken
// when asked: a parallel subtest may start long after its table was built).
type fakeStall struct {
	age time.Duration
	ok  bool
}

func (f fakeStall) Oldest() (string, time.Time, error, bool) {
	return "orders.inventory_events", time.Now().Add(-f.age), errors.New("publish: circuit breaker is open"), f.ok
}

func TestWatchdog(t *testing.T) {
	t.Parallel()
	up := ops.Check{Name: "kafka", Check: func(context.Context) error { return nil }}
	down := ops.Check{Name: "kafka", Check: func(context.Context) error { return errors.New("connection refused") }}
	long := fakeStall{age: time.Hour, ok: true}
	for _, tc := range []struct {
		name     string
		stall    fakeStall
		deps     []ops.Check
		wantStop bool
	}{
		{name: "nothing stalls", stall: fakeStall{}, deps: []ops.Check{up}},
		{name: "a short stall is waited out", stall: fakeStall{age: time.Second, ok: true}, deps: []ops.Check{up}},
		{name: "a long stall while the broker is down is waited out", stall: long, deps: []ops.Check{up, down}},
		{name: "a long stall while everything answers stops the process", stall: long, deps: []ops.Check{up}, wantStop: true},
		{name: "with no dependency to ask, a long stall stops the process", stall: long, wantStop: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stopped atomic.Pointer[error]
			done := make(chan struct{})
			go func() {
				defer close(done)
				watchdog(ctx, tc.stall, tc.deps, time.Minute, time.Millisecond, slog.New(slog.DiscardHandler), func(err error) {
					stopped.Store(&err)
				})
			}()
			if tc.wantStop {
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("the watchdog did not stop the process")
				}
				require.NotNil(t, stopped.Load())
				assert.ErrorIs(t, *stopped.Load(), ErrStalled)
				assert.ErrorContains(t, *stopped.Load(), "orders.inventory_events")
				return
			}
			// Let it look a few hundred times, then make sure it did nothing.
			deadline := time.After(300 * time.Millisecond)
			select {
			case <-done:
				t.Fatal("the watchdog returned on its own")
			case <-deadline:
			}
			cancel()
			<-done
			assert.Nil(t, stopped.Load())
		})
	}
}
