// Package orders is the orders service's domain and use cases: an order's
// lifecycle (PENDING → CONFIRMED → SHIPPED → DELIVERED, or REJECTED, CANCELLED,
// DELIVERY_FAILED) and the reactions to inventory and delivery events.
//
// It knows nothing of Watermill, storage or HTTP: it is driven through Service
// and reaches the outside through the Repository and EventPublisher ports.
package orders
