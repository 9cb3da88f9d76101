package wiring

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/app/delivery"
	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/app/orders"
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
}

// NewMemoryStores returns empty in-memory stores.
func NewMemoryStores() Stores {
	return Stores{
		Orders:       memory.NewOrderRepository(),
		Products:     memory.NewProductRepository(),
		Reservations: memory.NewReservationRepository(),
		Shipments:    memory.NewShipmentRepository(),
	}
}

// NewAll builds the four services on one pub/sub, in one process.
func NewAll(ctx context.Context, d Deps, st Stores) ([]*Service, error) {
	o, err := NewOrders(d, st.Orders)
	if err != nil {
		return nil, err
	}
	inv, err := NewInventory(ctx, d, st.Products, st.Reservations)
	if err != nil {
		return nil, err
	}
	del, err := NewDelivery(d, st.Shipments)
	if err != nil {
		return nil, err
	}
	gw, err := NewGateway(d, "gateway.replies", nil)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return []*Service{o, inv, del, gw}, nil
}
