package orders

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
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
	return outbox.Relay(ctx, s.repo.ListUnpublished, s.now().Add(-olderThan), limit, "orders", func(o Order) (int, error) {
		return len(o.Unpublished()), s.publishPending(ctx, o)
	})
}
