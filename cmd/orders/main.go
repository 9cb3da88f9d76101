// Command orders runs the orders service alone, talking to the others over Kafka
// (KAFKA_BROKERS must be set). See the README's configuration table.
package main

import "github.com/orderflow/orderflow/cmd/internal/wiring"

func main() { wiring.Main("orders") }
