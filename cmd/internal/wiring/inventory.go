package wiring

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/app/poison"
	inventoryhandlers "github.com/orderflow/orderflow/handlers/inventory"
	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/messages"
)

// InventoryConfig is the part of the configuration that only the inventory service reads.
type InventoryConfig struct {
	// SeedDemo creates the demo catalogue's SKUs that do not exist yet at start.
	SeedDemo bool `env:"SEED_DEMO" envDefault:"true"`
	// StockLevelInterval is how often the inventory publishes the stock levels
	// of the SKUs changed since the last round (StockLevelChanged, which the
	// gateway's view shows): how stale GET /inventory may be after an order;
	// 0 takes the default.
	StockLevelInterval time.Duration `env:"STOCK_LEVEL_INTERVAL" envDefault:"100ms"`
}

func (c InventoryConfig) validate() []error {
	if c.StockLevelInterval < 0 {
		return []error{errors.New("STOCK_LEVEL_INTERVAL must not be negative")}
	}
	return nil
}

// DemoCatalogue is the stock seeded at start (SEED_DEMO), so the first order works.
var DemoCatalogue = map[string]int{
	"SKU-1": 100,
	"SKU-2": 50,
	"SKU-3": 10,
}

// NewInventory builds the inventory service on the given stores, seeding the
// demo catalogue when configured.
func NewInventory(ctx context.Context, d Deps, products inventory.Products, reservations inventory.Reservations, poisoned poison.Store) (*Service, error) {
	d = d.forService("inventory")
	cfg := d.Config.Inventory
	r, p, err := d.router(d.routerConfig("inventory", messages.TopicInventoryPoison))
	if err != nil {
		return nil, err
	}
	events, err := messaging.NewEventBus(d.PubSub.Publisher, d.Logger)
	if err != nil {
		return nil, err
	}
	svc := inventory.NewService(products, reservations, events, d.Now)
	if cfg.SeedDemo {
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
	levelsEvery := cfg.StockLevelInterval
	if levelsEvery <= 0 {
		levelsEvery = 100 * time.Millisecond
	}
	logger := d.Logger.With("service", "inventory")
	s.Background = append(s.Background, func(ctx context.Context) error {
		return inventoryhandlers.RunStockLevels(ctx, svc, levelsEvery, logger)
	})
	return s, nil
}
