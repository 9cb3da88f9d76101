package wiringtest

import "github.com/orderflow/orderflow/messages"

// OrderTraceChain is the causal chain of spans from POST /orders to the
// delivery service taking the confirmed order, each as "service: span name
// [message name]": what the trace of one order shows, in one process
// (cmd/internal/wiring) and across four (cmd/orderflow).
func OrderTraceChain() []string {
	placeOrderTopic, err := messages.CommandTopic("PlaceOrder")
	if err != nil {
		panic(err) // PlaceOrder is a command of messages' own table
	}
	return []string{
		"gateway: POST /orders []",
		"gateway: send " + placeOrderTopic + " [PlaceOrder]",
		"orders: process " + placeOrderTopic + " [PlaceOrder]",
		"orders: send orders.events [OrderPlaced]",
		"inventory: process orders.events [OrderPlaced]",
		"inventory: send inventory.events [StockReserved]",
		"orders: process inventory.events [StockReserved]",
		"orders: send orders.events [OrderConfirmed]",
		"delivery: process orders.events [OrderConfirmed]",
	}
}
