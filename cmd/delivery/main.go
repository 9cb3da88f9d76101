// Command delivery runs the delivery service alone, talking to the others over Kafka
// (KAFKA_BROKERS must be set). See the README's configuration table.
//
//	delivery               the delivery service, until SIGINT or SIGTERM
//	delivery healthcheck   exit 0 when this process's /readyz says ready
package main

import (
	"os"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
)

func main() { os.Exit(wiring.Main("delivery", os.Args[1:], os.Stderr)) }
