// Package view is the gateway's read model: what the queries of the API answer
// from, fed by the services' events (and by the replies of the gateway's own
// commands, so that a client reads its writes). It holds one document per order
// (its status and history, its reservation, its shipment and its timeline
// across services) and one per SKU (its stock level).
//
// Events reach the view at least once and in no guaranteed order across
// topics: a redelivery, the outbox relay publishing again, a reply merged
// before its event. So every merge is commutative and idempotent, and any
// order of the same facts converges to the same document:
//   - an order's (and a shipment's) statuses each occur at most once in its
//     life: the history is a set keyed by status, ordered by lifecycle rank
//     then time, and the status is the highest-ranked one;
//   - a reservation's outcome keeps what each fact adds (held lines, refused
//     lines) and takes the highest-ranked status;
//   - timeline steps are a set keyed by step, service and SKU;
//   - a stock level carries the product's revision; an older revision never
//     replaces a newer one.
package view
