package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/handlers"
	"github.com/orderflow/orderflow/handlers/httpapi"
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

// addBackground appends the loops that are on.
func (s *Service) addBackground(loops ...func(ctx context.Context) error) {
	for _, l := range loops {
		if l != nil {
			s.Background = append(s.Background, l)
		}
	}
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

// retryNotices makes a router tell messages.TopicRetries of its retries, for
// the orders' timelines.
func (d Deps) retryNotices() *messaging.RetryNotices {
	return &messaging.RetryNotices{Publisher: d.PubSub.Publisher, Topic: messages.TopicRetries}
}

// routerConfig is the configuration of a service's router: the standard
// middleware stack with the configured retries, plus Deps.Middleware.
func (d Deps) routerConfig(name, poisonTopic string) messaging.RouterConfig {
	p := d.Config.Process
	return messaging.RouterConfig{
		Service:      name,
		PoisonTopic:  poisonTopic,
		Publisher:    d.PubSub.Publisher,
		Retry:        messaging.RetryConfig{MaxRetries: p.RetryMax, InitialInterval: p.RetryInitial, MaxInterval: p.RetryMaxWait},
		RetryNotices: d.retryNotices(),
		Stalls:       d.Stalls,
		CloseTimeout: p.ShutdownTimeout,
		Middleware:   d.Middleware,
		Tracing:      d.Tracing.Middleware(name),
		Logger:       d.Logger,
	}
}

// router returns a service's router and the cqrs processors on it.
func (d Deps) router(cfg messaging.RouterConfig) (*message.Router, *messaging.Processors, error) {
	r, err := messaging.NewRouter(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%s router: %w", cfg.Service, err)
	}
	p, err := messaging.NewProcessors(r, d.PubSub, d.Logger)
	if err != nil {
		return nil, nil, fmt.Errorf("%s processors: %w", cfg.Service, err)
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

// outboxRelay returns the background loop of a service's outbox relay, or nil
// when OUTBOX_RELAY_INTERVAL turns it off. It counts the events relayed in
// orderflow_outbox_relayed_total{service}.
func (d Deps) outboxRelay(service string, relay handlers.Relay) (func(ctx context.Context) error, error) {
	p := d.Config.Process
	if p.OutboxRelayInterval <= 0 {
		return nil, nil
	}
	relayed, err := counterVec(d.metrics(), "orderflow_outbox_relayed_total",
		"Events published by the outbox relay: left unpublished by a failed publish, a crash or a poisoned message.", "service")
	if err != nil {
		return nil, err
	}
	counter := relayed.WithLabelValues(service)
	logger := d.Logger.With("service", service)
	return func(ctx context.Context) error {
		return handlers.RunOutboxRelay(ctx, relay, p.OutboxRelayInterval, p.OutboxRelayAfter, counter, logger)
	}, nil
}

// counterVec registers a counter vector, or returns the one registered under
// that name already: the services of one process share its registry.
func counterVec(reg prometheus.Registerer, name, help string, labels ...string) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("register metric %s: %w", name, err)
	}
	return c, nil
}
