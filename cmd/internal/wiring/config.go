// Package wiring composes the services out of app, handlers and infra: one
// place that knows which adapter goes where, used by every main in cmd/ and by
// the component tests.
package wiring

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the whole configuration, read from the environment. The README's
// configuration table lists every variable; keep the two in step.
type Config struct {
	// HTTPAddr is where the gateway serves its API.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:":8080"`
	// LogLevel is debug, info, warn or error; LogFormat is json or text.
	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"text"`

	// Courier is auto (the simulated courier advances shipments after the
	// delays below) or manual (only the courier endpoints do).
	Courier              string        `env:"COURIER" envDefault:"auto"`
	CourierDispatchAfter time.Duration `env:"COURIER_DISPATCH_AFTER" envDefault:"2s"`
	CourierDeliverAfter  time.Duration `env:"COURIER_DELIVER_AFTER" envDefault:"3s"`

	// RequestTimeout bounds how long the gateway waits for a service's answer.
	RequestTimeout time.Duration `env:"REQUEST_TIMEOUT" envDefault:"5s"`
	// ShutdownTimeout bounds how long stopping waits for in-flight work.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"30s"`
	// SeedDemo creates the demo catalogue's SKUs that do not exist yet at start.
	SeedDemo bool `env:"SEED_DEMO" envDefault:"true"`

	// Retries of a failing handler before its message goes to the poison queue.
	RetryMax     int           `env:"RETRY_MAX" envDefault:"5"`
	RetryInitial time.Duration `env:"RETRY_INITIAL_INTERVAL" envDefault:"50ms"`
	RetryMaxWait time.Duration `env:"RETRY_MAX_INTERVAL" envDefault:"2s"`

	// OutboxRelayInterval is how often each service publishes the events its
	// store still holds unpublished OutboxRelayAfter after their change (a
	// failed publish, a crash, a poisoned message); 0 turns the relay off.
	OutboxRelayInterval time.Duration `env:"OUTBOX_RELAY_INTERVAL" envDefault:"1s"`
	OutboxRelayAfter    time.Duration `env:"OUTBOX_RELAY_AFTER" envDefault:"2s"`
	// SagaStuckAfter is how long an order may wait for another service
	// (PENDING, or CONFIRMED with no shipment) before the orders service sends
	// the message that moves it on again; 0 turns the sweeper off. It looks
	// every SagaSweepInterval.
	SagaStuckAfter    time.Duration `env:"SAGA_STUCK_AFTER" envDefault:"30s"`
	SagaSweepInterval time.Duration `env:"SAGA_SWEEP_INTERVAL" envDefault:"5s"`

	// MongoDBURI keeps the services' data in MongoDB when set; empty keeps it
	// in memory, lost when the process stops.
	MongoDBURI string `env:"MONGODB_URI"`
	// MongoDBDatabasePrefix starts the name of each service's own database:
	// <prefix>orders, <prefix>inventory, <prefix>delivery.
	MongoDBDatabasePrefix string `env:"MONGODB_DATABASE_PREFIX" envDefault:"orderflow_"`
}

// mongoDatabasePrefix keeps database names within what MongoDB accepts on every
// platform (no '.', '/', '$', spaces...).
var mongoDatabasePrefix = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)

// maxMongoDatabaseName is MongoDB's limit on a database name, in bytes.
const maxMongoDatabaseName = 63

// LoadConfig reads and validates the configuration from the environment.
func LoadConfig() (Config, error) {
	cfg, err := env.ParseAs[Config]()
	if err != nil {
		return Config{}, fmt.Errorf("read configuration: %w", err)
	}
	return cfg, cfg.Validate()
}

// Validate checks the configuration as a whole.
func (c Config) Validate() error {
	var errs []error
	if c.Courier != "auto" && c.Courier != "manual" {
		errs = append(errs, fmt.Errorf("COURIER must be auto or manual, not %q", c.Courier))
	}
	if c.CourierDispatchAfter <= 0 || c.CourierDeliverAfter <= 0 {
		errs = append(errs, errors.New("COURIER_DISPATCH_AFTER and COURIER_DELIVER_AFTER must be positive"))
	}
	if c.RequestTimeout <= 0 || c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("REQUEST_TIMEOUT and SHUTDOWN_TIMEOUT must be positive"))
	}
	if c.RetryMax < 0 {
		errs = append(errs, errors.New("RETRY_MAX must not be negative"))
	}
	if c.OutboxRelayInterval < 0 || c.OutboxRelayAfter < 0 {
		errs = append(errs, errors.New("OUTBOX_RELAY_INTERVAL and OUTBOX_RELAY_AFTER must not be negative"))
	}
	if c.SagaStuckAfter < 0 {
		errs = append(errs, errors.New("SAGA_STUCK_AFTER must not be negative (0 turns the sweeper off)"))
	}
	if c.SagaStuckAfter > 0 && c.SagaSweepInterval <= 0 {
		errs = append(errs, errors.New("SAGA_SWEEP_INTERVAL must be positive while the sweeper is on (SAGA_STUCK_AFTER > 0)"))
	}
	if c.MongoDBURI != "" && !strings.HasPrefix(c.MongoDBURI, "mongodb://") && !strings.HasPrefix(c.MongoDBURI, "mongodb+srv://") {
		errs = append(errs, errors.New("MONGODB_URI must start with mongodb:// or mongodb+srv://"))
	}
	if !mongoDatabasePrefix.MatchString(c.MongoDBDatabasePrefix) {
		errs = append(errs, fmt.Errorf("MONGODB_DATABASE_PREFIX may only have letters, digits, _ and -, not %q", c.MongoDBDatabasePrefix))
	}
	for _, db := range MongoDatabaseNames(c.MongoDBDatabasePrefix).All() {
		if len(db) > maxMongoDatabaseName {
			errs = append(errs, fmt.Errorf("MONGODB_DATABASE_PREFIX is too long: database %s would have more than %d characters", db, maxMongoDatabaseName))
			break
		}
	}
	return errors.Join(errs...)
}

// DemoCatalogue is the stock seeded at start (SEED_DEMO), so the first order works.
var DemoCatalogue = map[string]int{
	"SKU-1": 100,
	"SKU-2": 50,
	"SKU-3": 10,
}
