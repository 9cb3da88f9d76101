// Package wiring composes the services out of app, handlers and infra: one
// place that knows which adapter goes where, used by every main in cmd/ and by
// the component tests.
package wiring

import (
	"errors"
	"fmt"
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
}

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
	return errors.Join(errs...)
}

// DemoCatalogue is the stock seeded at start (SEED_DEMO), so the first order works.
var DemoCatalogue = map[string]int{
	"SKU-1": 100,
	"SKU-2": 50,
	"SKU-3": 10,
}
