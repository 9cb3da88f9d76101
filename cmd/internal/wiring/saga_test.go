package wiring_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"
)

func statuses(o orderView) []string {
	out := make([]string, len(o.History))
	for i, h := range o.History {
		out[i] = h.Status
	}
	return out
}

func TestOrderFromPlacementToDelivery(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.setStock("SKU-A", 10)
	h.setStock("SKU-B", 5)

	id := h.placeOrder("c-1", []messages.Item{item("SKU-A", 2), item("SKU-B", 1)})
	h.waitStatus(id, messages.OrderStatusConfirmed)
	h.waitShipment(id, messages.ShipmentStatusScheduled)
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 10, Reserved: 2, Available: 8})

	require.Equal(t, http.StatusAccepted, h.courier(id, "dispatch", nil))
	h.waitStatus(id, messages.OrderStatusShipped)
	require.Equal(t, http.StatusAccepted, h.courier(id, "deliver", nil))
	o := h.waitStatus(id, messages.OrderStatusDelivered)

	assert.Equal(t, []string{"PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"}, statuses(o))
	assert.Equal(t, "c-1", o.CustomerID)
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 8, Reserved: 0, Available: 8})
	h.waitStock("SKU-B", messages.StockLevel{OnHand: 4, Reserved: 0, Available: 4})
	h.waitShipment(id, messages.ShipmentStatusDelivered)

	// A delivered shipment takes no further step.
	assert.Equal(t, http.StatusConflict, h.courier(id, "fail", map[string]string{"reason": "lost"}))
	assert.Equal(t, http.StatusNotFound, h.courier("no-such-order", "dispatch", nil))
}

func TestAutomaticCourierDeliversByItself(t *testing.T) {
	t.Parallel()
	h := start(t, autoCourier(20*time.Millisecond, 20*time.Millisecond))
	h.setStock("SKU-A", 3)
	id := h.placeOrder("c-1", []messages.Item{item("SKU-A", 3)})
	o := h.waitStatus(id, messages.OrderStatusDelivered)
	assert.Equal(t, []string{"PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"}, statuses(o))
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 0, Reserved: 0, Available: 0})
}

func TestOrderRejectedWithReason(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.setStock("SKU-A", 1)
	h.setStock("SKU-B", 10)

	t.Run("insufficient stock", func(t *testing.T) {
		id := h.placeOrder("c-1", []messages.Item{item("SKU-A", 2), item("SKU-B", 1)})
		o := h.waitStatus(id, messages.OrderStatusRejected)
		assert.Contains(t, o.Reason, "insufficient stock for SKU-A (requested 2, available 1)")
		assert.Equal(t, o.Reason, o.History[len(o.History)-1].Reason)
	})
	t.Run("unknown SKU", func(t *testing.T) {
		id := h.placeOrder("c-1", []messages.Item{item("SKU-B", 1), item("NOPE", 1)})
		o := h.waitStatus(id, messages.OrderStatusRejected)
		assert.Contains(t, o.Reason, "unknown SKU NOPE")
		_, ok := h.shipment(id)
		assert.False(t, ok, "a rejected order gets no shipment")
	})
	// all or none: nothing stays held for rejected orders
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 1, Reserved: 0, Available: 1})
	h.waitStock("SKU-B", messages.StockLevel{OnHand: 10, Reserved: 0, Available: 10})
}

func TestCancelWhilePending(t *testing.T) {
	t.Parallel()
	// Inventory is held back from reserving this customer's orders, so the order stays PENDING.
	open := make(chan struct{})
	h := start(t, withMiddleware(holdBack("inventory.order_events", "OrderPlaced", `"customer_id":"c-slow"`, open)))
	h.setStock("SKU-A", 5)

	id := h.placeOrder("c-slow", []messages.Item{item("SKU-A", 2)})
	o, ok := h.order(id)
	require.True(t, ok)
	require.Equal(t, messages.OrderStatusPending, o.Status)

	status, _, body := h.do(http.MethodPost, "/orders/"+id+"/cancel", map[string]string{"reason": "changed my mind"})
	require.Equal(t, http.StatusAccepted, status, string(body))
	o = h.waitStatus(id, messages.OrderStatusCancelled)
	assert.Equal(t, "changed my mind", o.Reason)

	// The reservation arrives after the cancellation: it must be released, never kept.
	close(open)
	waitPublished(t, h, messages.TopicInventoryEvents, "StockReleased", id)
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 5, Reserved: 0, Available: 5})
	o = h.waitStatus(id, messages.OrderStatusCancelled)
	assert.Equal(t, []string{"PENDING", "CANCELLED"}, statuses(o))
	_, shipped := h.shipment(id)
	assert.False(t, shipped)
}

func TestCancelWhileConfirmed(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.setStock("SKU-A", 5)
	id := h.placeOrder("c-1", []messages.Item{item("SKU-A", 2)})
	h.waitStatus(id, messages.OrderStatusConfirmed)
	h.waitShipment(id, messages.ShipmentStatusScheduled)

	status, _, body := h.do(http.MethodPost, "/orders/"+id+"/cancel", nil)
	require.Equal(t, http.StatusAccepted, status, string(body))
	h.waitStatus(id, messages.OrderStatusCancelled)
	h.waitShipment(id, messages.ShipmentStatusCancelled)
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 5, Reserved: 0, Available: 5})

	// Cancelling again is accepted and changes nothing; the courier cannot move a cancelled shipment.
	status, _, _ = h.do(http.MethodPost, "/orders/"+id+"/cancel", nil)
	assert.Equal(t, http.StatusAccepted, status)
	assert.Equal(t, http.StatusConflict, h.courier(id, "dispatch", nil))
}

func TestCancelRefusedOnceShipped(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.setStock("SKU-A", 5)
	id := h.placeOrder("c-1", []messages.Item{item("SKU-A", 1)})
	h.waitShipment(id, messages.ShipmentStatusScheduled)
	require.Equal(t, http.StatusAccepted, h.courier(id, "dispatch", nil))
	h.waitStatus(id, messages.OrderStatusShipped)

	status, hdr, body := h.do(http.MethodPost, "/orders/"+id+"/cancel", nil)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
	assert.Contains(t, string(body), "SHIPPED")
	h.waitStatus(id, messages.OrderStatusShipped)

	status, _, _ = h.do(http.MethodPost, "/orders/does-not-exist/cancel", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestDeliveryFailureReleasesStock(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.setStock("SKU-A", 5)
	id := h.placeOrder("c-1", []messages.Item{item("SKU-A", 3)})
	h.waitShipment(id, messages.ShipmentStatusScheduled)
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 5, Reserved: 3, Available: 2})

	// Failing before dispatch is not a transition the courier can make.
	assert.Equal(t, http.StatusConflict, h.courier(id, "fail", map[string]string{"reason": "no one home"}))
	require.Equal(t, http.StatusAccepted, h.courier(id, "dispatch", nil))
	require.Equal(t, http.StatusAccepted, h.courier(id, "fail", map[string]string{"reason": "no one home"}))

	o := h.waitStatus(id, messages.OrderStatusDeliveryFailed)
	assert.Equal(t, "no one home", o.Reason)
	assert.Equal(t, []string{"PENDING", "CONFIRMED", "SHIPPED", "DELIVERY_FAILED"}, statuses(o))
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 5, Reserved: 0, Available: 5})
	h.waitShipment(id, messages.ShipmentStatusFailed)
}

func TestIdempotencyKeyPlacesOneOrder(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.setStock("SKU-A", 5)
	body := map[string]any{"customer_id": "c-1", "items": []messages.Item{item("SKU-A", 1)}}
	first := h.placeOrder("c-1", body["items"].([]messages.Item), "Idempotency-Key", "key-1")
	h.waitStatus(first, messages.OrderStatusConfirmed)
	second := h.placeOrder("c-1", body["items"].([]messages.Item), "Idempotency-Key", "key-1")
	assert.Equal(t, first, second)

	status, _, raw := h.do(http.MethodGet, "/orders?customer_id=c-1", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, 1, strings.Count(string(raw), `"order_id"`), string(raw))
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 5, Reserved: 1, Available: 4})

	// The same key for another order is refused, not silently answered with the first.
	status, _, _ = h.do(http.MethodPost, "/orders", map[string]any{"customer_id": "c-1", "items": []messages.Item{item("SKU-A", 2)}}, "Idempotency-Key", "key-1")
	assert.Equal(t, http.StatusUnprocessableEntity, status)
}

func TestGatewayIsReadyOnceRepliesFlow(t *testing.T) {
	t.Parallel()
	h := start(t)
	require.Eventually(t, func() bool {
		status, _, _ := h.do(http.MethodGet, "/readyz", nil)
		return status == http.StatusOK
	}, 10*time.Second, 5*time.Millisecond)
}
