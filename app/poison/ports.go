package poison

import (
	"context"
	"time"
)

// Store keeps a service's poison queue entries. Implementations: infra/memory
// and infra/mongo, held to one contract suite (infra/repotest).
type Store interface {
	// Save stores a new entry. It is idempotent by ID: saving an id that is
	// stored already changes nothing (a poison message delivered twice is one
	// entry, and its redelivery does not undo a requeue).
	Save(ctx context.Context, e Entry) error
	// Get returns the entry or ErrNotFound.
	Get(ctx context.Context, id string) (Entry, error)
	// Update runs fn on the stored entry and saves the result atomically if fn
	// moved its Revision; ErrNotFound when there is none. fn may run more than
	// once when a concurrent writer wins. Update returns the entry as stored after it.
	Update(ctx context.Context, id string, fn func(*Entry) error) (Entry, error)
	// List returns up to q.Limit entries matching q, newest first (PoisonedAt,
	// then ID, descending), starting after q.After when it is set.
	List(ctx context.Context, q ListQuery) ([]Entry, error)
}

// ListQuery selects a page of entries.
type ListQuery struct {
	Status Status // empty: every status
	Limit  int
	After  *Cursor
}

// Cursor is the position after which a page starts: the sort key of the last entry seen.
type Cursor struct {
	PoisonedAt time.Time
	ID         string
}

// Message is what a requeue publishes.
type Message struct {
	// UUID is the UUID the message had when it failed ("" when unknown).
	UUID     string
	Topic    string
	Payload  []byte
	Metadata map[string]string
}

// Republisher puts a message back onto a topic (a Watermill publisher in production).
type Republisher interface {
	Republish(ctx context.Context, m Message) error
}

// StoredOnly is fn for an Update over a store whose read-modify-write hands fn
// a fresh entry (Revision 0) when none is stored, as the memory and MongoDB
// stores do: there, Update of a missing entry is ErrNotFound and stores nothing.
func StoredOnly(fn func(*Entry) error) func(*Entry) error {
	return func(e *Entry) error {
		if e.Revision == 0 {
			return ErrNotFound
		}
		return fn(e)
	}
}
