package messages

import "fmt"

// Event topics: one per producing service, so that all events of one order from
// one service share a topic (and, on Kafka, a partition) and are seen in order.
const (
	TopicOrderEvents     = "orders.events"
	TopicInventoryEvents = "inventory.events"
	TopicDeliveryEvents  = "delivery.events"
)

// TopicReplies carries the replies of request/reply commands back to the gateway.
const TopicReplies = "gateway.replies"

// Poison topics: one per service; a message that cannot be handled ends there with its reason.
const (
	TopicOrdersPoison    = "orders.poison"
	TopicInventoryPoison = "inventory.poison"
	TopicDeliveryPoison  = "delivery.poison"
	TopicGatewayPoison   = "gateway.poison"
)

// commandTopics maps each command name to its topic; the name of a topic says
// which service consumes it.
var commandTopics = map[string]string{
	"PlaceOrder":       "orders.commands.place_order",
	"CancelOrder":      "orders.commands.cancel_order",
	"SetStock":         "inventory.commands.set_stock",
	"DispatchShipment": "delivery.commands.dispatch_shipment",
	"DeliverShipment":  "delivery.commands.deliver_shipment",
	"FailShipment":     "delivery.commands.fail_shipment",
}

// eventTopics maps each event name to the topic of the service that publishes it.
var eventTopics = map[string]string{
	"OrderPlaced":            TopicOrderEvents,
	"OrderConfirmed":         TopicOrderEvents,
	"OrderRejected":          TopicOrderEvents,
	"OrderCancelled":         TopicOrderEvents,
	"OrderShipped":           TopicOrderEvents,
	"OrderDelivered":         TopicOrderEvents,
	"OrderDeliveryFailed":    TopicOrderEvents,
	"StockReserved":          TopicInventoryEvents,
	"StockReservationFailed": TopicInventoryEvents,
	"StockReleased":          TopicInventoryEvents,
	"StockCommitted":         TopicInventoryEvents,
	"StockLevelChanged":      TopicInventoryEvents,
	"ShipmentScheduled":      TopicDeliveryEvents,
	"ShipmentDispatched":     TopicDeliveryEvents,
	"ShipmentDelivered":      TopicDeliveryEvents,
	"ShipmentFailed":         TopicDeliveryEvents,
	"ShipmentCancelled":      TopicDeliveryEvents,
}

// CommandTopic returns the topic of the command with the given name.
func CommandTopic(commandName string) (string, error) {
	t, ok := commandTopics[commandName]
	if !ok {
		return "", fmt.Errorf("no topic for command %q", commandName)
	}
	return t, nil
}

// EventTopic returns the topic of the event with the given name.
func EventTopic(eventName string) (string, error) {
	t, ok := eventTopics[eventName]
	if !ok {
		return "", fmt.Errorf("no topic for event %q", eventName)
	}
	return t, nil
}

// AllTopics lists every topic the system uses, for creating them up front on a broker.
func AllTopics() []string {
	topics := []string{
		TopicOrderEvents, TopicInventoryEvents, TopicDeliveryEvents, TopicReplies,
		TopicOrdersPoison, TopicInventoryPoison, TopicDeliveryPoison, TopicGatewayPoison,
		TopicRetries,
	}
	for _, t := range commandTopics {
		topics = append(topics, t)
	}
	for _, t := range poisonServices {
		topics = append(topics, t)
	}
	return topics
}
