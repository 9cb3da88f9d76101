// Package wiring composes the services out of app, handlers and infra: one
// place that knows which adapter goes where, used by every main in cmd/ and by
// the component tests. A service's composition and its configuration are in
// its own file (orders.go, inventory.go, delivery.go, gateway.go); what they
// share in deps.go; the running of a process in process.go.
package wiring

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/Shopify/sarama"
	"github.com/caarlos0/env/v11"
	"github.com/google/uuid"

	"github.com/orderflow/orderflow/infra/tracing"
)

// Config is the whole configuration, read from the environment once, by a
// main (LoadConfig), and passed down. Each part names the process kind that
// reads it; every process validates all of it, so that a bad value stops any
// process at start. The README's configuration table lists every variable
// (EnvVariables); keep the two in step.
type Config struct {
	// Process is what every process reads: transport, stores, ops, logs,
	// tracing, handler retries, shutdown.
	Process   ProcessConfig
	Gateway   GatewayConfig
	Orders    OrdersConfig
	Inventory InventoryConfig
	Delivery  DeliveryConfig
}

// ProcessConfig is the part of the configuration that every process reads,
// whichever services it runs: how it is deployed (its transport, its stores,
// its operational port) and how its handlers and servers behave.
type ProcessConfig struct {
	// LogLevel is debug, info, warn or error; LogFormat is json or text.
	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"text"`
	// ShutdownTimeout bounds how long stopping waits for in-flight work.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"30s"`

	// Retries of a failing handler before its message goes to the poison queue.
	RetryMax     int           `env:"RETRY_MAX" envDefault:"5"`
	RetryInitial time.Duration `env:"RETRY_INITIAL_INTERVAL" envDefault:"50ms"`
	RetryMaxWait time.Duration `env:"RETRY_MAX_INTERVAL" envDefault:"2s"`

	// OutboxRelayInterval is how often each stateful service (orders,
	// inventory, delivery) publishes the events its store still holds
	// unpublished OutboxRelayAfter after their change (a failed publish, a
	// crash, a poisoned message); 0 turns the relay off.
	OutboxRelayInterval time.Duration `env:"OUTBOX_RELAY_INTERVAL" envDefault:"1s"`
	OutboxRelayAfter    time.Duration `env:"OUTBOX_RELAY_AFTER" envDefault:"2s"`

	// MongoDBURI keeps the services' data in MongoDB when set; empty keeps it
	// in memory, lost when the process stops.
	MongoDBURI string `env:"MONGODB_URI"`
	// MongoDBDatabasePrefix starts the name of each service's own database:
	// <prefix>orders, <prefix>inventory, <prefix>delivery, and <prefix>gateway (the view).
	MongoDBDatabasePrefix string `env:"MONGODB_DATABASE_PREFIX" envDefault:"orderflow_"`

	// KafkaBrokers switches the transport from GoChannel to Kafka.
	KafkaBrokers []string `env:"KAFKA_BROKERS" envSeparator:","`
	// KafkaVersion is the protocol version Sarama speaks (3.3.1 works with Kafka 3.x and 4.x).
	KafkaVersion           string `env:"KAFKA_VERSION" envDefault:"3.3.1"`
	KafkaPartitions        int32  `env:"KAFKA_PARTITIONS" envDefault:"4"`
	KafkaReplicationFactor int16  `env:"KAFKA_REPLICATION_FACTOR" envDefault:"1"`
	// KafkaConsumerConcurrency is how many messages of one partition a handler
	// has in flight at once, one at a time per partition key; 1 is
	// watermill-kafka's subscriber (one message per partition at a time).
	KafkaConsumerConcurrency int `env:"KAFKA_CONSUMER_CONCURRENCY" envDefault:"16"`
	// KafkaTopicPrefix goes before every topic and consumer group name.
	KafkaTopicPrefix string `env:"KAFKA_TOPIC_PREFIX"`
	// KafkaClientLog logs what the Kafka client (Sarama) does: connections,
	// group joins, rebalances, commits. Verbose; for finding out why a
	// consumer does not consume.
	KafkaClientLog bool `env:"KAFKA_CLIENT_LOG" envDefault:"false"`

	// OpsAddr serves /healthz, /readyz and /metrics; empty turns it off. The
	// default listens on loopback only; containers set :9100.
	OpsAddr string `env:"OPS_ADDR" envDefault:"127.0.0.1:9100"`
	// InstanceID names this process (the gateway's reply consumer group); default host-pid-random.
	InstanceID string `env:"INSTANCE_ID"`
	// StallExitAfter is how long a handler may fail on an infrastructure fault
	// while the broker and the store answer before the process exits non-zero
	// for its supervisor to restart it; 0 never exits.
	StallExitAfter time.Duration `env:"STALL_EXIT_AFTER" envDefault:"2m"`

	// The HTTP servers' (the gateway's API and every process's ops) limits; 0
	// takes the default (for the write timeout: REQUEST_TIMEOUT + 10s, so that
	// a slow answer is not cut).
	HTTPReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5s"`
	HTTPReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"10s"`
	HTTPWriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT"`
	HTTPIdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"60s"`
	HTTPMaxHeaderBytes    int           `env:"HTTP_MAX_HEADER_BYTES" envDefault:"16384"`

	// OpenTelemetry traces, configured by the specification's own variables.
	// Spans are exported (OTLP over HTTP) only when an endpoint is set or
	// OTEL_TRACES_EXPORTER=otlp; with nothing set nothing is traced. The OTLP
	// exporter and the SDK read these from the environment themselves; they
	// are here to be validated and documented.
	OTelSDKDisabled        bool   `env:"OTEL_SDK_DISABLED"`
	OTelTracesExporter     string `env:"OTEL_TRACES_EXPORTER"`
	OTelEndpoint           string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	OTelTracesEndpoint     string `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"`
	OTelProtocol           string `env:"OTEL_EXPORTER_OTLP_PROTOCOL"`
	OTelTracesProtocol     string `env:"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"`
	OTelHeaders            string `env:"OTEL_EXPORTER_OTLP_HEADERS"`
	OTelServiceName        string `env:"OTEL_SERVICE_NAME"`
	OTelResourceAttributes string `env:"OTEL_RESOURCE_ATTRIBUTES"`
	OTelTracesSampler      string `env:"OTEL_TRACES_SAMPLER"`
	OTelTracesSamplerArg   string `env:"OTEL_TRACES_SAMPLER_ARG"`
}

// MaxHTTPHeaderBytes is the most HTTP_MAX_HEADER_BYTES may be.
const MaxHTTPHeaderBytes = 64 << 10

// mongoDatabasePrefix keeps database names within what MongoDB accepts on every
// platform (no '.', '/', '$', spaces...).
var mongoDatabasePrefix = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)

// maxMongoDatabaseName is MongoDB's limit on a database name, in bytes.
const maxMongoDatabaseName = 63

// LoadConfig reads and validates the configuration from the environment; an
// unset INSTANCE_ID becomes host-pid-random. A main calls it once.
func LoadConfig() (Config, error) {
	cfg, err := env.ParseAs[Config]()
	if err != nil {
		return Config{}, fmt.Errorf("read configuration: %w", err)
	}
	if cfg.Process.InstanceID == "" {
		host, _ := os.Hostname()
		cfg.Process.InstanceID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	return cfg, cfg.Validate()
}

// Validate checks the configuration as a whole.
func (c Config) Validate() error {
	errs := c.Delivery.validate()
	errs = append(errs, c.Process.validate()...)
	errs = append(errs, c.Inventory.validate()...)
	errs = append(errs, c.Orders.validate()...)
	errs = append(errs, c.Gateway.validate()...)
	if c.Gateway.RequestTimeout <= 0 || c.Process.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("REQUEST_TIMEOUT and SHUTDOWN_TIMEOUT must be positive"))
	}
	if c.Process.HTTPWriteTimeout > 0 && c.Process.HTTPWriteTimeout <= c.Gateway.RequestTimeout {
		errs = append(errs, fmt.Errorf("HTTP_WRITE_TIMEOUT (%s) must be above REQUEST_TIMEOUT (%s), or answers to slow commands are cut",
			c.Process.HTTPWriteTimeout, c.Gateway.RequestTimeout))
	}
	return errors.Join(errs...)
}

func (c ProcessConfig) validate() []error {
	var errs []error
	if c.RetryMax < 0 {
		errs = append(errs, errors.New("RETRY_MAX must not be negative"))
	}
	if c.OutboxRelayInterval < 0 || c.OutboxRelayAfter < 0 {
		errs = append(errs, errors.New("OUTBOX_RELAY_INTERVAL and OUTBOX_RELAY_AFTER must not be negative"))
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
	if c.HTTPReadHeaderTimeout < 0 || c.HTTPReadTimeout < 0 || c.HTTPWriteTimeout < 0 || c.HTTPIdleTimeout < 0 {
		errs = append(errs, errors.New("HTTP_READ_HEADER_TIMEOUT, HTTP_READ_TIMEOUT, HTTP_WRITE_TIMEOUT and HTTP_IDLE_TIMEOUT must not be negative"))
	}
	if c.HTTPMaxHeaderBytes < 0 || c.HTTPMaxHeaderBytes > MaxHTTPHeaderBytes {
		errs = append(errs, fmt.Errorf("HTTP_MAX_HEADER_BYTES must be from 1 to %d", MaxHTTPHeaderBytes))
	}
	if c.Kafka() {
		if _, err := sarama.ParseKafkaVersion(c.KafkaVersion); err != nil {
			errs = append(errs, fmt.Errorf("KAFKA_VERSION %q: %w", c.KafkaVersion, err))
		}
		if c.KafkaPartitions < 1 || c.KafkaReplicationFactor < 1 || c.KafkaConsumerConcurrency < 1 {
			errs = append(errs, errors.New("KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR and KAFKA_CONSUMER_CONCURRENCY must be at least 1"))
		}
	}
	if c.StallExitAfter < 0 {
		errs = append(errs, errors.New("STALL_EXIT_AFTER must not be negative"))
	}
	if err := c.Tracing().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Kafka reports whether the process talks over Kafka.
func (c ProcessConfig) Kafka() bool { return len(c.KafkaBrokers) > 0 }

// Tracing returns the tracing part of the configuration.
func (c ProcessConfig) Tracing() tracing.Config {
	protocol := c.OTelTracesProtocol
	if protocol == "" {
		protocol = c.OTelProtocol
	}
	return tracing.Config{
		SDKDisabled: c.OTelSDKDisabled, Exporter: c.OTelTracesExporter,
		Endpoint: c.OTelEndpoint, TracesEndpoint: c.OTelTracesEndpoint, Protocol: protocol,
		ServiceName: c.OTelServiceName, Sampler: c.OTelTracesSampler,
	}
}

// EnvVariables lists the environment variables Config reads, part by part
// (for the checks that the README and the deployment files name only these).
func EnvVariables() []string { return envVariables(reflect.TypeFor[Config]()) }

func envVariables(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
			out = append(out, envVariables(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// HTTPServer returns an http.Server for handler with the configured limits,
// for the API and the ops endpoints alike.
func (c Config) HTTPServer(addr string, handler http.Handler) *http.Server {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	p := c.Process
	maxHeader := p.HTTPMaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = 16 << 10
	}
	return &http.Server{
		Addr:              addr,
		Handler:           handler,
		ReadHeaderTimeout: or(p.HTTPReadHeaderTimeout, 5*time.Second),
		ReadTimeout:       or(p.HTTPReadTimeout, 10*time.Second),
		WriteTimeout:      or(p.HTTPWriteTimeout, c.Gateway.RequestTimeout+10*time.Second),
		IdleTimeout:       or(p.HTTPIdleTimeout, 60*time.Second),
		MaxHeaderBytes:    maxHeader,
	}
}
