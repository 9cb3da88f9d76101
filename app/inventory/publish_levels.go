package inventory

import (
	"context"
	"errors"
	"fmt"

	"github.com/orderflow/orderflow/messages"
)

// PublishStockLevels publishes the stock level (StockLevelChanged) of up to
// limit products changed since their level was last published, and marks
// each published at the revision it read: a product changed meanwhile stays
// pending for the next round. With all set, it publishes the level of every
// product (at a start, so that a view rebuilt or wiped learns every SKU,
// those stored before levels were published included). It goes on past a
// product that fails and returns how many levels it published.
//
// Levels are published by this loop, not by the handlers that change the
// stock: the level of a SKU held for a thousand orders a second goes out once
// a round, not a thousand times, and the handlers of orders pay no read of
// the product. The pending mark, written with every change, is what makes it
// an outbox: nothing is lost to a crash, whenever it happens.
func (s *Service) PublishStockLevels(ctx context.Context, limit int, all bool) (int, error) {
	var found []Product
	var err error
	if all {
		found, err = s.products.List(ctx)
	} else {
		found, err = s.products.ListLevelsPending(ctx, limit)
	}
	if err != nil {
		return 0, fmt.Errorf("list products with unpublished stock levels: %w", err)
	}
	published := 0
	var errs []error
	for _, p := range found {
		if err := s.events.Publish(ctx, StockLevelChanged(p)); err != nil {
			errs = append(errs, fmt.Errorf("publish the stock level of %s: %w", p.SKU, err))
			continue
		}
		published++
		if err := s.products.MarkLevelPublished(ctx, p.SKU, p.Revision); err != nil {
			errs = append(errs, fmt.Errorf("mark the stock level of %s published: %w", p.SKU, err))
		}
	}
	return published, errors.Join(errs...)
}

// StockLevelChanged is the event of a product's current level.
func StockLevelChanged(p Product) messages.StockLevelChanged {
	return messages.StockLevelChanged{SKU: p.SKU, OnHand: p.OnHand, Reserved: p.Reserved, Available: p.Available(),
		Revision: p.Revision, OccurredAt: p.UpdatedAt}
}
