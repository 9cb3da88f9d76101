package poison

import (
	"maps"
	"slices"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// Service runs the poison queue use cases of one service, one file each.
type Service struct {
	service string
	store   Store
	pub     Republisher
	now     func() time.Time
}

// NewService returns the Service of the named service's poison queue; now may be nil for time.Now.
func NewService(service string, store Store, pub Republisher, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{service: service, store: store, pub: pub, now: now}
}

// Name is the service whose poison queue this is.
func (s *Service) Name() string { return s.service }

// ToMessage converts an entry to its contract view.
func ToMessage(e Entry) messages.PoisonEntry {
	return messages.PoisonEntry{
		ID:          e.ID,
		Service:     e.Service,
		Handler:     e.Handler,
		Topic:       e.Topic,
		OrderID:     e.OrderID,
		Reason:      e.Reason,
		Payload:     slices.Clone(e.Payload),
		Metadata:    maps.Clone(e.Metadata),
		PoisonedAt:  e.PoisonedAt,
		Status:      string(e.Status),
		RequeuedAt:  e.RequeuedAt,
		DiscardedAt: e.DiscardedAt,
	}
}
