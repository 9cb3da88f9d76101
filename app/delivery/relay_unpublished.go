package delivery

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
)

// RelayUnpublished publishes the events of shipment changes still unpublished
// olderThan after they were made, oldest first, up to limit, and marks them
// published. The simulated courier saves a step and then publishes it, with no
// message to redeliver if that publish fails or the process dies: this is what
// publishes such steps. It takes the path of the handlers (publishPending). It
// returns how many events it published, and goes on past a shipment that fails.
func (s *Service) RelayUnpublished(ctx context.Context, olderThan time.Duration, limit int) (int, error) {
	return outbox.Relay(ctx, s.repo.ListUnpublished, s.now().Add(-olderThan), limit, "shipments", func(sh Shipment) (int, error) {
		return len(sh.Unpublished()), s.publishPending(ctx, sh)
	})
}
