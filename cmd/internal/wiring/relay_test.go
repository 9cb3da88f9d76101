package wiring_test

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"

	"github.com/orderflow/orderflow/cmd/internal/wiring/wiringtest"
)

// The orders service saves the order, then publishing OrderPlaced fails and
// the PlaceOrder command never comes again: the relay publishes it, and the
// order goes on to CONFIRMED without any redelivery.
func TestRelayPublishesWhatAFailedPublishLeft(t *testing.T) {
	t.Parallel()
	wiringtest.RelayPublishesWhatAFailedPublishLeft(t, 20*time.Millisecond)
}

// A consumer's handling of the message that moves an order on is poisoned:
// the order would wait for good. The sweeper sends the message again once the
// order has waited SAGA_STUCK_AFTER, and the order moves on.
func TestSweeperDrivesOnAnOrderWhoseMessageWasPoisoned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, handler, poison, message, status string
	}{
		{"OrderPlaced poisoned in inventory", "inventory.order_events", messages.TopicInventoryPoison, "OrderPlaced", messages.OrderStatusPending},
		{"OrderConfirmed poisoned in delivery", "delivery.order_events", messages.TopicDeliveryPoison, "OrderConfirmed", messages.OrderStatusConfirmed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var healed atomic.Bool
			broken := errors.New("cannot handle this order yet")
			failing := func(h message.HandlerFunc) message.HandlerFunc {
				return func(msg *message.Message) ([]*message.Message, error) {
					if !healed.Load() && message.HandlerNameFromCtx(msg.Context()) == tt.handler && msg.Metadata.Get("name") == tt.message &&
						bytes.Contains(msg.Payload, []byte(`"customer_id":"c-stuck"`)) {
						return nil, broken
					}
					return h(msg)
				}
			}
			reg := prometheus.NewRegistry()
			h := start(t, withSweeper(20*time.Millisecond, 300*time.Millisecond), withMiddleware(failing), withMetrics(reg))
			h.SetStock("SKU-A", 10)

			id := h.PlaceOrder("c-stuck", []messages.Item{item("SKU-A", 2)})
			waitPublished(t, h, tt.poison, tt.message, id)
			o, _ := h.Order(id)
			require.Equal(t, tt.status, o.Status, "stuck")
			healed.Store(true)

			o = h.WaitStatus(id, messages.OrderStatusConfirmed)
			h.WaitShipment(id, messages.ShipmentStatusScheduled)
			assert.Equal(t, []string{"PENDING", "CONFIRMED"}, statuses(o), "a nudge is no change of the order")
			h.WaitStock("SKU-A", messages.StockLevel{OnHand: 10, Reserved: 2, Available: 8})
			assert.Positive(t, counterValue(t, reg, "orderflow_saga_nudges_total", map[string]string{"status": tt.status}))
		})
	}
}
