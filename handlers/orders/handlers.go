// Package orders adapts the orders service's use cases to Watermill: its
// commands (answered through request/reply) and the inventory and delivery
// events it reacts to. Queries are the gateway's view's (handlers/view).
package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/components/requestreply"

	app "github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/handlers"
	"github.com/orderflow/orderflow/messages"
)

// CommandHandlers returns the orders service's command handlers; their answers go through replies.
func CommandHandlers(svc *app.Service, replies requestreply.Backend[any]) []cqrs.CommandHandler {
	return []cqrs.CommandHandler{
		requestreply.NewCommandHandlerWithResult("orders.place_order", replies,
			func(ctx context.Context, cmd *messages.PlaceOrder) (any, error) {
				o, outcome, err := svc.PlaceOrder(ctx, app.PlaceOrder{
					OrderID:       cmd.OrderID,
					CustomerID:    cmd.CustomerID,
					Items:         app.FromMessageItems(cmd.Items),
					CorrelationID: messages.CorrelationID(ctx),
					Capped:        cmd.Capped,
				})
				if errors.Is(err, app.ErrLimitExceeded) {
					return messages.PlaceOrderResult{Outcome: messages.OutcomeLimited, Detail: err.Error()}, nil
				}
				if err != nil {
					return nil, err
				}
				view := app.ToMessage(o)
				if outcome == app.Conflict {
					return messages.PlaceOrderResult{Outcome: messages.OutcomeConflict, Order: &view}, nil
				}
				return messages.PlaceOrderResult{Outcome: messages.OutcomeOK, Order: &view}, nil
			}),
		requestreply.NewCommandHandlerWithResult("orders.cancel_order", replies,
			func(ctx context.Context, cmd *messages.CancelOrder) (any, error) {
				if d := messages.CheckReason(cmd.Reason); d != "" {
					return nil, fmt.Errorf("%w: reason %s", messages.ErrInvalid, d)
				}
				o, err := svc.CancelOrder(ctx, cmd.OrderID, cmd.Reason, messages.CorrelationID(ctx))
				switch {
				case errors.Is(err, app.ErrNotFound):
					return messages.CancelOrderResult{Outcome: messages.OutcomeNotFound}, nil
				case errors.Is(err, app.ErrNotCancellable):
					cur, getErr := svc.GetOrder(ctx, cmd.OrderID)
					if getErr != nil {
						return nil, getErr
					}
					view := app.ToMessage(cur)
					return messages.CancelOrderResult{Outcome: messages.OutcomeConflict, Status: string(cur.Status),
						Detail: fmt.Sprintf("an order that is %s can no longer be cancelled", cur.Status), Order: &view}, nil
				case err != nil:
					return nil, err
				}
				view := app.ToMessage(o)
				return messages.CancelOrderResult{Outcome: messages.OutcomeOK, Status: string(o.Status), Order: &view}, nil
			}),
	}
}

// EventGroups returns the events the orders service reacts to.
func EventGroups(svc *app.Service) []handlers.EventGroup {
	return []handlers.EventGroup{
		{
			Name:  "orders.inventory_events",
			Topic: messages.TopicInventoryEvents,
			Handlers: []cqrs.GroupEventHandler{
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.StockReserved) error {
					if e.OrderID == "" {
						return fmt.Errorf("%w: StockReserved without order_id", messages.ErrInvalid)
					}
					return svc.ConfirmOrder(ctx, e.OrderID, messages.CorrelationID(ctx))
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.StockReservationFailed) error {
					if e.OrderID == "" {
						return fmt.Errorf("%w: StockReservationFailed without order_id", messages.ErrInvalid)
					}
					return svc.RejectOrder(ctx, e.OrderID, e.Failures, messages.CorrelationID(ctx))
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.StockCommitted) error {
					if e.OrderID == "" {
						return fmt.Errorf("%w: StockCommitted without order_id", messages.ErrInvalid)
					}
					return svc.MarkStockSettled(ctx, e.OrderID)
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.StockReleased) error {
					if e.OrderID == "" {
						return fmt.Errorf("%w: StockReleased without order_id", messages.ErrInvalid)
					}
					return svc.MarkStockSettled(ctx, e.OrderID)
				}),
			},
		},
		{
			Name:  "orders.delivery_events",
			Topic: messages.TopicDeliveryEvents,
			Handlers: []cqrs.GroupEventHandler{
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.ShipmentScheduled) error {
					if e.OrderID == "" {
						return fmt.Errorf("%w: ShipmentScheduled without order_id", messages.ErrInvalid)
					}
					return svc.MarkShipmentScheduled(ctx, e.OrderID)
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.ShipmentDispatched) error {
					if e.OrderID == "" {
						return fmt.Errorf("%w: ShipmentDispatched without order_id", messages.ErrInvalid)
					}
					return svc.MarkShipped(ctx, e.OrderID, e.OccurredAt, messages.CorrelationID(ctx))
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.ShipmentDelivered) error {
					if e.OrderID == "" {
						return fmt.Errorf("%w: ShipmentDelivered without order_id", messages.ErrInvalid)
					}
					return svc.MarkDelivered(ctx, e.OrderID, e.DispatchedAt, e.OccurredAt, messages.CorrelationID(ctx))
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.ShipmentFailed) error {
					if e.OrderID == "" {
						return fmt.Errorf("%w: ShipmentFailed without order_id", messages.ErrInvalid)
					}
					return svc.MarkDeliveryFailed(ctx, e.OrderID, e.Reason, e.DispatchedAt, e.OccurredAt, messages.CorrelationID(ctx))
				}),
			},
		},
	}
}

// RunSagaSweeper runs NudgeStuck at once and then every interval until ctx is
// done: an order that waited for another service longer than stuckAfter gets
// the message that moves it on sent again. Each nudge is a warning in the log
// and a call of nudged (the metric); a round that fails is logged and tried
// again at the next tick.
func RunSagaSweeper(ctx context.Context, svc *app.Service, interval, stuckAfter time.Duration, nudged func(app.Nudge), logger *slog.Logger) error {
	return handlers.Every(ctx, interval, func(ctx context.Context) {
		nudges, err := svc.NudgeStuck(ctx, stuckAfter, 100)
		for _, n := range nudges {
			nudged(n)
			logger.WarnContext(ctx, "order stuck: sent again the message that moves it on",
				"order_id", n.OrderID, "status", string(n.Status), "age", n.Age, "nudges", n.Nudges)
		}
		if err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "saga sweep failed; trying again at the next tick", "error", err)
		}
	})
}
