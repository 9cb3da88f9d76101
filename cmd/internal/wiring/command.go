package wiring

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main is the body of the main of a command that runs one service (cmd/gateway,
// cmd/orders, cmd/inventory, cmd/delivery): `<command>` runs it until SIGINT or
// SIGTERM, `<command> healthcheck` asks the running process's /readyz (for
// container health checks). It returns the exit code, for main to pass to
// os.Exit: nothing below main exits the process.
func Main(service string, args []string, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runCommand(ctx, service, args); err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", service, err) // nowhere left to report a failed write
		return 1
	}
	return 0
}

// runCommand reads the configuration once and runs service until ctx is done,
// or with "healthcheck" asks the running one whether it is ready.
func runCommand(ctx context.Context, service string, args []string) error {
	cfg, err := LoadConfig()
	if err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "healthcheck" {
		return Healthcheck(ctx, cfg.Process)
	}
	return RunProcess(ctx, cfg, []string{service})
}
