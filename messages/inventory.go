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

// GetStock asks for the stock levels of one SKU.
type GetStock struct {
	SKU string `json:"sku"`
}

// PartitionKey implements Keyed.
func (c GetStock) PartitionKey() string { return c.SKU }

// ListStock asks for the stock levels of every SKU.
type ListStock struct{}

// PartitionKey implements Keyed.
func (c ListStock) PartitionKey() string { return "" }

// StockResult answers SetStock and GetStock: ok with the levels, not_found, or
// conflict (on_hand below what is reserved) with a detail.
type StockResult struct {
	Outcome string      `json:"outcome"`
	Detail  string      `json:"detail,omitempty"`
	Stock   *StockLevel `json:"stock,omitempty"`
}

// ListStockResult answers ListStock, sorted by SKU.
type ListStockResult struct {
	Stock []StockLevel `json:"stock"`
}

// StockLevel is the inventory's view of one SKU. Available = OnHand - Reserved.
type StockLevel struct {
	SKU       string `json:"sku"`
	OnHand    int    `json:"on_hand"`
	Reserved  int    `json:"reserved"`
	Available int    `json:"available"`
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
