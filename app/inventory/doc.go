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
package inventory
