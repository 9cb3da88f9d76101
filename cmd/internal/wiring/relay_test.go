package wiring_test

import (
	"bytes"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/messages"
)

// dropOnFailure acks the named message when its handler fails, as if the
// process died after the save or the message went to the poison queue: it
// never comes again, so only the relay or the sweeper can finish its work.
func dropOnFailure(name string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err != nil && msg.Metadata.Get("name") == name {
				return nil, nil
			}
			return out, err
		}
	}
}

// countPublished counts the messages with this name about this order, on any topic but the poison ones.
func countPublished(h *harness, name, orderID string) int {
	n := 0
	for _, r := range h.rec.all() {
		if r.Msg.Metadata.Get("name") == name && r.Msg.Metadata.Get(messages.MetadataPartitionKey) == orderID &&
			!bytes.HasSuffix([]byte(r.Topic), []byte("poison")) {
			n++
		}
	}
	return n
}

// counterValue reads a counter of the registry by its labels (0 when it was never counted).
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// The orders service saves the order, then publishing OrderPlaced fails and
// the PlaceOrder command never comes again: the relay publishes it, and the
// order goes on to CONFIRMED without any redelivery.
func TestRelayPublishesWhatAFailedPublishLeft(t *testing.T) {
	t.Parallel()
	relayPublishesWhatAFailedPublishLeft(t, 20*time.Millisecond)
}

// relayPublishesWhatAFailedPublishLeft runs the relay every interval: on the
// MongoDB-wire test server, where every query is a scan of one serialised
// server, a slower one than in memory.
func relayPublishesWhatAFailedPublishLeft(t *testing.T, interval time.Duration, opts ...option) {
	reg := prometheus.NewRegistry()
	// The grace period is long enough for the handlers to publish what they
	// save themselves, so that the relay takes only the failed publish.
	h := start(t, append([]option{withRelay(interval, time.Second), withMiddleware(dropOnFailure("PlaceOrder")), withMetrics(reg)}, opts...)...)
	h.setStock("SKU-A", 10)
	const id = "order-relayed"
	var failed atomic.Bool
	h.rec.failPublishIf(func(topic string, m *message.Message) bool {
		return m.Metadata.Get("name") == "OrderPlaced" && m.Metadata.Get(messages.MetadataPartitionKey) == id && failed.CompareAndSwap(false, true)
	})
	bus, err := messaging.NewCommandBus(h.ps.Publisher, slog.New(slog.DiscardHandler))
	require.NoError(t, err)

	require.NoError(t, bus.Send(t.Context(), &messages.PlaceOrder{OrderID: id, CustomerID: "c-1", Items: []messages.Item{item("SKU-A", 2)}}))

	o := h.waitStatus(id, messages.OrderStatusConfirmed)
	h.waitShipment(id, messages.ShipmentStatusScheduled)
	assert.True(t, failed.Load(), "the first publish of OrderPlaced failed")
	assert.Equal(t, []string{"PENDING", "CONFIRMED"}, statuses(o))
	assert.Equal(t, 1, countPublished(h, "PlaceOrder", id), "no redelivery of the command")
	// Published by the relay; a second copy is allowed: StockReserved can
	// come back before the relay marked the entry published, and the
	// confirmation then publishes what it finds unpublished. The stock below
	// shows it was reserved once.
	assert.GreaterOrEqual(t, countPublished(h, "OrderPlaced", id), 1, "published by the relay")
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 10, Reserved: 2, Available: 8})
	assert.GreaterOrEqual(t, counterValue(t, reg, "orderflow_outbox_relayed_total", map[string]string{"service": "orders"}), 1.0)
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
			h.setStock("SKU-A", 10)

			id := h.placeOrder("c-stuck", []messages.Item{item("SKU-A", 2)})
			waitPublished(t, h, tt.poison, tt.message, id)
			o, _ := h.order(id)
			require.Equal(t, tt.status, o.Status, "stuck")
			healed.Store(true)

			o = h.waitStatus(id, messages.OrderStatusConfirmed)
			h.waitShipment(id, messages.ShipmentStatusScheduled)
			assert.Equal(t, []string{"PENDING", "CONFIRMED"}, statuses(o), "a nudge is no change of the order")
			h.waitStock("SKU-A", messages.StockLevel{OnHand: 10, Reserved: 2, Available: 8})
			assert.Positive(t, counterValue(t, reg, "orderflow_saga_nudges_total", map[string]string{"status": tt.status}))
		})
	}
}
