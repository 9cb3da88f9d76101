// Package delivery is the delivery service's domain and use cases: the shipment
// of a confirmed order, its progress (SCHEDULED → DISPATCHED → DELIVERED or
// FAILED, or CANCELLED with its order) and the simulated courier that can
// advance shipments by itself.
package delivery
