package wiring

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/app/poison"
	ordershandlers "github.com/orderflow/orderflow/handlers/orders"
	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/messages"
)

// OrdersConfig is the part of the configuration that only the orders service reads.
type OrdersConfig struct {
	// MaxOpenOrders and MaxOpenUnits cap what one customer may have in open
	// (not final) orders, in orders and in units; 0 is no cap.
	MaxOpenOrders int `env:"MAX_OPEN_ORDERS" envDefault:"20"`
	MaxOpenUnits  int `env:"MAX_OPEN_UNITS" envDefault:"1000"`
	// SagaStuckAfter is how long an order may wait for another service
	// (PENDING, or CONFIRMED with no shipment) before the orders service sends
	// the message that moves it on again; 0 turns the sweeper off. It looks
	// every SagaSweepInterval.
	SagaStuckAfter    time.Duration `env:"SAGA_STUCK_AFTER" envDefault:"30s"`
	SagaSweepInterval time.Duration `env:"SAGA_SWEEP_INTERVAL" envDefault:"5s"`
}

func (c OrdersConfig) validate() []error {
	var errs []error
	if c.SagaStuckAfter < 0 {
		errs = append(errs, errors.New("SAGA_STUCK_AFTER must not be negative (0 turns the sweeper off)"))
	}
	if c.SagaStuckAfter > 0 && c.SagaSweepInterval <= 0 {
		errs = append(errs, errors.New("SAGA_SWEEP_INTERVAL must be positive while the sweeper is on (SAGA_STUCK_AFTER > 0)"))
	}
	if c.MaxOpenOrders < 0 || c.MaxOpenUnits < 0 {
		errs = append(errs, errors.New("MAX_OPEN_ORDERS and MAX_OPEN_UNITS must not be negative"))
	}
	return errs
}

// NewOrders builds the orders service on the given store.
func NewOrders(d Deps, repo orders.Repository, poisoned poison.Store) (*Service, error) {
	d = d.forService("orders")
	cfg := d.Config.Orders
	r, p, err := d.router(d.routerConfig("orders", messages.TopicOrdersPoison))
	if err != nil {
		return nil, err
	}
	events, err := messaging.NewEventBus(d.PubSub.Publisher, d.Logger)
	if err != nil {
		return nil, err
	}
	svc := orders.NewService(repo, events, d.Now)
	svc.SetLimits(orders.Limits{MaxOpenOrders: cfg.MaxOpenOrders, MaxOpenUnits: cfg.MaxOpenUnits})
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

// sagaSweeper returns the background loop of the orders service's saga
// sweeper, or nil when SAGA_STUCK_AFTER turns it off. It counts the nudges in
// orderflow_saga_nudges_total{status}.
func (d Deps) sagaSweeper(svc *orders.Service) (func(ctx context.Context) error, error) {
	cfg := d.Config.Orders
	if cfg.SagaStuckAfter <= 0 {
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
		return ordershandlers.RunSagaSweeper(ctx, svc, cfg.SagaSweepInterval, cfg.SagaStuckAfter, nudged, logger)
	}, nil
}
