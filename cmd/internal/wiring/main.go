package wiring

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Main is the whole of a service's main: `<binary>` runs the services until
// SIGINT or SIGTERM; `<binary> healthcheck` asks the running process's /readyz
// (for container health checks) and exits 0 when it is ready.
func Main(services ...string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		err = Healthcheck(ctx)
	} else {
		err = RunProcess(ctx, services)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, os.Args[0]+":", err)
		stop()
		os.Exit(1)
	}
}
