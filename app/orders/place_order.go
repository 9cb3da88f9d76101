package orders

import (
	"context"
	"errors"
	"fmt"
)

// ErrLimitExceeded refuses an order that would take a customer past its caps
// on open orders or units; the error says which.
var ErrLimitExceeded = errors.New("open-order limit exceeded")

// Limits caps what one customer may have in open (not final) orders, so that
// no customer can take a SKU's whole stock by volume; a zero field is no cap.
type Limits struct {
	MaxOpenOrders int
	MaxOpenUnits  int
}

// openStatuses are the statuses of an order that still holds or awaits stock.
var openStatuses = []Status{StatusPending, StatusConfirmed, StatusShipped}

// maxOpenScanned bounds the orders read per status to sum a customer's open
// units when only the units are capped.
const maxOpenScanned = 1000

// PlaceOrder is the input of Service.PlaceOrder.
type PlaceOrder struct {
	OrderID       string
	CustomerID    string
	Items         []Item
	CorrelationID string
	// Capped holds the order to the service's Limits (the customer placed it itself).
	Capped bool
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
	if cmd.Capped {
		if err := s.checkLimits(ctx, cmd); err != nil {
			return Order{}, 0, err
		}
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

// checkLimits refuses a new order that would take its customer past the
// caps; a retry of an order already stored is never refused. The check reads
// before the order is written, so orders of one customer placed at the same
// instant may pass a cap by the number in flight: a soft cap.
func (s *Service) checkLimits(ctx context.Context, cmd PlaceOrder) error {
	if s.limits.MaxOpenOrders <= 0 && s.limits.MaxOpenUnits <= 0 {
		return nil
	}
	refusal, err := s.overLimits(ctx, cmd)
	if err != nil || refusal == nil {
		return err
	}
	// Only a refusal asks whether the order is stored already (a retry): the
	// orders that pass, nearly all, cost no read of it.
	if _, err := s.repo.Get(ctx, cmd.OrderID); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("check limits: %w", err)
	}
	return refusal
}

// overLimits returns the refusal of an order that would take its customer past
// the caps, counting the customer's open orders, or nil.
func (s *Service) overLimits(ctx context.Context, cmd PlaceOrder) (refusal, err error) {
	scan := maxOpenScanned
	if s.limits.MaxOpenOrders > 0 {
		scan = s.limits.MaxOpenOrders + 1
	}
	orders, units := 0, 0
	for _, st := range openStatuses {
		found, err := s.repo.List(ctx, ListQuery{CustomerID: cmd.CustomerID, Status: st, Limit: scan})
		if err != nil {
			return nil, fmt.Errorf("check limits: %w", err)
		}
		for _, o := range found {
			orders++
			for _, it := range o.Items {
				units += it.Quantity
			}
		}
	}
	adding := 0
	for _, it := range cmd.Items {
		adding += it.Quantity
	}
	if s.limits.MaxOpenOrders > 0 && orders+1 > s.limits.MaxOpenOrders {
		return fmt.Errorf("%w: customer %s has %d open orders, the most allowed is %d; wait until some are delivered, rejected or cancelled",
			ErrLimitExceeded, cmd.CustomerID, orders, s.limits.MaxOpenOrders), nil
	}
	if s.limits.MaxOpenUnits > 0 && units+adding > s.limits.MaxOpenUnits {
		return fmt.Errorf("%w: customer %s has %d units in open orders and this order adds %d, the most allowed is %d",
			ErrLimitExceeded, cmd.CustomerID, units, adding, s.limits.MaxOpenUnits), nil
	}
	return nil, nil
}
