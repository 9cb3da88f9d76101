package inventory

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/messages"
)

// SetStock sets the on-hand stock of a SKU, creating it if it is new, and
// records the change in the product's history with who made it (by) and the
// correlation ID of ctx; setting what is there already records nothing. It
// returns ErrBelowReserved when that would make available stock negative.
func (s *Service) SetStock(ctx context.Context, sku string, onHand int, by string) (Product, error) {
	if !messages.ValidSKU(sku) {
		return Product{}, fmt.Errorf("%w: %q is not a valid SKU", ErrInvalidStock, sku)
	}
	p, err := s.products.Update(ctx, sku, func(p *Product) error {
		before := p.Revision
		now := s.now()
		if err := p.SetOnHand(onHand, now); err != nil {
			return err
		}
		if p.Revision != before {
			p.RecordChange(by, messages.CorrelationID(ctx), now)
		}
		return nil
	})
	if err != nil {
		return Product{}, fmt.Errorf("set stock of %s: %w", sku, err)
	}
	return p, nil
}

// SeedStock creates the SKUs that do not exist yet with the given on-hand
// stock and leaves existing ones alone, so a restart keeps what was changed since.
func (s *Service) SeedStock(ctx context.Context, levels map[string]int) error {
	for sku, onHand := range levels {
		_, err := s.products.Update(ctx, sku, func(p *Product) error {
			if !p.IsNew() {
				return nil
			}
			now := s.now()
			if err := p.SetOnHand(onHand, now); err != nil {
				return err
			}
			p.RecordChange("seed", "", now)
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed stock of %s: %w", sku, err)
		}
	}
	return nil
}

// GetStock returns the stock of one SKU or ErrUnknownSKU.
func (s *Service) GetStock(ctx context.Context, sku string) (Product, error) {
	return s.products.Get(ctx, sku)
}

// ListStock returns the stock of every SKU, sorted by SKU.
func (s *Service) ListStock(ctx context.Context) ([]Product, error) {
	return s.products.List(ctx)
}
