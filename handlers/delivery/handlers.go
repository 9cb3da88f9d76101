// Package delivery adapts the delivery service's use cases to Watermill: the
// courier commands (answered through request/reply), the order events that
// schedule and call off shipments, and the simulated courier's clock.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/components/requestreply"

	app "github.com/orderflow/orderflow/app/delivery"
	"github.com/orderflow/orderflow/handlers"
	"github.com/orderflow/orderflow/messages"
)

// CommandHandlers returns the delivery service's command handlers.
func CommandHandlers(svc *app.Service, replies requestreply.Backend[any]) []cqrs.CommandHandler {
	return []cqrs.CommandHandler{
		requestreply.NewCommandHandlerWithResult("delivery.dispatch_shipment", replies,
			func(ctx context.Context, cmd *messages.DispatchShipment) (any, error) {
				return courierResult(svc.Dispatch(ctx, cmd.OrderID, messages.CorrelationID(ctx)))
			}),
		requestreply.NewCommandHandlerWithResult("delivery.deliver_shipment", replies,
			func(ctx context.Context, cmd *messages.DeliverShipment) (any, error) {
				return courierResult(svc.Deliver(ctx, cmd.OrderID, messages.CorrelationID(ctx)))
			}),
		requestreply.NewCommandHandlerWithResult("delivery.fail_shipment", replies,
			func(ctx context.Context, cmd *messages.FailShipment) (any, error) {
				return courierResult(svc.Fail(ctx, cmd.OrderID, cmd.Reason, messages.CorrelationID(ctx)))
			}),
	}
}

func courierResult(sh app.Shipment, err error) (any, error) {
	switch {
	case errors.Is(err, app.ErrNotFound):
		return messages.ShipmentCommandResult{Outcome: messages.OutcomeNotFound}, nil
	case errors.Is(err, app.ErrNotAllowed):
		return messages.ShipmentCommandResult{Outcome: messages.OutcomeConflict, Detail: err.Error()}, nil
	case errors.Is(err, messages.ErrInvalid):
		return messages.ShipmentCommandResult{Outcome: messages.OutcomeInvalid, Detail: err.Error()}, nil
	case err != nil:
		return nil, err
	}
	view := app.ToMessage(sh)
	return messages.ShipmentCommandResult{Outcome: messages.OutcomeOK, Status: string(sh.Status), Shipment: &view}, nil
}

// EventGroups returns the events the delivery service reacts to.
func EventGroups(svc *app.Service) []handlers.EventGroup {
	return []handlers.EventGroup{{
		Name:  "delivery.order_events",
		Topic: messages.TopicOrderEvents,
		Handlers: []cqrs.GroupEventHandler{
			cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderConfirmed) error {
				return svc.ScheduleShipment(ctx, e.OrderID, e.CustomerID, messages.CorrelationID(ctx))
			}),
			cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderCancelled) error {
				return svc.CancelShipment(ctx, e.OrderID, messages.CorrelationID(ctx))
			}),
		},
	}}
}

// RunCourier drives the simulated courier until ctx is done: the shipments
// whose next step is due take it, checked every tick. It asks the store for
// due shipments only when a step this service scheduled has fallen due
// (svc.StepDue), and every lookEvery anyway (at least a tick), for the steps
// it cannot know of: scheduled by another instance, or before a restart. So
// an idle courier costs one query per lookEvery, not one per tick. Errors are
// logged and retried at the next look.
func RunCourier(ctx context.Context, svc *app.Service, tick, lookEvery time.Duration, logger *slog.Logger) error {
	lookEvery = max(lookEvery, tick)
	t := time.NewTicker(tick)
	defer t.Stop()
	var looked time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := time.Now()
		if !svc.StepDue() && now.Sub(looked) < lookEvery {
			continue
		}
		looked = now
		for {
			moved, err := svc.AdvanceDue(ctx, 100)
			if err != nil {
				if ctx.Err() == nil {
					logger.ErrorContext(ctx, "courier round failed", "error", err)
				}
				break
			}
			if moved < 100 {
				break
			}
		}
	}
}
