// Command orderflow runs the whole system. Without KAFKA_BROKERS it runs all
// four services in one process on GoChannel (the embedded mode of `task
// run:all`); with KAFKA_BROKERS it starts the four as separate processes of
// itself and supervises them, like the original design's start:all. Data is
// kept in memory, or in MongoDB when MONGODB_URI is set.
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
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/infra/logging"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		wiring.Main()
		return
	}
	service := flag.String("service", "all", "all, or one of: gateway, orders, inventory, delivery")
	flag.Parse()
	if *service != "all" {
		wiring.Main(*service)
		return
	}
	if os.Getenv("KAFKA_BROKERS") == "" {
		wiring.Main(wiring.AllServices...)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := supervise(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "orderflow:", err)
		stop()
		os.Exit(1)
	}
}

// supervise starts each service as a child process of this binary, each with
// its own ops port (OPS_ADDR's port + 0, 1, 2, 3), stops them all with SIGTERM
// when ctx is done or one of them exits, and waits for them.
func supervise(ctx context.Context) error {
	// The children read the same configuration; checking it here reports a bad
	// value once, before anything starts, and logs as they do.
	cfg, err := wiring.LoadConfig()
	if err != nil {
		return err
	}
	if _, err := wiring.LoadProcessConfig(); err != nil {
		return err
	}
	logger, err := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	logger = logger.With("process", "supervisor")
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	opsAddr := os.Getenv("OPS_ADDR")
	if opsAddr == "" {
		opsAddr = ":9100"
	}
	host, portText, err := net.SplitHostPort(opsAddr)
	if err != nil {
		return fmt.Errorf("OPS_ADDR %q: %w", opsAddr, err)
	}
	basePort, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("OPS_ADDR %q: %w", opsAddr, err)
	}
	type child struct {
		name string
		cmd  *exec.Cmd
		done chan error
	}
	var children []child
	exited := make(chan string, len(wiring.AllServices))
	stopAll := func() {
		for _, c := range children {
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for i, name := range wiring.AllServices {
		cmd := exec.Command(exe, "-service", name)
		cmd.Env = append(os.Environ(), "OPS_ADDR="+net.JoinHostPort(host, strconv.Itoa(basePort+i)))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			stopAll()
			return fmt.Errorf("start %s: %w", name, err)
		}
		c := child{name: name, cmd: cmd, done: make(chan error, 1)}
		go func() { c.done <- cmd.Wait(); exited <- name }()
		children = append(children, c)
		logger.Info("started service process", "service", name, "pid", cmd.Process.Pid, "ops_addr", net.JoinHostPort(host, strconv.Itoa(basePort+i)))
	}
	var failure error
	select {
	case <-ctx.Done():
		logger.Info("stopping service processes")
	case name := <-exited:
		failure = fmt.Errorf("service %s exited; stopping the others", name)
		logger.Error(failure.Error())
	}
	stopAll()
	var errs []error
	for _, c := range children {
		select {
		case err := <-c.done:
			if err != nil && failure == nil {
				errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
			}
		case <-time.After(60 * time.Second):
			_ = c.cmd.Process.Kill()
			errs = append(errs, fmt.Errorf("%s did not stop within 60s and was killed", c.name))
		}
	}
	return errors.Join(append([]error{failure}, errs...)...)
}
