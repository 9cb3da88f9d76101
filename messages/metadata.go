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
	// MetadataTraceParent and MetadataTraceState carry the W3C trace context
	// (https://www.w3.org/TR/trace-context/) of the span that published the
	// message, when tracing is on: TraceIDFromTraceParent reads the trace ID.
	MetadataTraceParent = "traceparent"
	MetadataTraceState  = "tracestate"
	// MetadataExpiresAt (RFC 3339, UTC) is when the sender of a command stops
	// waiting for its answer, on a command whose sender told its own client
	// to retry if no answer came (a cancel, a stock change, a courier step,
	// a poison queue action). Its handler drops it, unhandled, once that time
	// has passed: a later attempt asks again, so doing the late one would
	// only load a service that is behind already. A command without it (an
	// order placed: its 202 stands without an answer) is always handled.
	MetadataExpiresAt = "expires_at"
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
	if CorrelationID(ctx) == id {
		return ctx // carried already: most events are published in the context of the message that caused them
	}
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the correlation ID carried by ctx, or "".
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

type traceIDKey struct{}

// WithTraceID returns a context carrying the trace ID (32 lower-case hex
// digits) of the message being handled. The router puts it there for every
// message that carries a trace context, so that a handler or a read model can
// record which trace a step belongs to without knowing OpenTelemetry.
func WithTraceID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, traceIDKey{}, id)
}

// TraceID returns the trace ID carried by ctx, or "" when the message or
// request is not traced.
func TraceID(ctx context.Context) string {
	id, _ := ctx.Value(traceIDKey{}).(string)
	return id
}

// TraceIDFromTraceParent returns the trace ID of a W3C traceparent value
// ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"), or "" when it is
// not one, or the trace ID is the invalid all-zero one.
func TraceIDFromTraceParent(tp string) string {
	// Version 00 is exactly 55 characters; later versions may append fields.
	if len(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' || (len(tp) > 55 && tp[55] != '-') || tp[:2] == "ff" {
		return ""
	}
	if !isLowerHex(tp[:2]) || !isLowerHex(tp[36:52]) || !isLowerHex(tp[53:55]) {
		return ""
	}
	id := tp[3:35]
	if !isLowerHex(id) || id == "00000000000000000000000000000000" {
		return ""
	}
	if tp[:2] == "00" && len(tp) != 55 {
		return ""
	}
	return id
}

func isLowerHex(s string) bool {
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
