// Package wiring composes the services out of app, handlers and infra: one
// place that knows which adapter goes where, used by every main in cmd/ and by
// the component tests.
package wiring

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/orderflow/orderflow/handlers/httpapi"
)

// Config is the whole configuration, read from the environment. The README's
// configuration table lists every variable; keep the two in step.
type Config struct {
	// HTTPAddr is where the gateway serves its API. The default listens on
	// loopback only, so a first run is not open to the network; containers set :8080.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
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
	// StockLevelInterval is how often the inventory publishes the stock levels
	// of the SKUs changed since the last round (StockLevelChanged, which the
	// gateway's view shows): how stale GET /inventory may be after an order;
	// 0 takes the default.
	StockLevelInterval time.Duration `env:"STOCK_LEVEL_INTERVAL" envDefault:"100ms"`
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
	// <prefix>orders, <prefix>inventory, <prefix>delivery, and <prefix>gateway (the view).
	MongoDBDatabasePrefix string `env:"MONGODB_DATABASE_PREFIX" envDefault:"orderflow_"`

	// Auth is on, or off for local experiments (every request is then an operator).
	Auth string `env:"AUTH" envDefault:"on"`
	// APIKeys is a comma-separated list of TOKEN=ROLE and
	// TOKEN=customer:CUSTOMER_ID; APIKeysFile names a file of more (one or
	// several per line), for secrets mounted into a container.
	APIKeys     string `env:"API_KEYS"`
	APIKeysFile string `env:"API_KEYS_FILE"`
	// JWT bearer tokens from an identity provider: accepted when signed by a
	// key of the JWKS, issued by JWTIssuer for JWTAudience, not expired; the
	// role and the customer id are read from the named claims.
	JWTIssuer        string `env:"JWT_ISSUER"`
	JWTAudience      string `env:"JWT_AUDIENCE"`
	JWTJWKSURL       string `env:"JWT_JWKS_URL"`
	JWTRoleClaim     string `env:"JWT_ROLE_CLAIM" envDefault:"role"`
	JWTCustomerClaim string `env:"JWT_CUSTOMER_CLAIM" envDefault:"customer_id"`

	// Rate limits, RATE:BURST (requests per second on average : at once),
	// per principal of each role and per client address for requests without
	// valid credentials; "off" (or empty) is no limit. Per gateway instance.
	RateLimitCustomer  string `env:"RATE_LIMIT_CUSTOMER" envDefault:"20:40"`
	RateLimitOperator  string `env:"RATE_LIMIT_OPERATOR" envDefault:"2000:5000"`
	RateLimitCourier   string `env:"RATE_LIMIT_COURIER" envDefault:"50:100"`
	RateLimitAnonymous string `env:"RATE_LIMIT_ANONYMOUS" envDefault:"5:20"`

	// MaxOpenOrders and MaxOpenUnits cap what one customer may have in open
	// (not final) orders, in orders and in units; 0 is no cap.
	MaxOpenOrders int `env:"MAX_OPEN_ORDERS" envDefault:"20"`
	MaxOpenUnits  int `env:"MAX_OPEN_UNITS" envDefault:"1000"`

	// DashboardSecureCookies marks the dashboard's cookies Secure even over
	// plain HTTP (behind a proxy that terminates TLS; over TLS they always are).
	// DashboardLowStock is the available quantity at or under which the
	// dashboard highlights a SKU.
	DashboardSecureCookies bool `env:"DASHBOARD_SECURE_COOKIES" envDefault:"false"`
	DashboardLowStock      int  `env:"DASHBOARD_LOW_STOCK" envDefault:"5"`

	// The HTTP servers' (API and ops) limits; 0 takes the default (for the
	// write timeout: REQUEST_TIMEOUT + 10s, so that a slow answer is not cut).
	HTTPReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5s"`
	HTTPReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"10s"`
	HTTPWriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT"`
	HTTPIdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"60s"`
	HTTPMaxHeaderBytes    int           `env:"HTTP_MAX_HEADER_BYTES" envDefault:"16384"`
}

// MaxHTTPHeaderBytes is the most HTTP_MAX_HEADER_BYTES may be.
const MaxHTTPHeaderBytes = 64 << 10

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
	if c.StockLevelInterval < 0 {
		errs = append(errs, errors.New("STOCK_LEVEL_INTERVAL must not be negative"))
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
	if c.Auth != "" && c.Auth != "on" && c.Auth != "off" {
		errs = append(errs, fmt.Errorf("AUTH must be on or off, not %q", c.Auth))
	}
	if c.JWTIssuer != "" && (c.JWTAudience == "" || c.JWTJWKSURL == "") {
		errs = append(errs, errors.New("JWT_ISSUER needs JWT_AUDIENCE and JWT_JWKS_URL"))
	}
	if c.JWTIssuer != "" && (c.JWTRoleClaim == "" || c.JWTCustomerClaim == "") {
		errs = append(errs, errors.New("JWT_ROLE_CLAIM and JWT_CUSTOMER_CLAIM must not be empty"))
	}
	if _, _, err := c.RateLimits(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxOpenOrders < 0 || c.MaxOpenUnits < 0 {
		errs = append(errs, errors.New("MAX_OPEN_ORDERS and MAX_OPEN_UNITS must not be negative"))
	}
	if c.HTTPReadHeaderTimeout < 0 || c.HTTPReadTimeout < 0 || c.HTTPWriteTimeout < 0 || c.HTTPIdleTimeout < 0 {
		errs = append(errs, errors.New("HTTP_READ_HEADER_TIMEOUT, HTTP_READ_TIMEOUT, HTTP_WRITE_TIMEOUT and HTTP_IDLE_TIMEOUT must not be negative"))
	}
	if c.HTTPWriteTimeout > 0 && c.HTTPWriteTimeout <= c.RequestTimeout {
		errs = append(errs, fmt.Errorf("HTTP_WRITE_TIMEOUT (%s) must be above REQUEST_TIMEOUT (%s), or answers to slow commands are cut", c.HTTPWriteTimeout, c.RequestTimeout))
	}
	if c.DashboardLowStock < 0 {
		errs = append(errs, errors.New("DASHBOARD_LOW_STOCK must not be negative"))
	}
	if c.HTTPMaxHeaderBytes < 0 || c.HTTPMaxHeaderBytes > MaxHTTPHeaderBytes {
		errs = append(errs, fmt.Errorf("HTTP_MAX_HEADER_BYTES must be from 1 to %d", MaxHTTPHeaderBytes))
	}
	return errors.Join(errs...)
}

// RateLimits returns the rate limits per role and for requests without valid credentials.
func (c Config) RateLimits() (map[httpapi.Role]httpapi.Limit, httpapi.Limit, error) {
	byRole := map[httpapi.Role]httpapi.Limit{}
	var errs []error
	for _, l := range []struct {
		name, value string
		role        httpapi.Role
	}{
		{"RATE_LIMIT_CUSTOMER", c.RateLimitCustomer, httpapi.RoleCustomer},
		{"RATE_LIMIT_OPERATOR", c.RateLimitOperator, httpapi.RoleOperator},
		{"RATE_LIMIT_COURIER", c.RateLimitCourier, httpapi.RoleCourier},
	} {
		lim, err := parseLimit(l.name, l.value)
		errs = append(errs, err)
		byRole[l.role] = lim
	}
	anonymous, err := parseLimit("RATE_LIMIT_ANONYMOUS", c.RateLimitAnonymous)
	errs = append(errs, err)
	return byRole, anonymous, errors.Join(errs...)
}

// parseLimit reads RATE:BURST; empty or "off" is no limit.
func parseLimit(name, s string) (httpapi.Limit, error) {
	if s == "" || s == "off" {
		return httpapi.Limit{}, nil
	}
	r, b, ok := strings.Cut(s, ":")
	rate, err1 := strconv.ParseFloat(r, 64)
	burst, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || rate <= 0 || math.IsInf(rate, 0) || burst < 1 {
		return httpapi.Limit{}, fmt.Errorf("%s must be RATE:BURST (a positive number of requests per second, a positive burst) or off, not %q", name, s)
	}
	return httpapi.Limit{Rate: rate, Burst: burst}, nil
}

// DemoCatalogue is the stock seeded at start (SEED_DEMO), so the first order works.
var DemoCatalogue = map[string]int{
	"SKU-1": 100,
	"SKU-2": 50,
	"SKU-3": 10,
}
