// Package inventory adapts the inventory service's use cases to Watermill: its
// stock commands (answered through request/reply) and the order events it
// reserves, releases and commits stock on.
package inventory

import (
	"context"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/components/requestreply"

	app "github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/handlers"
	"github.com/orderflow/orderflow/messages"
)

// CommandHandlers returns the inventory service's command handlers.
func CommandHandlers(svc *app.Service, replies requestreply.Backend[any]) []cqrs.CommandHandler {
	return []cqrs.CommandHandler{
		requestreply.NewCommandHandlerWithResult("inventory.set_stock", replies,
			func(ctx context.Context, cmd *messages.SetStock) (any, error) {
				p, err := svc.SetStock(ctx, cmd.SKU, cmd.OnHand, cmd.By)
				switch {
				case errors.Is(err, app.ErrBelowReserved):
					cur, getErr := svc.GetStock(ctx, cmd.SKU)
					if getErr != nil {
						return nil, getErr
					}
					level := cur.Level()
					return messages.StockResult{Outcome: messages.OutcomeConflict, Detail: err.Error(), Stock: &level}, nil
				case errors.Is(err, messages.ErrInvalid):
					return messages.StockResult{Outcome: messages.OutcomeInvalid, Detail: err.Error()}, nil
				case err != nil:
					return nil, err
				}
				level := p.Level()
				return messages.StockResult{Outcome: messages.OutcomeOK, Stock: &level}, nil
			}),
		requestreply.NewCommandHandlerWithResult("inventory.get_stock", replies,
			func(ctx context.Context, cmd *messages.GetStock) (any, error) {
				p, err := svc.GetStock(ctx, cmd.SKU)
				if errors.Is(err, app.ErrUnknownSKU) {
					return messages.StockResult{Outcome: messages.OutcomeNotFound}, nil
				}
				if err != nil {
					return nil, err
				}
				level := p.Level()
				return messages.StockResult{Outcome: messages.OutcomeOK, Stock: &level}, nil
			}),
		requestreply.NewCommandHandlerWithResult("inventory.list_stock", replies,
			func(ctx context.Context, _ *messages.ListStock) (any, error) {
				all, err := svc.ListStock(ctx)
				if err != nil {
					return nil, err
				}
				res := messages.ListStockResult{Stock: make([]messages.StockLevel, len(all))}
				for i, p := range all {
					res.Stock[i] = p.Level()
				}
				return res, nil
			}),
	}
}

// EventGroups returns the events the inventory service reacts to.
func EventGroups(svc *app.Service) []handlers.EventGroup {
	release := func(ctx context.Context, orderID, event string) error {
		if orderID == "" {
			return fmt.Errorf("%w: %s without order_id", messages.ErrInvalid, event)
		}
		return svc.ReleaseStock(ctx, orderID, messages.CorrelationID(ctx))
	}
	return []handlers.EventGroup{{
		Name:  "inventory.order_events",
		Topic: messages.TopicOrderEvents,
		Handlers: []cqrs.GroupEventHandler{
			cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderPlaced) error {
				lines := make([]app.Line, len(e.Items))
				for i, it := range e.Items {
					lines[i] = app.Line{SKU: it.SKU, Quantity: it.Quantity}
				}
				return svc.ReserveStock(ctx, e.OrderID, lines, messages.CorrelationID(ctx))
			}),
			cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderCancelled) error {
				return release(ctx, e.OrderID, "OrderCancelled")
			}),
			cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderRejected) error {
				return release(ctx, e.OrderID, "OrderRejected")
			}),
			cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderDeliveryFailed) error {
				return release(ctx, e.OrderID, "OrderDeliveryFailed")
			}),
			cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderDelivered) error {
				return svc.CommitStock(ctx, e.OrderID, messages.CorrelationID(ctx))
			}),
		},
	}}
}
