package messages

import (
	"context"
	"errors"
)

// Metadata keys carried by every message (Kafka headers on the wire).
const (
	// MetadataCorrelationID matches watermill's middleware.CorrelationIDMetadataKey.
	MetadataCorrelationID = "correlation_id"
	// MetadataPartitionKey is the key a partitioning publisher uses: the order id or the SKU.
	MetadataPartitionKey = "partition_key"
)

// Keyed is implemented by every command and event: the key that keeps the
// messages of one order (or one SKU) in order on a partitioned broker.
type Keyed interface {
	PartitionKey() string
}

// ErrInvalid marks a message that breaks its contract: retrying it cannot help,
// so it goes straight to the poison queue with the reason.
var ErrInvalid = errors.New("invalid message")

// ErrNoReply means a service did not answer a request/reply command in time: it
// may be down, or still retrying. The command may still take effect later.
var ErrNoReply = errors.New("no reply from the service")

// ErrNotSent means a command could not be handed to the broker (it is down, or
// did not acknowledge within the request's deadline): it may or may not take
// effect, so the client should retry, with the same Idempotency-Key where it has one.
var ErrNotSent = errors.New("the command could not be sent")

type correlationKey struct{}

// WithCorrelationID returns a context carrying the correlation ID, which every
// message published with that context is stamped with.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the correlation ID carried by ctx, or "".
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}
