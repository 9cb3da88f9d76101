package wiring

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/handlers"
	ordershandlers "github.com/orderflow/orderflow/handlers/orders"
)

// outboxRelay returns the background loop of a service's outbox relay, or nil
// when OUTBOX_RELAY_INTERVAL turns it off. It counts the events relayed in
// orderflow_outbox_relayed_total{service}.
func (d Deps) outboxRelay(service string, relay handlers.Relay) (func(ctx context.Context) error, error) {
	if d.Config.OutboxRelayInterval <= 0 {
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
		return handlers.RunOutboxRelay(ctx, relay, d.Config.OutboxRelayInterval, d.Config.OutboxRelayAfter, counter, logger)
	}, nil
}

// sagaSweeper returns the background loop of the orders service's saga
// sweeper, or nil when SAGA_STUCK_AFTER turns it off. It counts the nudges in
// orderflow_saga_nudges_total{status}.
func (d Deps) sagaSweeper(svc *orders.Service) (func(ctx context.Context) error, error) {
	if d.Config.SagaStuckAfter <= 0 {
		return nil, nil
	}
	nudges, err := counterVec(d.metrics(), "orderflow_saga_nudges_total",
		"Orders that waited longer than SAGA_STUCK_AFTER for another service and got the message that moves them on sent again, by status.", "status")
	if err != nil {
		return nil, err
	}
	logger := d.Logger.With("service", "orders")
	nudged := func(n orders.Nudge) { nudges.WithLabelValues(string(n.Status)).Inc() }
	return func(ctx context.Context) error {
		return ordershandlers.RunSagaSweeper(ctx, svc, d.Config.SagaSweepInterval, d.Config.SagaStuckAfter, nudged, logger)
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

// addBackground appends the loops that are on.
func (s *Service) addBackground(loops ...func(ctx context.Context) error) {
	for _, l := range loops {
		if l != nil {
			s.Background = append(s.Background, l)
		}
	}
}
