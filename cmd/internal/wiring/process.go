package wiring

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/Shopify/sarama"
	"github.com/caarlos0/env/v11"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel"

	"github.com/orderflow/orderflow/handlers/httpapi"
	"github.com/orderflow/orderflow/infra/logging"
	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/infra/ops"
	"github.com/orderflow/orderflow/infra/pubsub"
	"github.com/orderflow/orderflow/infra/tracing"
)

// AllServices names the services, in the order a process starts them.
var AllServices = []string{"orders", "inventory", "delivery", "gateway"}

// ProcessConfig is the part of the configuration that says how a process is
// deployed: its transport and its operational port.
type ProcessConfig struct {
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
	// OpsAddr serves /healthz, /readyz and /metrics; empty turns it off. The
	// default listens on loopback only; containers set :9100.
	OpsAddr string `env:"OPS_ADDR" envDefault:"127.0.0.1:9100"`
	// InstanceID names this process (the gateway's reply consumer group); default host-pid-random.
	InstanceID string `env:"INSTANCE_ID"`
	// StallExitAfter is how long a handler may fail on an infrastructure fault
	// while the broker and the store answer before the process exits non-zero
	// for its supervisor to restart it; 0 never exits.
	StallExitAfter time.Duration `env:"STALL_EXIT_AFTER" envDefault:"2m"`

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

// LoadProcessConfig reads and validates the process configuration.
func LoadProcessConfig() (ProcessConfig, error) {
	c, err := env.ParseAs[ProcessConfig]()
	if err != nil {
		return ProcessConfig{}, fmt.Errorf("read configuration: %w", err)
	}
	if c.InstanceID == "" {
		host, _ := os.Hostname()
		c.InstanceID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	var errs []error
	if len(c.KafkaBrokers) > 0 {
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
	return c, errors.Join(errs...)
}

// Kafka reports whether the process talks over Kafka.
func (c ProcessConfig) Kafka() bool { return len(c.KafkaBrokers) > 0 }

// RunProcess runs the named services in this process until ctx is done: on
// Kafka when KAFKA_BROKERS is set (any subset of services), else on GoChannel
// (all four, since services talk only through messages); with MongoDB stores
// when MONGODB_URI is set, else in memory.
func RunProcess(ctx context.Context, which []string) error {
	cfg, err := LoadConfig()
	if err != nil {
		return err
	}
	pcfg, err := LoadProcessConfig()
	if err != nil {
		return err
	}
	logger, err := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	for _, name := range which {
		if !slices.Contains(AllServices, name) {
			return fmt.Errorf("unknown service %q: want one of %s", name, strings.Join(AllServices, ", "))
		}
	}
	if !pcfg.Kafka() && len(which) < len(AllServices) {
		return fmt.Errorf("running %s without the other services needs KAFKA_BROKERS: services talk only through messages", strings.Join(which, ", "))
	}
	logger = logger.With("process", strings.Join(which, "+"))
	var auth httpapi.Authenticator
	if slices.Contains(which, "gateway") {
		// Before anything starts: a deployment without credentials does not start.
		if auth, err = cfg.Authenticator(ctx, !pcfg.Kafka(), logger); err != nil {
			return err
		}
	}

	system := "gochannel"
	if pcfg.Kafka() {
		system = "kafka"
	}
	traces, err := tracing.FromConfig(ctx, pcfg.Tracing(), tracing.WithMessagingSystem(system))
	if err != nil {
		return err
	}
	if traces.Enabled() {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { logger.Warn("tracing", "error", err) }))
		logger.Info("tracing: exporting spans over OTLP/HTTP", "endpoint", cmp.Or(pcfg.OTelTracesEndpoint, pcfg.OTelEndpoint, "http://localhost:4318"))
		// Deferred first, so it runs last: the last spans are flushed once everything has stopped.
		defer func() {
			flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := traces.Shutdown(flushCtx); err != nil {
				logger.Warn("tracing: spans not all exported at stop", "error", err)
			}
		}()
	}

	o := ops.New("orderflow")
	stores, opened, err := OpenStores(ctx, cfg, o.Registry, traces.MongoMonitor())
	if err != nil {
		return err
	}
	defer opened.Close()

	// The checks of what the process depends on, which the watchdog asks before giving up.
	var deps []ops.Check
	var ps pubsub.PubSub
	transport := []any{"pubsub", "gochannel (in process)"}
	if pcfg.Kafka() {
		version, _ := sarama.ParseKafkaVersion(pcfg.KafkaVersion)
		kcfg := pubsub.KafkaConfig{Brokers: pcfg.KafkaBrokers, Version: version, Partitions: pcfg.KafkaPartitions,
			ReplicationFactor: pcfg.KafkaReplicationFactor, ConsumerConcurrency: pcfg.KafkaConsumerConcurrency,
			ClientID: "orderflow-" + strings.Join(which, "-"), Prefix: pcfg.KafkaTopicPrefix}
		startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		ps, err = pubsub.NewKafka(startCtx, kcfg, logging.Watermill(logger))
		cancel()
		if err != nil {
			return fmt.Errorf("connect to Kafka at %v: %w", pcfg.KafkaBrokers, err)
		}
		deps = append(deps, ops.Check{Name: "kafka", Check: func(ctx context.Context) error { return pubsub.Ping(ctx, kcfg) }})
		transport = []any{"pubsub", "kafka", "brokers", pcfg.KafkaBrokers, "partitions", pcfg.KafkaPartitions,
			"consumer_concurrency", pcfg.KafkaConsumerConcurrency}
	} else {
		ps = pubsub.NewGoChannel(logging.Watermill(logger))
	}
	defer func() { _ = ps.Close() }()
	if opened.Ping != nil {
		deps = append(deps, ops.Check{Name: "mongodb", Check: opened.Ping})
	}
	for _, d := range deps {
		o.AddCheck(d)
	}
	stalls := messaging.NewStalls()
	o.AddCheck(ops.Check{Name: "handlers", Check: stalls.Check})

	gatewayGroup := "gateway.replies"
	if pcfg.Kafka() {
		// Every gateway instance reads every reply and keeps those it waits for.
		gatewayGroup = "gateway.replies." + pcfg.InstanceID
	}
	services, err := NewServices(ctx, Deps{Config: cfg, PubSub: ps, Logger: logger, Metrics: o.Registry, Stalls: stalls, Auth: auth, Tracing: traces}, stores, which, gatewayGroup, o.Ready)
	if err != nil {
		return err
	}
	var api http.Handler
	for _, s := range services {
		o.AddRouter(s.Name, s.Router)
		if s.Ready != nil {
			o.AddCheck(ops.Check{Name: s.Name, Check: s.Ready})
		}
		if s.Handler != nil {
			api = o.InstrumentHTTP(s.Handler, RouteTemplate)
		}
	}

	var opsServer *http.Server
	if pcfg.OpsAddr != "" {
		// A plain net.Listen: a context here would only make a shutdown that has
		// already begun fail the start instead of ending it cleanly.
		ln, err := net.Listen("tcp", pcfg.OpsAddr) //nolint:noctx // see above
		if err != nil {
			return fmt.Errorf("listen on OPS_ADDR %s: %w", pcfg.OpsAddr, err)
		}
		opsServer = cfg.HTTPServer(pcfg.OpsAddr, o.Handler())
		go func() { _ = opsServer.Serve(ln) }()
		defer func() {
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = opsServer.Shutdown(shutdownCtx)
		}()
		logger.Info("ops endpoints listening", "addr", ln.Addr().String(), "paths", "/healthz /readyz /metrics")
	}

	var apiServer *http.Server
	if api != nil {
		apiServer = cfg.HTTPServer(cfg.HTTPAddr, api)
	}
	logger.Info("starting", append(append(append([]any{"services", which}, transport...), opened.Describe...), "courier", cfg.Courier)...)
	if cfg.SeedDemo && slices.Contains(which, "inventory") {
		logger.Info("demo catalogue seeded where missing", "stock", DemoCatalogue)
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if pcfg.StallExitAfter > 0 {
		go watchdog(ctx, stalls, deps, pcfg.StallExitAfter, time.Second, logger, stop)
	}
	err = Run(ctx, services, logger, RunOptions{
		HTTPServer:      apiServer,
		Drain:           ps.Drain,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Started:         func() { logger.Info("ready") },
	})
	if cause := context.Cause(ctx); errors.Is(cause, ErrStalled) {
		err = errors.Join(cause, err)
	}
	logger.Info("stopped", "error", err)
	return err
}

// RouteTemplate names a request's route for metrics without its ids, so the
// label space stays small: /orders/{id}/cancel, /inventory/{sku}, ...
func RouteTemplate(r *http.Request) string {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 1:
		return "/" + parts[0]
	case len(parts) == 2 && parts[0] == "orders":
		return "/orders/{id}"
	case len(parts) == 2 && parts[0] == "inventory":
		return "/inventory/{sku}"
	case len(parts) == 3 && parts[0] == "orders":
		return "/orders/{id}/" + parts[2]
	case len(parts) == 3 && parts[0] == "deliveries":
		return "/deliveries/{id}/" + parts[2]
	}
	return "other"
}

// Healthcheck asks this process's own /readyz (for container health checks,
// where the image has no curl). It returns nil when the process is ready.
func Healthcheck(ctx context.Context) error {
	pcfg, err := LoadProcessConfig()
	if err != nil {
		return err
	}
	_, port, err := net.SplitHostPort(pcfg.OpsAddr)
	if err != nil {
		return fmt.Errorf("OPS_ADDR %q: %w", pcfg.OpsAddr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s", resp.Status)
	}
	return nil
}
