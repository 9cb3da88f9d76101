// Command orderflow runs the whole system. Without KAFKA_BROKERS it runs all
// four services in one process on GoChannel (the embedded mode of `task
// run:all`); with KAFKA_BROKERS it starts the four as separate processes of
// itself and supervises them, like the original design's start:all: one that
// exits is started again after a backoff, and SIGINT or SIGTERM stops them
// all. Data is kept in memory, or in MongoDB when MONGODB_URI is set.
//
//	orderflow                      the whole system (see above)
//	orderflow -service inventory   one service in this process (needs KAFKA_BROKERS)
//	orderflow healthcheck          exit 0 when this process's /readyz says ready
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/infra/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "orderflow:", err)
		os.Exit(1)
	}
}

// run is the whole program; ctx ends with SIGINT or SIGTERM. It reads the
// configuration once, and every branch runs on it.
func run(ctx context.Context, args []string) error {
	flags := flag.NewFlagSet("orderflow", flag.ContinueOnError)
	service := flags.String("service", "all", "all, or one of: gateway, orders, inventory, delivery")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg, err := wiring.LoadConfig()
	if err != nil {
		return err
	}
	switch {
	case flags.Arg(0) == "healthcheck":
		return wiring.Healthcheck(ctx, cfg.Process)
	case *service != "all":
		return wiring.RunProcess(ctx, cfg, []string{*service})
	case !cfg.Process.Kafka():
		return wiring.RunProcess(ctx, cfg, wiring.AllServices)
	default:
		return supervise(ctx, cfg)
	}
}

// supervise starts each service as a child process of this binary, each with
// its own ops port (OPS_ADDR's port + 0, 1, 2, 3), restarts one that exits
// (see supervisor), and stops them all with SIGTERM when ctx is done. The
// children read the same environment; cfg, checked already, reports a bad
// value once, before anything starts.
func supervise(ctx context.Context, cfg wiring.Config) error {
	logger, err := logging.New(os.Stderr, cfg.Process.LogFormat, cfg.Process.LogLevel)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	opsAddr := cfg.Process.OpsAddr
	host, portText, err := net.SplitHostPort(opsAddr)
	if err != nil {
		return fmt.Errorf("OPS_ADDR %q: %w", opsAddr, err)
	}
	basePort, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("OPS_ADDR %q: %w", opsAddr, err)
	}
	s := &supervisor{
		logger:  logger.With("process", "supervisor"),
		backoff: defaultBackoff,
		// A child gets its own SHUTDOWN_TIMEOUT to drain, and some time beyond
		// it to close its connections, before it is killed.
		stopTimeout: cfg.Process.ShutdownTimeout + 30*time.Second,
		clock:       realClock{},
		stdout:      os.Stdout,
		stderr:      os.Stderr,
	}
	for i, name := range wiring.AllServices {
		s.children = append(s.children, childSpec{
			name: name,
			path: exe,
			args: []string{"-service", name},
			env:  append(os.Environ(), "OPS_ADDR="+net.JoinHostPort(host, strconv.Itoa(basePort+i))),
		})
	}
	return s.run(ctx)
}
