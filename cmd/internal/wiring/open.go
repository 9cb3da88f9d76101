package wiring

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/event"

	mongostore "github.com/orderflow/orderflow/infra/mongo"
)

// OpenedStores says where data is kept and how to check and close the store.
type OpenedStores struct {
	// Describe is the log attributes that tell where data is kept.
	Describe []any
	// Ping checks that the store answers (nil for memory).
	Ping func(ctx context.Context) error
	// Close releases the store; call it after the routers stopped.
	Close func()
}

// OpenStores returns MongoDB stores when MONGODB_URI is set (connecting, failing
// within ~10 s when MongoDB does not answer, and creating the indexes), else
// in-memory stores. Every MongoDB command is counted on metrics (nil: not
// counted) in orderflow_mongo_commands_total{database,command}, and seen by
// the monitors (nil ones skipped: the tracing's, when on).
func OpenStores(ctx context.Context, cfg ProcessConfig, metrics prometheus.Registerer, monitors ...*event.CommandMonitor) (Stores, OpenedStores, error) {
	if cfg.MongoDBURI == "" {
		return NewMemoryStores(), OpenedStores{
			Describe: []any{"storage", "in memory: data is lost when the process stops"},
			Close:    func() {},
		}, nil
	}
	monitor, err := mongoCommandMetrics(metrics)
	if err != nil {
		return Stores{}, OpenedStores{}, err
	}
	client, err := mongostore.Connect(ctx, cfg.MongoDBURI, append([]*event.CommandMonitor{monitor}, monitors...)...)
	if err != nil {
		return Stores{}, OpenedStores{}, err
	}
	disconnect := func() {
		disconnectCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = client.Disconnect(disconnectCtx)
	}
	stores, err := NewMongoStores(ctx, client, cfg.MongoDBDatabasePrefix)
	if err != nil {
		disconnect()
		return Stores{}, OpenedStores{}, fmt.Errorf("prepare MongoDB at %s: %w", mongostore.RedactURI(cfg.MongoDBURI), err)
	}
	return stores, OpenedStores{
		Describe: []any{
			"storage", "MongoDB: data is kept across restarts",
			"mongodb_uri", mongostore.RedactURI(cfg.MongoDBURI),
			"databases", MongoDatabaseNames(cfg.MongoDBDatabasePrefix).All(),
		},
		Ping:  func(ctx context.Context) error { return client.Ping(ctx, nil) },
		Close: disconnect,
	}, nil
}
