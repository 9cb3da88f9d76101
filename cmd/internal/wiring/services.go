package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/app/delivery"
	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/app/poison"
	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/handlers"
	"github.com/orderflow/orderflow/handlers/dashboard"
	deliveryhandlers "github.com/orderflow/orderflow/handlers/delivery"
	"github.com/orderflow/orderflow/handlers/httpapi"
	inventoryhandlers "github.com/orderflow/orderflow/handlers/inventory"
	ordershandlers "github.com/orderflow/orderflow/handlers/orders"
	viewhandlers "github.com/orderflow/orderflow/handlers/view"
	"github.com/orderflow/orderflow/infra/memory"
	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/infra/pubsub"
	"github.com/orderflow/orderflow/infra/tracing"
	"github.com/orderflow/orderflow/messages"
)

// Deps is what every service is built from.
type Deps struct {
	Config Config
	PubSub pubsub.PubSub
	Logger *slog.Logger
	// Middleware is added to every router inside the standard stack (tests use
	// it to deliver messages twice or to fail a handler).
	Middleware []message.HandlerMiddleware
	// Now is the services' clock (nil: time.Now).
	Now func() time.Time
	// Metrics registers the services' own metrics (nil: a registry nobody reads).
	Metrics prometheus.Registerer
	// Stalls records the handlers of the process waiting out an infrastructure
	// fault (nil: not recorded); the process is not ready while any is.
	Stalls *messaging.Stalls
	// Auth authenticates the gateway's requests (nil: built from Config as in
	// the embedded mode, where no credentials configured means the demo keys).
	Auth httpapi.Authenticator
	// Tracing traces every hop of every service (nil: nothing traced).
	Tracing *tracing.Tracing
}

// forService returns the deps of the named service: what it publishes gets
// a producer span of that service and carries the trace context.
func (d Deps) forService(name string) Deps {
	d.PubSub.Publisher = d.Tracing.Publisher(name, d.PubSub.Publisher)
	return d
}

// metrics returns where the services register their metrics.
func (d Deps) metrics() prometheus.Registerer {
	if d.Metrics == nil {
		return prometheus.NewRegistry()
	}
	return d.Metrics
}

// Service is one service ready to run: its router and what runs beside it.
type Service struct {
	Name   string
	Router *message.Router
	// Background runs beside the router until its context is done (the
	// courier, the outbox relay, the saga sweeper).
	Background []func(ctx context.Context) error
	// Handler is the gateway's HTTP API (nil for the other services).
	Handler http.Handler
	// Ready, when set, is the service's own readiness beyond its router running.
	Ready func(ctx context.Context) error
}

// retryNotices makes a router tell messages.TopicRetries of its retries, for
// the orders' timelines.
func (d Deps) retryNotices() *messaging.RetryNotices {
	return &messaging.RetryNotices{Publisher: d.PubSub.Publisher, Topic: messages.TopicRetries}
}

func (d Deps) router(name, poisonTopic string) (*message.Router, *messaging.Processors, error) {
	r, err := messaging.NewRouter(messaging.RouterConfig{
		Service:      name,
		PoisonTopic:  poisonTopic,
		Publisher:    d.PubSub.Publisher,
		Retry:        messaging.RetryConfig{MaxRetries: d.Config.RetryMax, InitialInterval: d.Config.RetryInitial, MaxInterval: d.Config.RetryMaxWait},
		RetryNotices: d.retryNotices(),
		Stalls:       d.Stalls,
		CloseTimeout: d.Config.ShutdownTimeout,
		Middleware:   d.Middleware,
		Tracing:      d.Tracing.Middleware(name),
		Logger:       d.Logger,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s router: %w", name, err)
	}
	p, err := messaging.NewProcessors(r, d.PubSub, d.Logger)
	if err != nil {
		return nil, nil, fmt.Errorf("%s processors: %w", name, err)
	}
	return r, p, nil
}

func register(p *messaging.Processors, commands []cqrs.CommandHandler, groups []handlers.EventGroup) error {
	if err := p.AddCommandHandlers(commands...); err != nil {
		return err
	}
	for _, g := range groups {
		if err := p.AddEventGroup(g.Name, g.Topic, g.Handlers...); err != nil {
			return err
		}
	}
	return nil
}

// NewOrders builds the orders service on the given store.
func NewOrders(d Deps, repo orders.Repository, poisoned poison.Store) (*Service, error) {
	d = d.forService("orders")
	r, p, err := d.router("orders", messages.TopicOrdersPoison)
	if err != nil {
		return nil, err
	}
	events, err := messaging.NewEventBus(d.PubSub.Publisher, d.Logger)
	if err != nil {
		return nil, err
	}
	svc := orders.NewService(repo, events, d.Now)
	svc.SetLimits(orders.Limits{MaxOpenOrders: d.Config.MaxOpenOrders, MaxOpenUnits: d.Config.MaxOpenUnits})
	replies := messaging.ReplyPublisher{Publisher: d.PubSub.Publisher}
	if err := register(p, ordershandlers.CommandHandlers(svc, replies), ordershandlers.EventGroups(svc)); err != nil {
		return nil, fmt.Errorf("orders handlers: %w", err)
	}
	if err := d.addPoisonQueue(r, p, "orders", messages.TopicOrdersPoison, poisoned, replies); err != nil {
		return nil, err
	}
	relay, err := d.outboxRelay("orders", svc.RelayUnpublished)
	if err != nil {
		return nil, err
	}
	sweeper, err := d.sagaSweeper(svc)
	if err != nil {
		return nil, err
	}
	s := &Service{Name: "orders", Router: r}
	s.addBackground(relay, sweeper)
	return s, nil
}

// NewInventory builds the inventory service on the given stores, seeding the
// demo catalogue when configured.
func NewInventory(ctx context.Context, d Deps, products inventory.Products, reservations inventory.Reservations, poisoned poison.Store) (*Service, error) {
	d = d.forService("inventory")
	r, p, err := d.router("inventory", messages.TopicInventoryPoison)
	if err != nil {
		return nil, err
	}
	events, err := messaging.NewEventBus(d.PubSub.Publisher, d.Logger)
	if err != nil {
		return nil, err
	}
	svc := inventory.NewService(products, reservations, events, d.Now)
	if d.Config.SeedDemo {
		if err := svc.SeedStock(ctx, DemoCatalogue); err != nil {
			return nil, err
		}
	}
	replies := messaging.ReplyPublisher{Publisher: d.PubSub.Publisher}
	if err := register(p, inventoryhandlers.CommandHandlers(svc, replies), inventoryhandlers.EventGroups(svc)); err != nil {
		return nil, fmt.Errorf("inventory handlers: %w", err)
	}
	if err := d.addPoisonQueue(r, p, "inventory", messages.TopicInventoryPoison, poisoned, replies); err != nil {
		return nil, err
	}
	relay, err := d.outboxRelay("inventory", svc.RelayUnpublished)
	if err != nil {
		return nil, err
	}
	s := &Service{Name: "inventory", Router: r}
	s.addBackground(relay)
	levelsEvery := d.Config.StockLevelInterval
	if levelsEvery <= 0 {
		levelsEvery = 100 * time.Millisecond
	}
	logger := d.Logger.With("service", "inventory")
	s.Background = append(s.Background, func(ctx context.Context) error {
		return inventoryhandlers.RunStockLevels(ctx, svc, levelsEvery, logger)
	})
	return s, nil
}

// NewDelivery builds the delivery service on the given store, with the
// simulated courier running beside it when COURIER=auto.
func NewDelivery(d Deps, repo delivery.Repository, poisoned poison.Store) (*Service, error) {
	d = d.forService("delivery")
	r, p, err := d.router("delivery", messages.TopicDeliveryPoison)
	if err != nil {
		return nil, err
	}
	events, err := messaging.NewEventBus(d.PubSub.Publisher, d.Logger)
	if err != nil {
		return nil, err
	}
	courier := delivery.Courier{Auto: d.Config.Courier == "auto", DispatchAfter: d.Config.CourierDispatchAfter, DeliverAfter: d.Config.CourierDeliverAfter}
	svc := delivery.NewService(repo, events, courier, d.Now)
	replies := messaging.ReplyPublisher{Publisher: d.PubSub.Publisher}
	if err := register(p, deliveryhandlers.CommandHandlers(svc, replies), deliveryhandlers.EventGroups(svc)); err != nil {
		return nil, fmt.Errorf("delivery handlers: %w", err)
	}
	if err := d.addPoisonQueue(r, p, "delivery", messages.TopicDeliveryPoison, poisoned, replies); err != nil {
		return nil, err
	}
	relay, err := d.outboxRelay("delivery", svc.RelayUnpublished)
	if err != nil {
		return nil, err
	}
	s := &Service{Name: "delivery", Router: r}
	s.addBackground(relay)
	if courier.Auto {
		tick := min(courier.DispatchAfter, courier.DeliverAfter) / 4
		tick = max(10*time.Millisecond, min(tick, time.Second))
		s.Background = append(s.Background, func(ctx context.Context) error {
			return deliveryhandlers.RunCourier(ctx, svc, tick, courierLookEvery, d.Logger.With("service", "delivery"))
		})
	}
	return s, nil
}

// courierLookEvery is how often the simulated courier asks the store for due
// shipments when no step it scheduled itself is due: how late, at most, it
// takes a step scheduled by another delivery instance or before a restart.
const courierLookEvery = time.Second

// ViewGroup is the consumer group of a view shared in MongoDB; a view in
// memory takes a group of its own, ViewGroup + "." + a name unique to the
// process start, so that it reads every event topic from its start.
const ViewGroup = "gateway.view"

// NewGateway builds the gateway: its HTTP API, sending commands through the
// command bus and answering queries from its view, and its router, which
// consumes the replies (group consumerGroup) and feeds the view from the
// services' events. views is the view's store, shared by every gateway (one
// consumer group) or this process's own (rebuilt from the topics' start).
// ready reports whether the rest of what the gateway needs answers.
func NewGateway(d Deps, consumerGroup string, views view.Store, shared bool, ready func(context.Context) error) (*Service, error) {
	// The readiness probe's replies are no part of any request: not traced.
	probes := d.PubSub.Publisher
	d = d.forService("gateway")
	r, err := messaging.NewRouter(messaging.RouterConfig{
		Service:      "gateway",
		PoisonTopic:  messages.TopicGatewayPoison,
		Publisher:    d.PubSub.Publisher,
		Retry:        messaging.RetryConfig{MaxRetries: d.Config.RetryMax, InitialInterval: d.Config.RetryInitial, MaxInterval: d.Config.RetryMaxWait},
		RetryNotices: d.retryNotices(),
		Stalls:       d.Stalls,
		CloseTimeout: d.Config.ShutdownTimeout,
		Tracing:      d.Tracing.Middleware("gateway"),
		Logger:       d.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("gateway router: %w", err)
	}
	if views == nil {
		views = memory.NewViewStore()
		shared = false
	}
	viewSvc := view.NewService(views, d.Now)
	viewGroup := ViewGroup
	if !shared {
		viewGroup += "." + uuid.NewString()
	}
	p, err := messaging.NewProcessors(r, d.PubSub, d.Logger)
	if err != nil {
		return nil, fmt.Errorf("gateway processors: %w", err)
	}
	if err := register(p, nil, viewhandlers.EventGroups(viewSvc, viewGroup)); err != nil {
		return nil, fmt.Errorf("view handlers: %w", err)
	}
	// The poisonings of an order's messages are steps of its timeline.
	for service, topic := range map[string]string{"orders": messages.TopicOrdersPoison, "inventory": messages.TopicInventoryPoison, "delivery": messages.TopicDeliveryPoison} {
		name := viewGroup + "." + service + "_poison"
		sub, err := d.PubSub.Subscriber(name)
		if err != nil {
			return nil, fmt.Errorf("%s subscriber: %w", name, err)
		}
		r.AddConsumerHandler(name, topic, sub, viewhandlers.PoisonHandler(viewSvc))
	}
	// So are the retries of its messages, whichever service retried them.
	retries := viewGroup + ".retries"
	retriesSub, err := d.PubSub.Subscriber(retries)
	if err != nil {
		return nil, fmt.Errorf("%s subscriber: %w", retries, err)
	}
	r.AddConsumerHandler(retries, messages.TopicRetries, retriesSub, viewhandlers.RetryHandler(viewSvc))
	bus, err := messaging.NewCommandBus(d.PubSub.Publisher, d.Logger)
	if err != nil {
		return nil, err
	}
	hub := messaging.NewReplyHub()
	sub, err := d.PubSub.NewestSubscriber(consumerGroup)
	if err != nil {
		return nil, fmt.Errorf("reply subscriber: %w", err)
	}
	r.AddConsumerHandler(consumerGroup, messages.TopicReplies, sub, hub.Handle)
	s := &Service{Name: "gateway", Router: r}
	// Ready once a reply published now comes back: before that, the reply
	// subscription may not have its partitions yet and answers would be lost.
	var repliesFlow atomic.Bool
	s.Background = append(s.Background, func(ctx context.Context) error {
		for ctx.Err() == nil {
			probeCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := hub.Probe(probeCtx, probes)
			cancel()
			if err == nil {
				repliesFlow.Store(true)
				return nil
			}
			d.Logger.Debug("gateway not ready yet", "error", err)
		}
		return nil
	})
	s.Ready = func(context.Context) error {
		if !repliesFlow.Load() {
			return fmt.Errorf("the gateway's reply subscription does not deliver yet")
		}
		return nil
	}
	auth := d.Auth
	if auth == nil {
		if auth, err = d.Config.Authenticator(context.Background(), true, d.Logger); err != nil {
			return nil, err
		}
	}
	limits, anonymous, err := d.Config.RateLimits()
	if err != nil {
		return nil, err
	}
	api := httpapi.NewHandler(httpapi.Config{
		Auth:               auth,
		RateLimits:         limits,
		AnonymousRateLimit: anonymous,
		Now:                d.Now,
		Commands:           messaging.Requester{Bus: bus, Hub: hub, Timeout: d.Config.RequestTimeout},
		Views:              viewSvc,
		Ready: func(ctx context.Context) error {
			if !r.IsRunning() {
				return fmt.Errorf("the gateway's router is not running")
			}
			if err := s.Ready(ctx); err != nil {
				return err
			}
			if ready != nil {
				return ready(ctx)
			}
			return nil
		},
		Logger: d.Logger.With("service", "gateway"),
	})
	// The operator dashboard at / is a client of the API, in process.
	dash := dashboard.New(api, dashboard.Config{
		Logger:        d.Logger.With("service", "gateway", "component", "dashboard"),
		SecureCookies: d.Config.DashboardSecureCookies,
		LowStock:      d.Config.DashboardLowStock,
		Now:           d.Now,
	})
	s.Handler = d.Tracing.HTTPHandler("gateway", dashboard.Mount(dash, api), RouteTemplate)
	return s, nil
}
