package wiring

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"

	mongostore "github.com/orderflow/orderflow/infra/mongo"
)

// MongoDatabases names the database of each stateful service. Each service owns
// its database and no repository reads another's, so that the services can be
// split onto separate clusters without changing a query.
type MongoDatabases struct {
	Orders    string
	Inventory string
	Delivery  string
	// Gateway holds the gateway's view, shared by every gateway instance.
	Gateway string
}

// MongoDatabaseNames returns the databases for a MONGODB_DATABASE_PREFIX.
func MongoDatabaseNames(prefix string) MongoDatabases {
	return MongoDatabases{Orders: prefix + "orders", Inventory: prefix + "inventory", Delivery: prefix + "delivery", Gateway: prefix + "gateway"}
}

// All lists the databases, for logs and clean-up.
func (d MongoDatabases) All() []string { return []string{d.Orders, d.Inventory, d.Delivery, d.Gateway} }

// NewMongoStores returns the stores on MongoDB, one database per service, and
// creates the indexes they need (idempotent, so every start does it).
func NewMongoStores(ctx context.Context, client *mongo.Client, prefix string) (Stores, error) {
	dbs := MongoDatabaseNames(prefix)
	orders := mongostore.NewOrderRepository(client.Database(dbs.Orders))
	products := mongostore.NewProductRepository(client.Database(dbs.Inventory))
	reservations := mongostore.NewReservationRepository(client.Database(dbs.Inventory))
	shipments := mongostore.NewShipmentRepository(client.Database(dbs.Delivery))
	ordersPoison := mongostore.NewPoisonStore(client.Database(dbs.Orders))
	inventoryPoison := mongostore.NewPoisonStore(client.Database(dbs.Inventory))
	deliveryPoison := mongostore.NewPoisonStore(client.Database(dbs.Delivery))
	views := mongostore.NewViewStore(client.Database(dbs.Gateway))
	for _, r := range []interface{ EnsureIndexes(context.Context) error }{
		orders, products, reservations, shipments, ordersPoison, inventoryPoison, deliveryPoison, views,
	} {
		if err := r.EnsureIndexes(ctx); err != nil {
			return Stores{}, err
		}
	}
	poisoned := PoisonStores{Orders: ordersPoison, Inventory: inventoryPoison, Delivery: deliveryPoison}
	return Stores{Orders: orders, Products: products, Reservations: reservations, Shipments: shipments, Poison: poisoned,
		View: views, ViewShared: true}, nil
}

// mongoCommandMetrics returns a command monitor that counts every command in
// orderflow_mongo_commands_total{database,command}, or nil without a registry.
// Both labels are bounded: the services' databases (plus admin for pings) and
// the driver's command names.
func mongoCommandMetrics(reg prometheus.Registerer) (*event.CommandMonitor, error) {
	if reg == nil {
		return nil, nil
	}
	commands, err := counterVec(reg, "orderflow_mongo_commands_total",
		"Commands sent to MongoDB, by database and command name (find, insert, update, getMore...): the stores' cost.", "database", "command")
	if err != nil {
		return nil, err
	}
	return mongostore.CountCommands(func(database, command string) {
		commands.WithLabelValues(database, command).Inc()
	}), nil
}
