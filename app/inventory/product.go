package inventory

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// Errors callers branch on.
var (
	ErrUnknownSKU        = errors.New("unknown SKU")
	ErrInsufficientStock = errors.New("insufficient stock")
	ErrBelowReserved     = errors.New("on-hand stock cannot go below the reserved stock")
	ErrInvalidStock      = fmt.Errorf("%w: invalid stock", messages.ErrInvalid)
)

// Product is the stock of one SKU. Holds maps an order id to the quantity
// reserved for it; Reserved is always their sum and Available never goes below zero.
type Product struct {
	SKU       string
	OnHand    int
	Reserved  int
	Holds     map[string]int
	UpdatedAt time.Time
	// Revision counts changes, for optimistic concurrency (see orders.Order.Revision).
	Revision int64
}

// IsNew reports whether the product does not exist yet.
func (p *Product) IsNew() bool { return p.Revision == 0 }

// Available is what can still be reserved.
func (p *Product) Available() int { return p.OnHand - p.Reserved }

// SetOnHand sets the on-hand quantity. It may not go below what is reserved, or
// available stock would be negative.
func (p *Product) SetOnHand(n int, now time.Time) error {
	if n < 0 || n > messages.MaxOnHand {
		return fmt.Errorf("%w: on_hand %d is outside 0..%d", ErrInvalidStock, n, messages.MaxOnHand)
	}
	if n < p.Reserved {
		return fmt.Errorf("%w: %d reserved, %d requested", ErrBelowReserved, p.Reserved, n)
	}
	if n == p.OnHand && !p.IsNew() {
		return nil
	}
	p.OnHand = n
	p.touch(now)
	return nil
}

// Hold reserves qty for the order. Holding for an order that holds already
// changes nothing: a redelivered reservation counts once.
func (p *Product) Hold(orderID string, qty int, now time.Time) error {
	if _, ok := p.Holds[orderID]; ok {
		return nil
	}
	if qty > p.Available() {
		return fmt.Errorf("%w for %s: requested %d, available %d", ErrInsufficientStock, p.SKU, qty, p.Available())
	}
	if p.Holds == nil {
		p.Holds = map[string]int{}
	}
	p.Holds[orderID] = qty
	p.Reserved += qty
	p.touch(now)
	return nil
}

// Release gives the order's hold back to available stock, if it has one.
func (p *Product) Release(orderID string, now time.Time) {
	qty, ok := p.Holds[orderID]
	if !ok {
		return
	}
	delete(p.Holds, orderID)
	p.Reserved -= qty
	p.touch(now)
}

// Commit takes the order's hold out of the warehouse: on-hand and reserved both go down.
func (p *Product) Commit(orderID string, now time.Time) {
	qty, ok := p.Holds[orderID]
	if !ok {
		return
	}
	delete(p.Holds, orderID)
	p.Reserved -= qty
	p.OnHand -= qty
	p.touch(now)
}

func (p *Product) touch(now time.Time) {
	p.UpdatedAt = now
	p.Revision++
}

// Clone returns a deep copy.
func (p Product) Clone() Product {
	p.Holds = maps.Clone(p.Holds)
	return p
}

// Level converts the product to its contract view.
func (p Product) Level() messages.StockLevel {
	return messages.StockLevel{SKU: p.SKU, OnHand: p.OnHand, Reserved: p.Reserved, Available: p.Available()}
}
