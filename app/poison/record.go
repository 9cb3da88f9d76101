package poison

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// Poisoned is a message read from the service's poison topic.
type Poisoned struct {
	UUID     string
	Payload  []byte
	Metadata map[string]string
}

// Record stores a message of the poison topic as a POISONED entry. It is
// idempotent: the same poison message recorded twice is one entry. The entry's
// id is the poison message's UUID, prefixed with the service unless it is
// already (messages.PoisonEntryID), so that the gateway knows whom to ask.
func (s *Service) Record(ctx context.Context, p Poisoned) (Entry, error) {
	if p.UUID == "" {
		return Entry{}, fmt.Errorf("%w: poisoned message without a UUID", messages.ErrInvalid)
	}
	id := p.UUID
	if owner, ok := messages.PoisonOwner(id); !ok || owner != s.service {
		id = messages.PoisonEntryID(s.service, id)
	}
	md := make(map[string]string, len(p.Metadata))
	for k, v := range p.Metadata {
		// Headers from the wire may be anything; a store keeps text.
		md[strings.ToValidUTF8(k, "\uFFFD")] = strings.ToValidUTF8(v, "\uFFFD")
	}
	at, err := time.Parse(time.RFC3339Nano, md[messages.MetadataPoisonedAt])
	if err != nil {
		// Poisoned by something that does not stamp the time (Watermill's own
		// middleware): the time it is recorded is the best there is.
		at = s.now()
	}
	e := Entry{
		ID:         id,
		Service:    s.service,
		Handler:    md[messages.MetadataPoisonHandler],
		Topic:      md[messages.MetadataPoisonTopic],
		OrderID:    md[messages.MetadataPartitionKey],
		Reason:     md[messages.MetadataPoisonReason],
		Payload:    slices.Clone(p.Payload),
		Metadata:   maps.Clone(md),
		PoisonedAt: at.UTC(),
		Status:     StatusPoisoned,
		Revision:   1,
	}
	if err := s.store.Save(ctx, e); err != nil {
		return Entry{}, fmt.Errorf("record poisoned message %s: %w", id, err)
	}
	return e, nil
}
