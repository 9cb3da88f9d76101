package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RelayUnpublished publishes the events of shipment changes still unpublished
// olderThan after they were made, oldest first, up to limit, and marks them
// published. The simulated courier saves a step and then publishes it, with no
// message to redeliver if that publish fails or the process dies: this is what
// publishes such steps. It takes the path of the handlers (publishPending). It
// returns how many events it published, and goes on past a shipment that fails.
func (s *Service) RelayUnpublished(ctx context.Context, olderThan time.Duration, limit int) (int, error) {
	found, err := s.repo.ListUnpublished(ctx, s.now().Add(-olderThan), limit)
	if err != nil {
		return 0, fmt.Errorf("list shipments with unpublished events: %w", err)
	}
	relayed := 0
	var errs []error
	for _, sh := range found {
		if err := s.publishPending(ctx, sh); err != nil {
			errs = append(errs, fmt.Errorf("relay: %w", err))
			continue
		}
		relayed += len(sh.Unpublished())
	}
	return relayed, errors.Join(errs...)
}
