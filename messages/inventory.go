package messages

import "time"

// SetStock sets the on-hand quantity of a SKU, creating the SKU if it is new.
type SetStock struct {
	SKU    string `json:"sku"`
	OnHand int    `json:"on_hand"`
	// By is the principal that asked (never a token), recorded in the product's history.
	By string `json:"by,omitempty"`
}

// PartitionKey implements Keyed.
func (c SetStock) PartitionKey() string { return c.SKU }

// StockResult answers SetStock: ok with the levels, or
// conflict (on_hand below what is reserved) with a detail.
type StockResult struct {
	Outcome string      `json:"outcome"`
	Detail  string      `json:"detail,omitempty"`
	Stock   *StockLevel `json:"stock,omitempty"`
}

// StockLevel is the inventory's view of one SKU. Available = OnHand - Reserved.
// Revision is the product's revision: it grows with every change, so of two
// levels of one SKU the one with the higher revision is the later.
type StockLevel struct {
	SKU       string `json:"sku"`
	OnHand    int    `json:"on_hand"`
	Reserved  int    `json:"reserved"`
	Available int    `json:"available"`
	Revision  int64  `json:"revision,omitempty"`
}

// StockLevelChanged: the stock of a SKU changed (set by hand, seeded, or held,
// released or committed for an order); it carries the whole level, so a
// consumer needs none of the earlier ones. The inventory publishes it after
// the change is stored and keeps publishing it until it is (at least once, so
// a consumer may see it again, or an older one after a newer: Revision says
// which is the later). Partition key: the SKU.
type StockLevelChanged struct {
	SKU        string    `json:"sku"`
	OnHand     int       `json:"on_hand"`
	Reserved   int       `json:"reserved"`
	Available  int       `json:"available"`
	Revision   int64     `json:"revision"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e StockLevelChanged) PartitionKey() string { return e.SKU }

// Level returns the level the event carries.
func (e StockLevelChanged) Level() StockLevel {
	return StockLevel{SKU: e.SKU, OnHand: e.OnHand, Reserved: e.Reserved, Available: e.Available, Revision: e.Revision}
}

// Reasons a line of an order could not be reserved.
const (
	ReasonUnknownSKU        = "unknown_sku"
	ReasonInsufficientStock = "insufficient_stock"
)

// LineFailure says why one SKU of an order could not be reserved.
type LineFailure struct {
	SKU       string `json:"sku"`
	Reason    string `json:"reason"`
	Requested int    `json:"requested"`
	Available int    `json:"available"`
}

// StockReserved: every line of the order is reserved.
type StockReserved struct {
	OrderID    string    `json:"order_id"`
	Items      []Item    `json:"items"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e StockReserved) PartitionKey() string { return e.OrderID }

// StockReservationFailed: no line of the order is reserved; Failures says why, per SKU.
type StockReservationFailed struct {
	OrderID    string        `json:"order_id"`
	Failures   []LineFailure `json:"failures"`
	OccurredAt time.Time     `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e StockReservationFailed) PartitionKey() string { return e.OrderID }

// StockReleased: the order's reservation was given back to available stock.
type StockReleased struct {
	OrderID    string    `json:"order_id"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e StockReleased) PartitionKey() string { return e.OrderID }

// StockCommitted: the order was delivered; its reserved stock left the warehouse.
type StockCommitted struct {
	OrderID    string    `json:"order_id"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e StockCommitted) PartitionKey() string { return e.OrderID }
