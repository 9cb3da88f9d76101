// Command gateway runs the gateway alone, talking to the others over Kafka
// (KAFKA_BROKERS must be set). See the README's configuration table.
//
//	gateway               the gateway, until SIGINT or SIGTERM
//	gateway healthcheck   exit 0 when this process's /readyz says ready
package main

import (
	"os"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
)

func main() { os.Exit(wiring.Main("gateway", os.Args[1:], os.Stderr)) }
