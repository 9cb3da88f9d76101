package wiring_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"

	"github.com/orderflow/orderflow/cmd/internal/wiring/wiringtest"
)

// A poisoned message is listed with what an operator needs, requeued while it
// still fails it is poisoned again as a new entry with its new reason, and
// requeued once the fault is gone its order flows on.
func TestPoisonedMessageIsListedAndRequeued(t *testing.T) {
	t.Parallel()
	wiringtest.PoisonListRequeueFlow(t)
}

// Requeue all puts every POISONED entry of a service back; a discarded one
// stays, with its record.
func TestPoisonQueueRequeueAllAndDiscard(t *testing.T) {
	t.Parallel()
	failing, broken := breakInventoryFor("c-poison")
	h := start(t, withMiddleware(failing))
	h.SetStock("SKU-A", 10)
	kept := []string{
		h.PlaceOrder("c-poison", []messages.Item{item("SKU-A", 1)}),
		h.PlaceOrder("c-poison", []messages.Item{item("SKU-A", 2)}),
	}
	dropped := h.PlaceOrder("c-poison", []messages.Item{item("SKU-A", 4)})
	for _, id := range kept {
		h.WaitPoisoned("inventory", id)
	}
	discard := h.WaitPoisoned("inventory", dropped)

	code, _, body := h.Do(http.MethodDelete, "/admin/poison/"+discard.ID, nil)
	require.Equal(t, http.StatusNoContent, code, string(body))
	code, got := h.PoisonEntry(discard.ID)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, messages.PoisonStatusDiscarded, got.Status)
	assert.Equal(t, discard.Payload, got.Payload, "the record is kept")
	code, _, _ = h.Do(http.MethodDelete, "/admin/poison/"+discard.ID, nil)
	assert.Equal(t, http.StatusNoContent, code, "discarding twice")
	code, _, _ = h.Do(http.MethodPost, "/admin/poison/"+discard.ID+"/requeue", nil)
	assert.Equal(t, http.StatusConflict, code, "a discarded entry is not requeued")

	broken.Store(false)
	code, _, body = h.Do(http.MethodPost, "/admin/poison/requeue?service=inventory", nil)
	require.Equal(t, http.StatusAccepted, code, string(body))
	assert.JSONEq(t, `{"service":"inventory","requeued":2}`, string(body))
	for _, id := range kept {
		h.WaitStatus(id, messages.OrderStatusConfirmed)
	}
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 10, Reserved: 3, Available: 7})
	o, _ := h.Order(dropped)
	assert.Equal(t, messages.OrderStatusPending, o.Status, "the discarded message was not requeued")

	// The other services' queues are their own, and empty.
	for _, service := range []string{"orders", "delivery"} {
		assert.Empty(t, h.PoisonList(service, ""), service)
	}
	code, _, _ = h.Do(http.MethodGet, "/admin/poison/orders-"+discard.ID[len("inventory-"):], nil)
	assert.Equal(t, http.StatusNotFound, code, "an id is looked up in its own service's queue")
}
