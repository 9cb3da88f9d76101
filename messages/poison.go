package messages

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Metadata a poisoned message carries on its service's poison topic, beside its
// own payload and metadata. The first four are the keys of Watermill's own
// poison middleware, so entries it poisoned read the same.
const (
	MetadataPoisonReason     = "reason_poisoned"
	MetadataPoisonTopic      = "topic_poisoned"
	MetadataPoisonHandler    = "handler_poisoned"
	MetadataPoisonSubscriber = "subscriber_poisoned"
	MetadataPoisonService    = "service_poisoned"
	MetadataPoisonedAt       = "poisoned_at"
	// MetadataPoisonUUID is the UUID of the message that failed; the poison
	// message has a UUID of its own, the id of its poison queue entry.
	MetadataPoisonUUID = "uuid_poisoned"
	// MetadataPoisonClass is the class of the error that poisoned the message:
	// "permanent" (it can never succeed) or "unknown" (it outlived its retries).
	// Infrastructure faults and stops are never poisoned.
	MetadataPoisonClass = "class_poisoned"
)

// PoisonMetadata lists the metadata keys a poisoning adds: what a requeue takes off again.
func PoisonMetadata() []string {
	return []string{
		MetadataPoisonReason, MetadataPoisonTopic, MetadataPoisonHandler, MetadataPoisonSubscriber,
		MetadataPoisonService, MetadataPoisonedAt, MetadataPoisonUUID, MetadataPoisonClass,
	}
}

// Statuses of a poison queue entry.
const (
	PoisonStatusPoisoned  = "POISONED"
	PoisonStatusRequeued  = "REQUEUED"
	PoisonStatusDiscarded = "DISCARDED"
)

// Actions of PoisonAdmin.
const (
	PoisonActionList       = "list"
	PoisonActionGet        = "get"
	PoisonActionRequeue    = "requeue"
	PoisonActionRequeueAll = "requeue_all"
	PoisonActionDiscard    = "discard"
)

// poisonServices are the services that keep what lands in their poison queue,
// each answering PoisonAdmin on a topic of its own.
var poisonServices = map[string]string{
	"orders":    "orders.commands.poison_admin",
	"inventory": "inventory.commands.poison_admin",
	"delivery":  "delivery.commands.poison_admin",
}

// PoisonServices names the services that keep their poison queue, sorted.
func PoisonServices() []string { return slices.Sorted(maps.Keys(poisonServices)) }

// PoisonAdminTopic returns the topic on which the service answers PoisonAdmin.
func PoisonAdminTopic(service string) (string, error) {
	t, ok := poisonServices[service]
	if !ok {
		return "", fmt.Errorf("%w: no poison queue for service %q", ErrInvalid, service)
	}
	return t, nil
}

// PoisonEntryID makes the id of a poison queue entry: the owning service, a
// dash, and a UUID, so that the gateway knows whom to ask about an id.
func PoisonEntryID(service, uuid string) string { return service + "-" + uuid }

// PoisonOwner returns the service that owns the poison queue entry id.
func PoisonOwner(entryID string) (string, bool) {
	service, rest, ok := strings.Cut(entryID, "-")
	if !ok || rest == "" {
		return "", false
	}
	_, known := poisonServices[service]
	return service, known
}

// MaxListedPayload is how much of each payload a list of poison queue entries
// carries: a page of a hundred entries must fit in one reply on the broker
// (Kafka's default limit is 1 MB). Getting one entry gives its whole payload.
const MaxListedPayload = 4 << 10

// Addressed is implemented by a command that each service answers for itself
// (PoisonAdmin): it is sent on the topic of the service it names, not on one
// topic per command name.
type Addressed interface {
	CommandTopic() (string, error)
}

// PoisonAdmin asks a service about the messages in its poison queue: list them,
// get one, requeue one or all, or discard one.
type PoisonAdmin struct {
	Service string `json:"service"`
	Action  string `json:"action"`
	EntryID string `json:"entry_id,omitempty"`
	// Status, Limit and Cursor select the page of a list.
	Status string `json:"status,omitempty"`
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// PartitionKey implements Keyed: the commands about one entry stay in order.
func (c PoisonAdmin) PartitionKey() string {
	if c.EntryID != "" {
		return c.EntryID
	}
	return c.Service
}

// CommandTopic implements Addressed.
func (c PoisonAdmin) CommandTopic() (string, error) { return PoisonAdminTopic(c.Service) }

// PoisonAdminResult answers PoisonAdmin. Outcome is not_found for an unknown
// entry, conflict for a requeue or discard the entry's status does not allow,
// invalid for an action, status or cursor that cannot be read.
type PoisonAdminResult struct {
	Outcome    string        `json:"outcome"`
	Detail     string        `json:"detail,omitempty"`
	Entry      *PoisonEntry  `json:"entry,omitempty"`
	Entries    []PoisonEntry `json:"entries,omitempty"`
	NextCursor string        `json:"next_cursor,omitempty"`
	// Requeued counts the entries a requeue_all put back.
	Requeued int `json:"requeued,omitempty"`
}

// PoisonEntry is one message of a service's poison queue.
type PoisonEntry struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	Handler string `json:"handler"`
	Topic   string `json:"topic"`
	OrderID string `json:"order_id,omitempty"`
	Reason  string `json:"reason"`
	Payload []byte `json:"payload"`
	// PayloadTruncated marks a payload cut to MaxListedPayload in a list.
	PayloadTruncated bool              `json:"payload_truncated,omitempty"`
	Metadata         map[string]string `json:"metadata"`
	PoisonedAt       time.Time         `json:"poisoned_at"`
	Status           string            `json:"status"`
	RequeuedAt       time.Time         `json:"requeued_at,omitzero"`
	DiscardedAt      time.Time         `json:"discarded_at,omitzero"`
}
