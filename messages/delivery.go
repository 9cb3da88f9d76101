package messages

import "time"

// Shipment statuses, as seen on the wire.
const (
	ShipmentStatusScheduled  = "SCHEDULED"
	ShipmentStatusDispatched = "DISPATCHED"
	ShipmentStatusDelivered  = "DELIVERED"
	ShipmentStatusFailed     = "FAILED"
	ShipmentStatusCancelled  = "CANCELLED"
)

// DispatchShipment is the courier picking the parcel up.
type DispatchShipment struct {
	OrderID string `json:"order_id"`
}

// PartitionKey implements Keyed.
func (c DispatchShipment) PartitionKey() string { return c.OrderID }

// DeliverShipment is the courier handing the parcel over.
type DeliverShipment struct {
	OrderID string `json:"order_id"`
}

// PartitionKey implements Keyed.
func (c DeliverShipment) PartitionKey() string { return c.OrderID }

// FailShipment is the courier giving up on a delivery.
type FailShipment struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

// PartitionKey implements Keyed.
func (c FailShipment) PartitionKey() string { return c.OrderID }

// ShipmentCommandResult answers the courier commands: ok, not_found, or conflict
// (a transition the shipment's status does not allow), with the status after it.
// Shipment is the shipment after the command (outcome ok), which the gateway
// merges into its view.
type ShipmentCommandResult struct {
	Outcome  string    `json:"outcome"`
	Status   string    `json:"status,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	Shipment *Shipment `json:"shipment,omitempty"`
}

// Shipment is the delivery service's view of one order's shipment.
type Shipment struct {
	OrderID string        `json:"order_id"`
	Status  string        `json:"status"`
	History []StatusEntry `json:"history"`
}

// ShipmentScheduled: a shipment was created for a confirmed order.
type ShipmentScheduled struct {
	OrderID    string    `json:"order_id"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e ShipmentScheduled) PartitionKey() string { return e.OrderID }

// ShipmentDispatched: the courier picked the parcel up.
type ShipmentDispatched struct {
	OrderID    string    `json:"order_id"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e ShipmentDispatched) PartitionKey() string { return e.OrderID }

// ShipmentDelivered: the parcel reached the customer. DispatchedAt lets a consumer
// that missed ShipmentDispatched still record it.
type ShipmentDelivered struct {
	OrderID      string    `json:"order_id"`
	DispatchedAt time.Time `json:"dispatched_at"`
	OccurredAt   time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e ShipmentDelivered) PartitionKey() string { return e.OrderID }

// ShipmentFailed: the courier gave up on the delivery.
type ShipmentFailed struct {
	OrderID      string    `json:"order_id"`
	Reason       string    `json:"reason"`
	DispatchedAt time.Time `json:"dispatched_at"`
	OccurredAt   time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e ShipmentFailed) PartitionKey() string { return e.OrderID }

// ShipmentCancelled: the shipment was called off because its order was cancelled.
type ShipmentCancelled struct {
	OrderID    string    `json:"order_id"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed.
func (e ShipmentCancelled) PartitionKey() string { return e.OrderID }
