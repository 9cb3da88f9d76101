package orders

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RelayUnpublished publishes the events of changes still unpublished olderThan
// after they were made, oldest first, up to limit orders, and marks them
// published: a publish that failed, a crash between save and publish, or a
// message that will never come again (poisoned) would otherwise leave them
// unpublished until some other message touches the order. It takes the path
// the handlers take (publishPending); an event published twice, by a handler
// and the relay at once, is deduplicated by its consumers' state. It returns
// how many events it published, and goes on past an order that fails.
func (s *Service) RelayUnpublished(ctx context.Context, olderThan time.Duration, limit int) (int, error) {
	found, err := s.repo.ListUnpublished(ctx, s.now().Add(-olderThan), limit)
	if err != nil {
		return 0, fmt.Errorf("list orders with unpublished events: %w", err)
	}
	relayed := 0
	var errs []error
	for _, o := range found {
		if err := s.publishPending(ctx, o); err != nil {
			errs = append(errs, fmt.Errorf("relay: %w", err))
			continue
		}
		relayed += len(o.Unpublished())
	}
	return relayed, errors.Join(errs...)
}
