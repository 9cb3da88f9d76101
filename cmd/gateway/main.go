// Command gateway runs the gateway alone, talking to the others over Kafka
// (KAFKA_BROKERS must be set). See the README's configuration table.
//
//	gateway               the gateway, until SIGINT or SIGTERM
//	gateway healthcheck   exit 0 when this process's /readyz says ready
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, os.Args[0]+":", err)
		os.Exit(1)
	}
}

// run reads the configuration once and runs the gateway until ctx is done,
// or with "healthcheck" asks the running one whether it is ready.
func run(ctx context.Context, args []string) error {
	cfg, err := wiring.LoadConfig()
	if err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "healthcheck" {
		return wiring.Healthcheck(ctx, cfg.Process)
	}
	return wiring.RunProcess(ctx, cfg, []string{"gateway"})
}
