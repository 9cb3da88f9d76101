package memory_test

import (
	"testing"

	"github.com/orderflow/orderflow/app/delivery"
	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/app/poison"
	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/infra/memory"
	"github.com/orderflow/orderflow/infra/repotest"
)

func TestOrderRepository(t *testing.T) {
	t.Parallel()
	repotest.Orders(t, func(*testing.T) orders.Repository { return memory.NewOrderRepository() })
}

func TestProductRepository(t *testing.T) {
	t.Parallel()
	repotest.Products(t, func(*testing.T) inventory.Products { return memory.NewProductRepository() })
}

func TestReservationRepository(t *testing.T) {
	t.Parallel()
	repotest.Reservations(t, func(*testing.T) inventory.Reservations { return memory.NewReservationRepository() })
}

func TestShipmentRepository(t *testing.T) {
	t.Parallel()
	repotest.Shipments(t, func(*testing.T) delivery.Repository { return memory.NewShipmentRepository() })
}

func TestPoisonStore(t *testing.T) {
	t.Parallel()
	repotest.PoisonStores(t, func(*testing.T) poison.Store { return memory.NewPoisonStore() })
}

func TestViewStore(t *testing.T) {
	t.Parallel()
	repotest.ViewStores(t, func(*testing.T) view.Store { return memory.NewViewStore() })
}
