package messaging

import (
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/messages"
)

// dropExpired acks, without handling it, a command whose sender stopped
// waiting for its answer (messages.MetadataExpiresAt has passed): its client
// was told to retry, and asks again with a command of its own.
//
// Without it, every retry of a client whose command timed out added one more
// command for a service that was behind already, and the retries of one
// order wait for each other (one key is handled in order): after an outage
// the chaos suite saw a cancel's attempts queue up behind its earlier ones
// until none was answered within its timeout, for minutes. A value that
// cannot be read is no expiry: the command is handled.
func dropExpired(logger *slog.Logger, now func() time.Time) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			v := msg.Metadata.Get(messages.MetadataExpiresAt)
			if v == "" {
				return h(msg)
			}
			at, err := time.Parse(time.RFC3339Nano, v)
			if err != nil || !now().After(at) {
				return h(msg)
			}
			logger.InfoContext(msg.Context(), "command dropped: its sender stopped waiting for the answer",
				"handler", message.HandlerNameFromCtx(msg.Context()), "message_uuid", msg.UUID,
				"expired_at", v, "late", now().Sub(at).Round(time.Millisecond))
			return nil, nil
		}
	}
}
