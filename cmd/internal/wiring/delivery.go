package wiring

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/app/delivery"
	"github.com/orderflow/orderflow/app/poison"
	deliveryhandlers "github.com/orderflow/orderflow/handlers/delivery"
	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/messages"
)

// DeliveryConfig is the part of the configuration that only the delivery service reads.
type DeliveryConfig struct {
	// Courier is auto (the simulated courier advances shipments after the
	// delays below) or manual (only the courier endpoints do).
	Courier              string        `env:"COURIER" envDefault:"auto"`
	CourierDispatchAfter time.Duration `env:"COURIER_DISPATCH_AFTER" envDefault:"2s"`
	CourierDeliverAfter  time.Duration `env:"COURIER_DELIVER_AFTER" envDefault:"3s"`
}

func (c DeliveryConfig) validate() []error {
	var errs []error
	if c.Courier != "auto" && c.Courier != "manual" {
		errs = append(errs, fmt.Errorf("COURIER must be auto or manual, not %q", c.Courier))
	}
	if c.CourierDispatchAfter <= 0 || c.CourierDeliverAfter <= 0 {
		errs = append(errs, errors.New("COURIER_DISPATCH_AFTER and COURIER_DELIVER_AFTER must be positive"))
	}
	return errs
}

// courierLookEvery is how often the simulated courier asks the store for due
// shipments when no step it scheduled itself is due: how late, at most, it
// takes a step scheduled by another delivery instance or before a restart.
const courierLookEvery = time.Second

// NewDelivery builds the delivery service on the given store, with the
// simulated courier running beside it when COURIER=auto.
func NewDelivery(d Deps, repo delivery.Repository, poisoned poison.Store) (*Service, error) {
	d = d.forService("delivery")
	cfg := d.Config.Delivery
	r, p, err := d.router(d.routerConfig("delivery", messages.TopicDeliveryPoison))
	if err != nil {
		return nil, err
	}
	events, err := messaging.NewEventBus(d.PubSub.Publisher, d.Logger)
	if err != nil {
		return nil, err
	}
	courier := delivery.Courier{Auto: cfg.Courier == "auto", DispatchAfter: cfg.CourierDispatchAfter, DeliverAfter: cfg.CourierDeliverAfter}
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
