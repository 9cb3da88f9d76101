package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/infra/ops"
)

// stallReporter is what the watchdog reads of messaging.Stalls.
type stallReporter interface {
	Oldest() (handler string, since time.Time, err error, ok bool)
}

var _ stallReporter = (*messaging.Stalls)(nil)

// ErrStalled is the cause a process stops with when the watchdog gives up on it.
var ErrStalled = fmt.Errorf("stalled")

// watchdog makes the process crash-only: a handler that has waited out an
// infrastructure fault for longer than after, while every dependency check
// (the broker, the store) answers, means something in this process does not
// recover by itself (a producer or a connection pool stuck in a bad state).
// Then it calls stop with ErrStalled, so the process exits non-zero and its
// supervisor starts it afresh. While a dependency is down, waiting is right:
// restarting would not bring it back. It returns when ctx is done.
func watchdog(ctx context.Context, stalls stallReporter, deps []ops.Check, after, tick time.Duration,
	logger *slog.Logger, stop context.CancelCauseFunc) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		handler, since, err, ok := stalls.Oldest()
		if !ok || time.Since(since) < after {
			continue
		}
		if down := firstFailing(ctx, deps); down != nil {
			logger.Warn("a handler waits on a dependency that is down; waiting on",
				"handler", handler, "waiting", time.Since(since).Round(time.Second), "dependency", down)
			continue
		}
		cause := fmt.Errorf("%w: handler %s has failed for %s although the broker and the store answer (last error: %v); "+
			"exiting so that a supervisor restarts the process", ErrStalled, handler, time.Since(since).Round(time.Second), err)
		logger.Error(cause.Error())
		stop(cause)
		return
	}
}

func firstFailing(ctx context.Context, deps []ops.Check) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, d := range deps {
		if err := d.Check(ctx); err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
	}
	return nil
}
