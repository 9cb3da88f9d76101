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

func TestOrderFromPlacementToDelivery(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-A", 10)
	h.SetStock("SKU-B", 5)

	id := h.PlaceOrder("c-1", []messages.Item{item("SKU-A", 2), item("SKU-B", 1)})
	h.WaitStatus(id, messages.OrderStatusConfirmed)
	h.WaitShipment(id, messages.ShipmentStatusScheduled)
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 10, Reserved: 2, Available: 8})

	require.Equal(t, http.StatusAccepted, h.Courier(id, "dispatch", nil))
	h.WaitStatus(id, messages.OrderStatusShipped)
	require.Equal(t, http.StatusAccepted, h.Courier(id, "deliver", nil))
	o := h.WaitStatus(id, messages.OrderStatusDelivered)

	assert.Equal(t, []string{"PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"}, statuses(o))
	assert.Equal(t, "c-1", o.CustomerID)
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 8, Reserved: 0, Available: 8})
	h.WaitStock("SKU-B", messages.StockLevel{OnHand: 4, Reserved: 0, Available: 4})
	h.WaitShipment(id, messages.ShipmentStatusDelivered)

	// A delivered shipment takes no further step.
	assert.Equal(t, http.StatusConflict, h.Courier(id, "fail", map[string]string{"reason": "lost"}))
	assert.Equal(t, http.StatusNotFound, h.Courier("no-such-order", "dispatch", nil))
}

func TestAutomaticCourierDeliversByItself(t *testing.T) {
	t.Parallel()
	h := start(t, autoCourier(20*time.Millisecond, 20*time.Millisecond))
	h.SetStock("SKU-A", 3)
	id := h.PlaceOrder("c-1", []messages.Item{item("SKU-A", 3)})
	o := h.WaitStatus(id, messages.OrderStatusDelivered)
	assert.Equal(t, []string{"PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"}, statuses(o))
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 0, Reserved: 0, Available: 0})
}

func TestOrderRejectedWithReason(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-A", 1)
	h.SetStock("SKU-B", 10)

	t.Run("insufficient stock", func(t *testing.T) {
		id := h.PlaceOrder("c-1", []messages.Item{item("SKU-A", 2), item("SKU-B", 1)})
		o := h.WaitStatus(id, messages.OrderStatusRejected)
		assert.Contains(t, o.Reason, "insufficient stock for SKU-A (requested 2, available 1)")
		assert.Equal(t, o.Reason, o.History[len(o.History)-1].Reason)
	})
	t.Run("unknown SKU", func(t *testing.T) {
		id := h.PlaceOrder("c-1", []messages.Item{item("SKU-B", 1), item("NOPE", 1)})
		o := h.WaitStatus(id, messages.OrderStatusRejected)
		assert.Contains(t, o.Reason, "unknown SKU NOPE")
		_, ok := h.Shipment(id)
		assert.False(t, ok, "a rejected order gets no shipment")
	})
	// all or none: nothing stays held for rejected orders
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 1, Reserved: 0, Available: 1})
	h.WaitStock("SKU-B", messages.StockLevel{OnHand: 10, Reserved: 0, Available: 10})
}

func TestCancelWhilePending(t *testing.T) {
	t.Parallel()
	// Inventory is held back from reserving this customer's orders, so the order stays PENDING.
	open := make(chan struct{})
	h := start(t, withMiddleware(holdBack("inventory.order_events", "OrderPlaced", `"customer_id":"c-slow"`, open)))
	h.SetStock("SKU-A", 5)

	id := h.PlaceOrder("c-slow", []messages.Item{item("SKU-A", 2)})
	o, ok := h.Order(id)
	require.True(t, ok)
	require.Equal(t, messages.OrderStatusPending, o.Status)

	status, _, body := h.Do(http.MethodPost, "/orders/"+id+"/cancel", map[string]string{"reason": "changed my mind"})
	require.Equal(t, http.StatusAccepted, status, string(body))
	o = h.WaitStatus(id, messages.OrderStatusCancelled)
	assert.Equal(t, "changed my mind", o.Reason)

	// The reservation arrives after the cancellation: it must be released, never kept.
	close(open)
	waitPublished(t, h, messages.TopicInventoryEvents, "StockReleased", id)
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 5, Reserved: 0, Available: 5})
	o = h.WaitStatus(id, messages.OrderStatusCancelled)
	assert.Equal(t, []string{"PENDING", "CANCELLED"}, statuses(o))
	_, shipped := h.Shipment(id)
	assert.False(t, shipped)
}

func TestCancelWhileConfirmed(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-A", 5)
	id := h.PlaceOrder("c-1", []messages.Item{item("SKU-A", 2)})
	h.WaitStatus(id, messages.OrderStatusConfirmed)
	h.WaitShipment(id, messages.ShipmentStatusScheduled)

	status, _, body := h.Do(http.MethodPost, "/orders/"+id+"/cancel", nil)
	require.Equal(t, http.StatusAccepted, status, string(body))
	h.WaitStatus(id, messages.OrderStatusCancelled)
	h.WaitShipment(id, messages.ShipmentStatusCancelled)
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 5, Reserved: 0, Available: 5})

	// Cancelling again is accepted and changes nothing; the courier cannot move a cancelled shipment.
	status, _, _ = h.Do(http.MethodPost, "/orders/"+id+"/cancel", nil)
	assert.Equal(t, http.StatusAccepted, status)
	assert.Equal(t, http.StatusConflict, h.Courier(id, "dispatch", nil))
}

func TestCancelRefusedOnceShipped(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-A", 5)
	id := h.PlaceOrder("c-1", []messages.Item{item("SKU-A", 1)})
	h.WaitShipment(id, messages.ShipmentStatusScheduled)
	require.Equal(t, http.StatusAccepted, h.Courier(id, "dispatch", nil))
	h.WaitStatus(id, messages.OrderStatusShipped)

	status, hdr, body := h.Do(http.MethodPost, "/orders/"+id+"/cancel", nil)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
	assert.Contains(t, string(body), "SHIPPED")
	h.WaitStatus(id, messages.OrderStatusShipped)

	status, _, _ = h.Do(http.MethodPost, "/orders/does-not-exist/cancel", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestDeliveryFailureReleasesStock(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-A", 5)
	id := h.PlaceOrder("c-1", []messages.Item{item("SKU-A", 3)})
	h.WaitShipment(id, messages.ShipmentStatusScheduled)
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 5, Reserved: 3, Available: 2})

	// Failing before dispatch is not a transition the courier can make.
	assert.Equal(t, http.StatusConflict, h.Courier(id, "fail", map[string]string{"reason": "no one home"}))
	require.Equal(t, http.StatusAccepted, h.Courier(id, "dispatch", nil))
	require.Equal(t, http.StatusAccepted, h.Courier(id, "fail", map[string]string{"reason": "no one home"}))

	o := h.WaitStatus(id, messages.OrderStatusDeliveryFailed)
	assert.Equal(t, "no one home", o.Reason)
	assert.Equal(t, []string{"PENDING", "CONFIRMED", "SHIPPED", "DELIVERY_FAILED"}, statuses(o))
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 5, Reserved: 0, Available: 5})
	h.WaitShipment(id, messages.ShipmentStatusFailed)
}

func TestIdempotencyKeyPlacesOneOrder(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-A", 5)
	body := map[string]any{"customer_id": "c-1", "items": []messages.Item{item("SKU-A", 1)}}
	first := h.PlaceOrder("c-1", body["items"].([]messages.Item), "Idempotency-Key", "key-1")
	h.WaitStatus(first, messages.OrderStatusConfirmed)
	second := h.PlaceOrder("c-1", body["items"].([]messages.Item), "Idempotency-Key", "key-1")
	assert.Equal(t, first, second)

	status, _, raw := h.Do(http.MethodGet, "/orders?customer_id=c-1", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, 1, strings.Count(string(raw), `"order_id"`), string(raw))
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 5, Reserved: 1, Available: 4})

	// The same key for another order is refused, not silently answered with the first.
	status, _, _ = h.Do(http.MethodPost, "/orders", map[string]any{"customer_id": "c-1", "items": []messages.Item{item("SKU-A", 2)}}, "Idempotency-Key", "key-1")
	assert.Equal(t, http.StatusUnprocessableEntity, status)
}

func TestGatewayIsReadyOnceRepliesFlow(t *testing.T) {
	t.Parallel()
	h := start(t)
	require.Eventually(t, func() bool {
		status, _, _ := h.Do(http.MethodGet, "/readyz", nil)
		return status == http.StatusOK
	}, 10*time.Second, 5*time.Millisecond)
}
