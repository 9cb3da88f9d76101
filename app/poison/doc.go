// Package poison is a service's poison queue as something an operator can act
// on: every message a handler of the service gave up on is recorded as an
// Entry (payload, metadata, reason, handler, topic, order, time), listed,
// requeued onto its original topic once, or discarded, and never deleted.
//
// Each stateful service keeps its own entries (infra/memory or infra/mongo,
// like its other data), fed from its poison topic. It knows nothing of
// Watermill, storage or HTTP: it is driven through Service and reaches the
// outside through the Store and Republisher ports.
package poison
