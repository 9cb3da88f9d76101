package handlers

import (
	"context"
	"log/slog"
	"time"
)

// Counter counts what a background loop did (a prometheus.Counter is one).
type Counter interface {
	Add(float64)
}

// Relay is a service's RelayUnpublished use case: it publishes the events
// still unpublished olderThan after their change, up to limit aggregates, and
// returns how many it published.
type Relay func(ctx context.Context, olderThan time.Duration, limit int) (int, error)

// relayBatch is how many aggregates one call of a Relay takes, and
// relayBatches how many calls one round makes at most: a backlog (after a
// broker outage) is worked off in bounded rounds, oldest first.
const (
	relayBatch   = 100
	relayBatches = 10
)

// RunOutboxRelay runs the relay at once and then every interval until ctx is
// done, for the events unpublished for longer than after: whatever a failed
// publish, a crash between save and publish or a poisoned message left
// unpublished goes out without waiting for a redelivery that may never come.
// A round that fails is logged and tried again at the next tick.
func RunOutboxRelay(ctx context.Context, relay Relay, interval, after time.Duration, relayed Counter, logger *slog.Logger) error {
	return Every(ctx, interval, func(ctx context.Context) {
		for range relayBatches {
			n, err := relay(ctx, after, relayBatch)
			if n > 0 {
				relayed.Add(float64(n))
				logger.InfoContext(ctx, "relayed events left unpublished", "events", n, "older_than", after)
			}
			if err != nil {
				if ctx.Err() == nil {
					logger.WarnContext(ctx, "outbox relay round failed; trying again at the next tick", "error", err)
				}
				return
			}
			if n == 0 {
				return
			}
		}
	})
}

// Every runs round at once and then every interval until ctx is done. It
// returns nil when ctx is done: a background loop ends with its service.
func Every(ctx context.Context, interval time.Duration, round func(ctx context.Context)) error {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		round(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
