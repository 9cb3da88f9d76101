// Package inventory is the inventory service's domain and use cases: stock per
// SKU, and the reservation of an order's lines, all or none, released or
// committed as the order ends.
//
// Reservation across several SKUs works without multi-document transactions:
// each Product records the quantity it holds for each order (so holding,
// releasing and committing are idempotent per product document), and the
// order's Reservation records the decision (RESERVED, FAILED, RELEASED,
// COMMITTED) before the holds are brought in line with it. A crash anywhere
// leaves holds that the redelivered message brings in line with the decision.
//
// Holding, releasing and committing go through Products.Hold, Release and
// Commit, atomic on one product and touching only that order's hold, so a hot
// SKU holding stock for thousands of orders costs no more than an idle one.
// Products.Update, which reads and writes the whole product, is left to the
// rare changes of stock. Order ids are validated (ValidOrderID) because a store
// may key the holds by them.
package inventory
