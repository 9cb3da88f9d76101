package poison

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// Status is where an entry is: still poisoned, requeued or discarded.
type Status string

// The statuses of an entry.
const (
	StatusPoisoned  Status = messages.PoisonStatusPoisoned
	StatusRequeued  Status = messages.PoisonStatusRequeued
	StatusDiscarded Status = messages.PoisonStatusDiscarded
)

// ValidStatus reports whether s names a status.
func ValidStatus(s string) bool {
	switch Status(s) {
	case StatusPoisoned, StatusRequeued, StatusDiscarded:
		return true
	}
	return false
}

// Errors callers branch on.
var (
	ErrNotFound = errors.New("poison queue entry not found")
	// ErrNotPoisoned is the business "no" to requeuing or discarding an entry
	// that was requeued or discarded already.
	ErrNotPoisoned = errors.New("poison queue entry is not POISONED")
	// ErrNoTopic is the "no" to requeuing an entry whose original topic is unknown.
	ErrNoTopic = errors.New("poison queue entry has no original topic to requeue to")
)

// Entry is one message a handler gave up on, as its service keeps it.
type Entry struct {
	ID      string
	Service string
	Handler string
	// Topic is the topic the message was read from, where a requeue puts it back.
	Topic string
	// OrderID is the message's partition key: the order (or SKU) it is about.
	OrderID    string
	Reason     string
	Payload    []byte
	Metadata   map[string]string
	PoisonedAt time.Time
	Status     Status
	// RequeuedAt and DiscardedAt are zero until it happens.
	RequeuedAt  time.Time
	DiscardedAt time.Time
	// Revision counts the changes made to the entry; stores use it for
	// optimistic concurrency. A saved entry has Revision 1.
	Revision int64
}

// Clone returns a deep copy.
func (e Entry) Clone() Entry {
	e.Payload = slices.Clone(e.Payload)
	e.Metadata = maps.Clone(e.Metadata)
	return e
}

// MarkRequeued records that the entry's message was put back onto its topic.
func (e *Entry) MarkRequeued(at time.Time) error {
	if e.Status != StatusPoisoned {
		return fmt.Errorf("%w: it is %s", ErrNotPoisoned, e.Status)
	}
	e.Status, e.RequeuedAt = StatusRequeued, at
	e.Revision++
	return nil
}

// Discard marks the entry as dealt with, keeping its record. Discarding a
// discarded entry changes nothing; a requeued one cannot be discarded.
func (e *Entry) Discard(at time.Time) error {
	switch e.Status {
	case StatusDiscarded:
		return nil
	case StatusPoisoned:
		e.Status, e.DiscardedAt = StatusDiscarded, at
		e.Revision++
		return nil
	}
	return fmt.Errorf("%w: it is %s", ErrNotPoisoned, e.Status)
}

// Requeued is the message a requeue publishes: the entry's payload and
// metadata without what the poisoning added, back on its original topic.
func (e Entry) Requeued() Message {
	md := maps.Clone(e.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	uuid := md[messages.MetadataPoisonUUID]
	for _, k := range messages.PoisonMetadata() {
		delete(md, k)
	}
	return Message{UUID: uuid, Topic: e.Topic, Payload: slices.Clone(e.Payload), Metadata: md}
}
