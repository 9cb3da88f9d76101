package inventory

import (
	"errors"
	"fmt"
	"maps"
	"slices"
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

// MaxOrderIDLength bounds an order id that holds stock.
const MaxOrderIDLength = 128

// ValidOrderID reports whether id may hold stock: 1 to MaxOrderIDLength ASCII
// letters, digits, '-' and '_' (the gateway makes UUIDs). A store may use it as
// a field name (MongoDB keys a product's holds by order id), so it never
// contains '.' or '$'.
func ValidOrderID(id string) bool {
	if len(id) == 0 || len(id) > MaxOrderIDLength {
		return false
	}
	for i := range len(id) {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// ValidateOrderID returns an ErrInvalidStock (so messages.ErrInvalid) error
// when id is not a ValidOrderID.
func ValidateOrderID(id string) error {
	if !ValidOrderID(id) {
		return fmt.Errorf("%w: order id %.140q is not 1 to %d letters, digits, '-' or '_'", ErrInvalidStock, id, MaxOrderIDLength)
	}
	return nil
}

// ValidateHold checks what every store's Hold checks before anything else: a
// valid order id and a quantity of at least one.
func ValidateHold(orderID string, qty int) error {
	if err := ValidateOrderID(orderID); err != nil {
		return err
	}
	if qty < 1 {
		return fmt.Errorf("%w: cannot hold %d", ErrInvalidStock, qty)
	}
	return nil
}

// InsufficientStockError is a hold refused because less than the requested
// quantity is available. It matches ErrInsufficientStock.
type InsufficientStockError struct {
	SKU       string
	Requested int
	Available int
}

func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("%v for %s: requested %d, available %d", ErrInsufficientStock, e.SKU, e.Requested, e.Available)
}

// Unwrap makes errors.Is(err, ErrInsufficientStock) true.
func (e *InsufficientStockError) Unwrap() error { return ErrInsufficientStock }

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
	// History records the last MaxStockHistory changes of the on-hand stock
	// by hand (SetStock), and who made them; oldest first.
	History []StockChange
	// LevelPending records that the product changed since its stock level was
	// last published (StockLevelChanged): every change sets it, in the same
	// atomic write, and only publishing the level of the revision stored
	// clears it (Products.MarkLevelPublished). So no level is lost to a crash
	// between the change and its event, and the event of many changes of a
	// busy SKU is one: the level carries the whole state, not a delta.
	LevelPending bool
}

// StockChange is one change of the on-hand stock by hand.
type StockChange struct {
	At     time.Time
	OnHand int
	// By is the principal that made it ("operator:key-1a2b3c4d"), "seed" for the demo catalogue.
	By            string
	CorrelationID string
}

// MaxStockHistory bounds a product's History, which lives in its document.
const MaxStockHistory = 50

// RecordChange appends the current on-hand stock to the history, as set by by.
func (p *Product) RecordChange(by, correlationID string, now time.Time) {
	p.History = append(p.History, StockChange{At: now, OnHand: p.OnHand, By: by, CorrelationID: correlationID})
	if over := len(p.History) - MaxStockHistory; over > 0 {
		p.History = slices.Clone(p.History[over:])
	}
}

// IsNew reports whether the product does not exist yet.
func (p *Product) IsNew() bool { return p.Revision == 0 }

// Available is what can still be reserved.
func (p *Product) Available() int { return p.OnHand - p.Reserved }

// SetOnHand sets the on-hand quantity. It may not go below what is reserved, or
// available stock would be negative.
func (p *Product) SetOnHand(n int, now time.Time) error {
	if d := messages.CheckOnHand(n); d != "" {
		return fmt.Errorf("%w: on_hand %d %s", ErrInvalidStock, n, d)
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
// changes nothing: a redelivered reservation counts once. Not enough stock is
// an *InsufficientStockError; an invalid order id or quantity, ErrInvalidStock.
func (p *Product) Hold(orderID string, qty int, now time.Time) error {
	if err := ValidateHold(orderID, qty); err != nil {
		return err
	}
	if _, ok := p.Holds[orderID]; ok {
		return nil
	}
	if qty > p.Available() {
		return &InsufficientStockError{SKU: p.SKU, Requested: qty, Available: p.Available()}
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
	p.LevelPending = true
}

// Clone returns a deep copy.
func (p Product) Clone() Product {
	p.Holds = maps.Clone(p.Holds)
	p.History = slices.Clone(p.History)
	return p
}

// Level converts the product to its contract view.
func (p Product) Level() messages.StockLevel {
	return messages.StockLevel{SKU: p.SKU, OnHand: p.OnHand, Reserved: p.Reserved, Available: p.Available(), Revision: p.Revision}
}
