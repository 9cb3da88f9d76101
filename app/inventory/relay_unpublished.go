package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/app/outbox"
)

// RelayUnpublished finishes the reservations whose changes are still
// unpublished olderThan after they were made, oldest first, up to limit: a
// publish that failed, a crash between save and publish, or a message that
// will never come again (poisoned) would otherwise leave stock held and the
// order waiting. It takes the path of the handlers (decide, with no new
// decision), so the holds are settled before the event goes out. It returns how
// many events it published, and goes on past a reservation that fails.
func (s *Service) RelayUnpublished(ctx context.Context, olderThan time.Duration, limit int) (int, error) {
	return outbox.Relay(ctx, s.reservations.ListUnpublished, s.now().Add(-olderThan), limit, "reservations", func(r Reservation) (int, error) {
		cur, err := s.decide(ctx, r.OrderID, func(*Reservation) error { return nil })
		if err != nil {
			return 0, fmt.Errorf("reservation of order %s: %w", r.OrderID, err)
		}
		return len(cur.Unpublished()), nil
	})
}
