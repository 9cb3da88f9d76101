package wiring

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/app/delivery"
	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/infra/memory"
)

// Stores are the repositories of the three stateful services, as the ports of
// app/, so that in-memory (NewMemoryStores) and MongoDB (NewMongoStores) stores
// are interchangeable.
type Stores struct {
	Orders       orders.Repository
	Products     inventory.Products
	Reservations inventory.Reservations
	Shipments    delivery.Repository
	Poison       PoisonStores
	// View is the gateway's read model. ViewShared says it outlives the
	// process and is shared by every gateway (MongoDB): one consumer group
	// feeds it. Else (memory) each gateway process rebuilds its own from the
	// start of the event topics, in a consumer group of its own.
	View       view.Store
	ViewShared bool
}

// NewMemoryStores returns empty in-memory stores.
func NewMemoryStores() Stores {
	return Stores{
		Orders:       memory.NewOrderRepository(),
		Products:     memory.NewProductRepository(),
		Reservations: memory.NewReservationRepository(),
		Shipments:    memory.NewShipmentRepository(),
		Poison:       NewMemoryPoisonStores(),
		View:         memory.NewViewStore(),
	}
}

// NewAll builds the four services on one pub/sub, in one process.
func NewAll(ctx context.Context, d Deps, st Stores) ([]*Service, error) {
	return NewServices(ctx, d, st, AllServices, "gateway.replies", nil)
}

// NewServices builds the named services. gatewayGroup is the consumer group of
// the gateway's replies; ready is what the gateway's /readyz checks beyond its router.
func NewServices(ctx context.Context, d Deps, st Stores, which []string, gatewayGroup string, ready func(context.Context) error) ([]*Service, error) {
	var services []*Service
	for _, name := range which {
		var s *Service
		var err error
		switch name {
		case "orders":
			s, err = NewOrders(d, st.Orders, st.Poison.Orders)
		case "inventory":
			s, err = NewInventory(ctx, d, st.Products, st.Reservations, st.Poison.Inventory)
		case "delivery":
			s, err = NewDelivery(d, st.Shipments, st.Poison.Delivery)
		case "gateway":
			s, err = NewGateway(d, gatewayGroup, st.View, st.ViewShared, ready)
		default:
			err = fmt.Errorf("unknown service %q: want one of %v", name, AllServices)
		}
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", name, err)
		}
		services = append(services, s)
	}
	return services, nil
}
