package messages

import "time"

// TopicRetries carries a notice of the retries the services' routers schedule
// (MessageRetried), for the operator's view of an order: one topic shared by
// every service, keyed by the order the retried message is about.
const TopicRetries = "ops.retries"

// MessageRetried tells that a service's handler failed on a message and will
// try it again after Delay. It is a notice, sent best effort: a retry whose
// notice was lost still happens, and a storm of retries of one message sends a
// notice only for its attempts 1, 2, 4, 8, ... (see NoticeRetry).
type MessageRetried struct {
	Service     string `json:"service"`
	Topic       string `json:"topic"`
	Handler     string `json:"handler"`
	MessageUUID string `json:"message_uuid"`
	// OrderID is the order the retried message is about (the order_id of its
	// payload); a message about no order sends no notice.
	OrderID string `json:"order_id"`
	// Attempt counts the retries of the message in this handling, from 1.
	Attempt int `json:"attempt"`
	// Class is the class of the handler's error: "transient" or "unknown".
	Class string `json:"class"`
	Error string `json:"error"`
	// DelayMS is the pause before the retry, in milliseconds.
	DelayMS    int64     `json:"delay_ms"`
	OccurredAt time.Time `json:"occurred_at"`
}

// PartitionKey implements Keyed: the notices of one order stay in order.
func (e MessageRetried) PartitionKey() string { return e.OrderID }

// NoticeRetry reports whether retry attempt (from 1) sends a MessageRetried:
// the powers of two, so that a message retried for an hour (an infrastructure
// fault is retried as long as it lasts) sends a dozen notices, not thousands.
func NoticeRetry(attempt int) bool { return attempt > 0 && attempt&(attempt-1) == 0 }
