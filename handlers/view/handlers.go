// Package view feeds the gateway's read model (app/view) from the events of
// the three services: one event group per producer's topic. Every handler is
// idempotent (the view's merges are), and an event that breaks its contract
// is messages.ErrInvalid: poisoned, never retried.
package view

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"

	app "github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/handlers"
	"github.com/orderflow/orderflow/messages"
)

// Source returns where the event in ctx comes from: its correlation ID and,
// when its metadata carries a W3C traceparent, its trace ID.
func Source(ctx context.Context) app.Source {
	src := app.Source{CorrelationID: messages.CorrelationID(ctx)}
	if msg := cqrs.OriginalMessageFromCtx(ctx); msg != nil {
		src.TraceID = messages.TraceIDFromTraceParent(msg.Metadata.Get(messages.MetadataTraceParent))
		if src.CorrelationID == "" {
			src.CorrelationID = msg.Metadata.Get(messages.MetadataCorrelationID)
		}
	}
	return src
}

func need(orderID, event string) error {
	if orderID == "" {
		return fmt.Errorf("%w: %s without order_id", messages.ErrInvalid, event)
	}
	return nil
}

// EventGroups returns the view's handlers, named prefix + the producer
// ("gateway.view.orders_events"...): the prefix is the view's consumer group
// (one for a view shared in MongoDB, one per process for a view in memory).
func EventGroups(svc *app.Service, prefix string) []handlers.EventGroup {
	status := func(ctx context.Context, event, orderID, status, reason string, at time.Time) error {
		if err := need(orderID, event); err != nil {
			return err
		}
		return svc.OrderStatus(ctx, orderID, status, reason, at, Source(ctx))
	}
	shipment := func(ctx context.Context, event, orderID, status, reason string, dispatched, at time.Time) error {
		if err := need(orderID, event); err != nil {
			return err
		}
		return svc.ShipmentStatus(ctx, orderID, status, reason, dispatched, at, Source(ctx))
	}
	return []handlers.EventGroup{
		{
			Name:  prefix + ".order_events",
			Topic: messages.TopicOrderEvents,
			Handlers: []cqrs.GroupEventHandler{
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderPlaced) error {
					if err := need(e.OrderID, "OrderPlaced"); err != nil {
						return err
					}
					return svc.OrderPlaced(ctx, *e, Source(ctx))
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderConfirmed) error {
					return status(ctx, "OrderConfirmed", e.OrderID, messages.OrderStatusConfirmed, "", e.OccurredAt)
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderRejected) error {
					return status(ctx, "OrderRejected", e.OrderID, messages.OrderStatusRejected, e.Reason, e.OccurredAt)
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderCancelled) error {
					return status(ctx, "OrderCancelled", e.OrderID, messages.OrderStatusCancelled, e.Reason, e.OccurredAt)
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderShipped) error {
					return status(ctx, "OrderShipped", e.OrderID, messages.OrderStatusShipped, "", e.OccurredAt)
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderDelivered) error {
					return status(ctx, "OrderDelivered", e.OrderID, messages.OrderStatusDelivered, "", e.OccurredAt)
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.OrderDeliveryFailed) error {
					return status(ctx, "OrderDeliveryFailed", e.OrderID, messages.OrderStatusDeliveryFailed, e.Reason, e.OccurredAt)
				}),
			},
		},
		{
			Name:  prefix + ".inventory_events",
			Topic: messages.TopicInventoryEvents,
			Handlers: []cqrs.GroupEventHandler{
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.StockReserved) error {
					if err := need(e.OrderID, "StockReserved"); err != nil {
						return err
					}
					return svc.StockReserved(ctx, *e, Source(ctx))
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.StockReservationFailed) error {
					if err := need(e.OrderID, "StockReservationFailed"); err != nil {
						return err
					}
					return svc.StockReservationFailed(ctx, *e, Source(ctx))
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.StockReleased) error {
					if err := need(e.OrderID, "StockReleased"); err != nil {
						return err
					}
					return svc.StockSettled(ctx, e.OrderID, app.ReservationReleased, e.OccurredAt, Source(ctx))
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.StockCommitted) error {
					if err := need(e.OrderID, "StockCommitted"); err != nil {
						return err
					}
					return svc.StockSettled(ctx, e.OrderID, app.ReservationCommitted, e.OccurredAt, Source(ctx))
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.StockLevelChanged) error {
					return svc.StockLevel(ctx, e.Level(), e.OccurredAt)
				}),
			},
		},
		{
			Name:  prefix + ".delivery_events",
			Topic: messages.TopicDeliveryEvents,
			Handlers: []cqrs.GroupEventHandler{
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.ShipmentScheduled) error {
					return shipment(ctx, "ShipmentScheduled", e.OrderID, messages.ShipmentStatusScheduled, "", time.Time{}, e.OccurredAt)
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.ShipmentDispatched) error {
					return shipment(ctx, "ShipmentDispatched", e.OrderID, messages.ShipmentStatusDispatched, "", time.Time{}, e.OccurredAt)
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.ShipmentDelivered) error {
					return shipment(ctx, "ShipmentDelivered", e.OrderID, messages.ShipmentStatusDelivered, "", e.DispatchedAt, e.OccurredAt)
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.ShipmentFailed) error {
					return shipment(ctx, "ShipmentFailed", e.OrderID, messages.ShipmentStatusFailed, e.Reason, e.DispatchedAt, e.OccurredAt)
				}),
				cqrs.NewGroupEventHandler(func(ctx context.Context, e *messages.ShipmentCancelled) error {
					return shipment(ctx, "ShipmentCancelled", e.OrderID, messages.ShipmentStatusCancelled, "order cancelled", time.Time{}, e.OccurredAt)
				}),
			},
		},
	}
}

// PoisonHandler returns the handler of a service's poison topic: each message
// poisoned there is a step of its order's timeline (the order is the
// message's partition key; the service, its reason and time come from the
// poison metadata). It never fails on what it cannot read: a poisoned message
// keyed by no order is no step.
func PoisonHandler(svc *app.Service) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		md := msg.Metadata
		at, _ := time.Parse(time.RFC3339Nano, md.Get(messages.MetadataPoisonedAt))
		src := app.Source{CorrelationID: md.Get(messages.MetadataCorrelationID), TraceID: messages.TraceIDFromTraceParent(md.Get(messages.MetadataTraceParent))}
		name := md.Get("name")
		if name == "" {
			name = "a message"
		}
		return svc.Poisoned(msg.Context(), md.Get(messages.MetadataPartitionKey), md.Get(messages.MetadataPoisonService),
			name, md.Get(messages.MetadataPoisonReason), md.Get(messages.MetadataPoisonUUID), at, src)
	}
}

// RetryHandler returns the handler of messages.TopicRetries: each notice of a
// retry of a message about an order is a step "retried" of its timeline. A
// notice that cannot be read breaks its contract (messages.ErrInvalid).
func RetryHandler(svc *app.Service) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		var e messages.MessageRetried
		if err := json.Unmarshal(msg.Payload, &e); err != nil {
			return fmt.Errorf("%w: retry notice: %v", messages.ErrInvalid, err) //nolint:errorlint // the class is what matters: the notice can never be read
		}
		md := msg.Metadata
		src := app.Source{CorrelationID: md.Get(messages.MetadataCorrelationID), TraceID: messages.TraceIDFromTraceParent(md.Get(messages.MetadataTraceParent))}
		return svc.Retried(msg.Context(), e, src)
	}
}
