package orders

import (
	"context"
	"fmt"
)

// PlaceOrder is the input of Service.PlaceOrder.
type PlaceOrder struct {
	OrderID       string
	CustomerID    string
	Items         []Item
	CorrelationID string
}

// PlaceOutcome tells what PlaceOrder did.
type PlaceOutcome int

// Outcomes of PlaceOrder.
const (
	Placed    PlaceOutcome = iota // a new order was stored
	Duplicate                     // the same order was placed before: nothing changed
	Conflict                      // an order with this id and other contents exists
)

// PlaceOrder stores a new PENDING order and publishes OrderPlaced. It is
// idempotent by order id.
func (s *Service) PlaceOrder(ctx context.Context, cmd PlaceOrder) (Order, PlaceOutcome, error) {
	if cmd.OrderID == "" {
		return Order{}, 0, fmt.Errorf("%w: missing order id", ErrInvalidOrder)
	}
	if err := ValidateItems(cmd.CustomerID, cmd.Items); err != nil {
		return Order{}, 0, err
	}
	var outcome PlaceOutcome
	o, err := s.update(ctx, cmd.OrderID, func(o *Order) error {
		if !o.IsNew() {
			outcome = Conflict
			if o.SameAs(cmd.CustomerID, cmd.Items) {
				outcome = Duplicate
			}
			return nil
		}
		outcome = Placed
		return o.Place(cmd.CustomerID, cmd.Items, s.now(), cmd.CorrelationID)
	})
	if err != nil {
		return Order{}, 0, fmt.Errorf("place order %s: %w", cmd.OrderID, err)
	}
	return o, outcome, nil
}
