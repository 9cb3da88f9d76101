// Package poison adapts a service's poison queue (app/poison) to Watermill: the
// consumer of the service's poison topic that records each message, and the
// PoisonAdmin command the gateway sends (answered through request/reply).
package poison

import (
	"context"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/components/requestreply"
	"github.com/ThreeDotsLabs/watermill/message"

	app "github.com/orderflow/orderflow/app/poison"
	"github.com/orderflow/orderflow/messages"
)

// StoreHandlerName is the consumer group of the service's poison store on its
// poison topic ("orders.poison_store"): stable, never renamed.
func StoreHandlerName(service string) string { return service + ".poison_store" }

// AdminHandlerName is the name of the service's PoisonAdmin handler ("orders.poison_admin").
func AdminHandlerName(service string) string { return service + ".poison_admin" }

// StoreHandler records every message of the service's poison topic. An error
// (the store is down) is returned, so the message is retried: the poison
// middleware never poisons a message of the poison topic itself.
func StoreHandler(svc *app.Service) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		_, err := svc.Record(msg.Context(), app.Poisoned{UUID: msg.UUID, Payload: msg.Payload, Metadata: msg.Metadata})
		return err
	}
}

// CommandHandlers returns the handler of PoisonAdmin for the service.
func CommandHandlers(svc *app.Service, replies requestreply.Backend[any]) []cqrs.CommandHandler {
	return []cqrs.CommandHandler{
		requestreply.NewCommandHandlerWithResult(AdminHandlerName(svc.Name()), replies,
			func(ctx context.Context, cmd *messages.PoisonAdmin) (any, error) {
				if cmd.Service != svc.Name() {
					return messages.PoisonAdminResult{Outcome: messages.OutcomeInvalid,
						Detail: fmt.Sprintf("sent to %s for service %q", svc.Name(), cmd.Service)}, nil
				}
				switch cmd.Action {
				case messages.PoisonActionList:
					return list(ctx, svc, cmd)
				case messages.PoisonActionGet:
					e, err := svc.Get(ctx, cmd.EntryID)
					return entryResult(e, err)
				case messages.PoisonActionRequeue:
					e, err := svc.Requeue(ctx, cmd.EntryID)
					return entryResult(e, err)
				case messages.PoisonActionDiscard:
					e, err := svc.Discard(ctx, cmd.EntryID)
					return entryResult(e, err)
				case messages.PoisonActionRequeueAll:
					n, err := svc.RequeueAll(ctx)
					if err != nil {
						return nil, err
					}
					return messages.PoisonAdminResult{Outcome: messages.OutcomeOK, Requeued: n}, nil
				}
				return messages.PoisonAdminResult{Outcome: messages.OutcomeInvalid, Detail: fmt.Sprintf("unknown action %q", cmd.Action)}, nil
			}),
	}
}

func list(ctx context.Context, svc *app.Service, cmd *messages.PoisonAdmin) (any, error) {
	page, err := svc.List(ctx, app.List{Status: cmd.Status, Limit: cmd.Limit, Cursor: cmd.Cursor})
	if errors.Is(err, app.ErrBadCursor) || errors.Is(err, app.ErrBadStatus) {
		return messages.PoisonAdminResult{Outcome: messages.OutcomeInvalid, Detail: err.Error(), Entries: []messages.PoisonEntry{}}, nil
	}
	if err != nil {
		return nil, err
	}
	res := messages.PoisonAdminResult{Outcome: messages.OutcomeOK, Entries: make([]messages.PoisonEntry, len(page.Entries)), NextCursor: page.NextCursor}
	for i, e := range page.Entries {
		res.Entries[i] = app.ToMessage(e)
		if len(e.Payload) > messages.MaxListedPayload {
			res.Entries[i].Payload = res.Entries[i].Payload[:messages.MaxListedPayload]
			res.Entries[i].PayloadTruncated = true
		}
	}
	return res, nil
}

// entryResult maps the answer of a use case about one entry.
func entryResult(e app.Entry, err error) (any, error) {
	switch {
	case errors.Is(err, app.ErrNotFound):
		return messages.PoisonAdminResult{Outcome: messages.OutcomeNotFound}, nil
	case errors.Is(err, app.ErrNotPoisoned), errors.Is(err, app.ErrNoTopic):
		return messages.PoisonAdminResult{Outcome: messages.OutcomeConflict, Detail: err.Error()}, nil
	case err != nil:
		return nil, err
	}
	view := app.ToMessage(e)
	return messages.PoisonAdminResult{Outcome: messages.OutcomeOK, Entry: &view}, nil
}
