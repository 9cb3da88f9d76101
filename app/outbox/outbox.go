// Package outbox is what the services' domains share: an aggregate's history
// doubles as its outbox, each entry recording whether its event was published.
//
// Saving a change and publishing its event cannot be one atomic step without a
// transaction across the store and the broker. So the change is saved with an
// unpublished entry, its event is published, the entry is marked, and only then
// is the triggering message acked: whichever delivery touches the aggregate
// next publishes what a crash left unpublished, and each service's relay
// publishes what is still unpublished after a grace period (a failed publish, a
// crash, a message that will never come again). Consumers deduplicate by state.
//
// It knows no service; each aggregate passes accessors for its own entry type.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// Pending returns the entries whose event is not published yet, oldest first.
func Pending[E any](history []E, published func(E) bool) []E {
	var out []E
	for _, e := range history {
		if !published(e) {
			out = append(out, e)
		}
	}
	return out
}

// OldestPending returns the earliest time among the entries whose event is not
// published yet, or the zero time when every event is published. Stores keep it
// beside the aggregate so that a relay finds what is left unpublished without
// reading every history.
func OldestPending[E any](history []E, published func(E) bool, at func(E) time.Time) time.Time {
	var oldest time.Time
	for _, e := range history {
		if published(e) {
			continue
		}
		if t := at(e); oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	return oldest
}

// MarkFirst marks the first n entries published and reports whether any was not.
func MarkFirst[E any](history []E, n int, published func(*E) *bool) bool {
	changed := false
	for i := 0; i < n && i < len(history); i++ {
		if p := published(&history[i]); !*p {
			*p = true
			changed = true
		}
	}
	return changed
}

// Publisher publishes domain events (watermill's cqrs.EventBus in production).
type Publisher interface {
	Publish(ctx context.Context, event any) error
}

// Publish publishes the event of each entry, in order, each with the
// correlation ID of the change that caused it.
func Publish[E any](ctx context.Context, pub Publisher, pending []E, correlationID func(E) string, event func(E) any) error {
	for _, e := range pending {
		ev := event(e)
		if err := pub.Publish(messages.WithCorrelationID(ctx, correlationID(e)), ev); err != nil {
			return fmt.Errorf("publish %T: %w", ev, err)
		}
	}
	return nil
}

// Relay is a relay's round (see each service's RelayUnpublished): it lists
// with list up to limit aggregates with events left unpublished since before
// (what names them in errors: "orders"), and finishes each one: finish
// publishes what is pending through the handlers' own path and says how many
// events. It goes on past an aggregate that fails, and returns how many events
// it published.
func Relay[A any](ctx context.Context, list func(context.Context, time.Time, int) ([]A, error), before time.Time, limit int,
	what string, finish func(A) (int, error),
) (int, error) {
	found, err := list(ctx, before, limit)
	if err != nil {
		return 0, fmt.Errorf("list %s with unpublished events: %w", what, err)
	}
	relayed := 0
	var errs []error
	for _, a := range found {
		n, err := finish(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("relay: %w", err))
			continue
		}
		relayed += n
	}
	return relayed, errors.Join(errs...)
}

// Flush publishes the events of an aggregate's pending entries through Publish,
// then marks them published with markPublished (a store update that marks the
// entries the aggregate had). Each service's handlers and relay take this one
// path; what names the aggregate in errors ("order o-1").
func Flush[E any](ctx context.Context, pub Publisher, what string, pending []E,
	correlationID func(E) string, event func(E) any, markPublished func(context.Context) error,
) error {
	if len(pending) == 0 {
		return nil
	}
	if err := Publish(ctx, pub, pending, correlationID, event); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := markPublished(ctx); err != nil {
		return fmt.Errorf("mark events of %s published: %w", what, err)
	}
	return nil
}
