package wiring

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/Shopify/sarama"
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

// RunProcess runs the named services in this process until ctx is done, with
// the configuration its main loaded (LoadConfig): on Kafka when KAFKA_BROKERS
// is set (any subset of services), else on GoChannel (all four, since services
// talk only through messages); with MongoDB stores when MONGODB_URI is set,
// else in memory.
func RunProcess(ctx context.Context, cfg Config, which []string) error {
	pcfg := cfg.Process
	logger, err := logging.New(os.Stderr, pcfg.LogFormat, pcfg.LogLevel)
	if err != nil {
		return fmt.Errorf("LOG_LEVEL or LOG_FORMAT: %w", err)
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
		if auth, err = cfg.Gateway.Authenticator(ctx, !pcfg.Kafka(), logger); err != nil {
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
	stores, opened, err := OpenStores(ctx, pcfg, o.Registry, traces.MongoMonitor())
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
		if pcfg.KafkaClientLog {
			// Sarama has one logger for the process; set before any client exists.
			sarama.Logger = slog.NewLogLogger(logger.With("component", "sarama").Handler(), slog.LevelInfo)
		}
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
			api = o.InstrumentHTTP(s.Handler, routeTemplate)
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
		apiServer = cfg.HTTPServer(cfg.Gateway.HTTPAddr, api)
	}
	logger.Info("starting", append(append(append([]any{"services", which}, transport...), opened.Describe...), "courier", cfg.Delivery.Courier)...)
	if cfg.Inventory.SeedDemo && slices.Contains(which, "inventory") {
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
		ShutdownTimeout: pcfg.ShutdownTimeout,
		Started:         func() { logger.Info("ready") },
	})
	if cause := context.Cause(ctx); errors.Is(cause, ErrStalled) {
		err = errors.Join(cause, err)
	}
	logger.Info("stopped", "error", err)
	return err
}

// Healthcheck asks the /readyz of the process this configuration is of, on
// this host (for container health checks, where the image has no curl). It
// returns nil when the process is ready.
func Healthcheck(ctx context.Context, pcfg ProcessConfig) error {
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
