package messages

import "time"

// Item is one line of an order.
type Item struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// Order statuses, as seen on the wire.
const (
	OrderStatusPending        = "PENDING"
	OrderStatusConfirmed      = "CONFIRMED"
	OrderStatusRejected       = "REJECTED"
	OrderStatusCancelled      = "CANCELLED"
	OrderStatusShipped        = "SHIPPED"
	OrderStatusDelivered      = "DELIVERED"
	OrderStatusDeliveryFailed = "DELIVERY_FAILED"
)

// Outcomes of a request/reply command: a business answer, never an error.
const (
	OutcomeOK       = "ok"
	OutcomeNotFound = "not_found"
	OutcomeConflict = "conflict"
	OutcomeInvalid  = "invalid"
	// OutcomeLimited refuses a PlaceOrder over the customer's open-order caps.
	OutcomeLimited = "limited"
)

// PlaceOrder asks the orders service to store a new order. It is idempotent by
// OrderID: the gateway derives the id from an Idempotency-Key when one is given.
type PlaceOrder struct {
	OrderID    string `json:"order_id"`
	CustomerID string `json:"customer_id"`
	Items      []Item `json:"items"`
	// Capped is set when the customer places the order itself: the orders
	// service then holds it to the caps on a customer's open orders and units
	// (an operator placing on a customer's behalf is trusted).
	Capped bool `json:"capped,omitempty"`
}

// PartitionKey implements Keyed.
func (c PlaceOrder) PartitionKey() string { return c.OrderID }

// PlaceOrderResult answers PlaceOrder. Outcome is conflict when an order with
// this id exists with other contents (an Idempotency-Key reused for another
// order), limited when a capped order would pass the customer's caps.
type PlaceOrderResult struct {
	Outcome string `json:"outcome"`
	Order   *Order `json:"order,omitempty"`
	// Detail says which cap an order over them would pass (outcome limited).
	Detail string `json:"detail,omitempty"`
}

// CancelOrder asks the orders service to cancel an order.
type CancelOrder struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason,omitempty"`
}

// PartitionKey implements Keyed.
func (c CancelOrder) PartitionKey() string { return c.OrderID }

// CancelOrderResult answers CancelOrder: ok (cancelled now or before), not_found, or conflict.
// Order is the order after the command (ok and conflict), which the gateway
// merges into its view so that a client reads its own cancellation at once.
type CancelOrderResult struct {
	Outcome string `json:"outcome"`
	Status  string `json:"status,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Order   *Order `json:"order,omitempty"`
}

// Order is the orders service's view of one order.
type Order struct {
	OrderID    string        `json:"order_id"`
	CustomerID string        `json:"customer_id"`
	Items      []Item        `json:"items"`
	Status     string        `json:"status"`
	Reason     string        `json:"reason,omitempty"`
	History    []StatusEntry `json:"history"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
}

// StatusEntry is one change of status in an order's or a shipment's history.
type StatusEntry struct {
	Status        string    `json:"status"`
	At            time.Time `json:"at"`
	Reason        string    `json:"reason,omitempty"`
	CorrelationID string    `json:"correlation_id"`
}

// OrderPlaced: an order was stored as PENDING.
type OrderPlaced struct {
	OrderID    string    `json:"order_id"`
	CustomerID string    `json:"customer_id"`
	Items      []Item    `json:"items"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e OrderPlaced) PartitionKey() string { return e.OrderID }

// OrderConfirmed: stock was reserved for every line; the order can be shipped.
type OrderConfirmed struct {
	OrderID    string    `json:"order_id"`
	CustomerID string    `json:"customer_id"`
	Items      []Item    `json:"items"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e OrderConfirmed) PartitionKey() string { return e.OrderID }

// OrderRejected: stock could not be reserved; Reason says why.
type OrderRejected struct {
	OrderID    string    `json:"order_id"`
	Reason     string    `json:"reason"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e OrderRejected) PartitionKey() string { return e.OrderID }

// OrderCancelled: the order was cancelled; its stock and its shipment are to be released.
type OrderCancelled struct {
	OrderID    string    `json:"order_id"`
	Reason     string    `json:"reason,omitempty"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e OrderCancelled) PartitionKey() string { return e.OrderID }

// OrderShipped: the order's shipment was dispatched.
type OrderShipped struct {
	OrderID    string    `json:"order_id"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e OrderShipped) PartitionKey() string { return e.OrderID }

// OrderDelivered: the order reached its customer; its reservation is to be committed.
type OrderDelivered struct {
	OrderID    string    `json:"order_id"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e OrderDelivered) PartitionKey() string { return e.OrderID }

// OrderDeliveryFailed: the delivery failed; the order's stock is to be released.
type OrderDeliveryFailed struct {
	OrderID    string    `json:"order_id"`
	Reason     string    `json:"reason"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e OrderDeliveryFailed) PartitionKey() string { return e.OrderID }
