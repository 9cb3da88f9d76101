// Package inventory adapts the inventory service's use cases to Watermill: its
// stock commands (answered through request/reply) and the order events it
// reserves, releases and commits stock on.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

// RunStockLevels publishes the stock level of every product at once (so a
// view rebuilt from scratch learns every SKU), then every interval the levels
// of the products changed since (see app.Service.PublishStockLevels), in
// rounds of up to 100 products, until ctx is done. A round that fails is
// logged and tried again at the next tick.
func RunStockLevels(ctx context.Context, svc *app.Service, interval time.Duration, logger *slog.Logger) error {
	all := true
	return handlers.Every(ctx, interval, func(ctx context.Context) {
		for range 10 {
			n, err := svc.PublishStockLevels(ctx, 100, all)
			if err != nil {
				if ctx.Err() == nil {
					logger.WarnContext(ctx, "publishing stock levels failed; trying again at the next tick", "error", err)
				}
				return
			}
			all = false
			if n < 100 {
				return
			}
		}
	})
}
