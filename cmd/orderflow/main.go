// Command orderflow runs all four services (gateway, orders, inventory,
// delivery) in one process, wired through GoChannel with in-memory stores: the
// embedded mode of `task run:all`.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/infra/logging"
	"github.com/orderflow/orderflow/infra/pubsub"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "orderflow:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := wiring.LoadConfig()
	if err != nil {
		return err
	}
	logger, err := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	ps := pubsub.NewGoChannel(logging.Watermill(logger))
	defer ps.Close()
	stores := wiring.NewMemoryStores()
	services, err := wiring.NewAll(ctx, wiring.Deps{Config: cfg, PubSub: ps, Logger: logger}, stores)
	if err != nil {
		return err
	}
	var gateway http.Handler
	for _, s := range services {
		if s.Handler != nil {
			gateway = s.Handler
		}
	}
	server := &http.Server{Addr: cfg.HTTPAddr, Handler: gateway, ReadHeaderTimeout: 5 * time.Second}
	logger.Info("starting all services in one process",
		"pubsub", "gochannel (in process)", "storage", "in memory: data is lost when the process stops",
		"courier", cfg.Courier)
	if cfg.SeedDemo {
		logger.Info("demo catalogue seeded", "stock", wiring.DemoCatalogue)
	}
	err = wiring.Run(ctx, services, logger, wiring.RunOptions{
		HTTPServer:      server,
		Drain:           ps.Drain,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Started:         func() { logger.Info("ready", "api", "http://localhost"+portOf(cfg.HTTPAddr)) },
	})
	logger.Info("stopped")
	return err
}

func portOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i:]
		}
	}
	return addr
}
