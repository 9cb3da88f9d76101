package wiring_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"
)

// poisonEntryView is an entry as GET /admin/poison answers it.
type poisonEntryView struct {
	ID            string            `json:"id"`
	Service       string            `json:"service"`
	Handler       string            `json:"handler"`
	Topic         string            `json:"topic"`
	OrderID       string            `json:"order_id"`
	Reason        string            `json:"reason"`
	Payload       json.RawMessage   `json:"payload"`
	PayloadFormat string            `json:"payload_format"`
	Metadata      map[string]string `json:"metadata"`
	PoisonedAt    string            `json:"poisoned_at"`
	Status        string            `json:"status"`
	RequeuedAt    string            `json:"requeued_at"`
}

// breakInventoryFor makes inventory's order_events handler fail on every
// message of the customer while the returned switch is on; each failure has
// a reason of its own.
func breakInventoryFor(customer string) (message.HandlerMiddleware, *atomic.Bool) {
	var broken atomic.Bool
	broken.Store(true)
	var failures atomic.Int64
	marker := []byte(`"customer_id":"` + customer + `"`)
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			if broken.Load() && message.HandlerNameFromCtx(msg.Context()) == "inventory.order_events" && bytes.Contains(msg.Payload, marker) {
				return nil, fmt.Errorf("inventory cannot handle this order (failure %d)", failures.Add(1))
			}
			return h(msg)
		}
	}, &broken
}

// poisonList returns every entry of the service's poison queue, following the cursors.
func (h *harness) poisonList(service, status string) []poisonEntryView {
	h.t.Helper()
	var all []poisonEntryView
	cursor := ""
	for range 100 {
		path := "/admin/poison?limit=2&service=" + service + "&status=" + status + "&cursor=" + cursor
		code, _, body := h.do(http.MethodGet, path, nil)
		require.Equal(h.t, http.StatusOK, code, string(body))
		var page struct {
			Entries    []poisonEntryView `json:"entries"`
			NextCursor string            `json:"next_cursor"`
		}
		require.NoError(h.t, json.Unmarshal(body, &page))
		all = append(all, page.Entries...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
	h.t.Fatal("the poison queue has more pages than a test makes")
	return nil
}

// waitPoisoned waits until the service's poison queue holds a POISONED entry
// of the order whose id is not in seen, and returns it.
func (h *harness) waitPoisoned(service, orderID string, seen ...string) poisonEntryView {
	h.t.Helper()
	var found poisonEntryView
	require.Eventuallyf(h.t, func() bool {
		for _, e := range h.poisonList(service, messages.PoisonStatusPoisoned) {
			if e.OrderID == orderID && !contains(seen, e.ID) {
				found = e
				return true
			}
		}
		return false
	}, 15*time.Second, 5*time.Millisecond, "no new poison queue entry of order %s in %s", orderID, service)
	return found
}

func contains(ids []string, id string) bool {
	for _, s := range ids {
		if s == id {
			return true
		}
	}
	return false
}

func (h *harness) poisonEntry(id string) (int, poisonEntryView) {
	h.t.Helper()
	code, _, body := h.do(http.MethodGet, "/admin/poison/"+id, nil)
	var e poisonEntryView
	if code == http.StatusOK {
		require.NoError(h.t, json.Unmarshal(body, &e))
	}
	return code, e
}

// A poisoned message is listed with what an operator needs, requeued while it
// still fails it is poisoned again as a new entry with its new reason, and
// requeued once the fault is gone its order flows on.
func TestPoisonedMessageIsListedAndRequeued(t *testing.T) {
	t.Parallel()
	poisonListRequeueFlow(t)
}

// poisonListRequeueFlow is the test above, on the stores opts give.
func poisonListRequeueFlow(t *testing.T, opts ...option) {
	failing, broken := breakInventoryFor("c-poison")
	h := start(t, append(opts, withMiddleware(failing))...)
	h.setStock("SKU-A", 10)

	orderID := h.placeOrder("c-poison", []messages.Item{item("SKU-A", 3)}, "X-Correlation-ID", "poison-flow")

	first := h.waitPoisoned("inventory", orderID)
	assert.Regexp(t, `^inventory-[0-9a-f-]{36}$`, first.ID)
	assert.Equal(t, "inventory", first.Service)
	assert.Equal(t, "inventory.order_events", first.Handler)
	assert.Equal(t, messages.TopicOrderEvents, first.Topic)
	assert.Contains(t, first.Reason, "inventory cannot handle this order")
	assert.Equal(t, "json", first.PayloadFormat)
	var payload struct {
		OrderID string `json:"order_id"`
	}
	require.NoError(t, json.Unmarshal(first.Payload, &payload), "the payload is shown as JSON: %s", first.Payload)
	assert.Equal(t, orderID, payload.OrderID)
	assert.Equal(t, "OrderPlaced", first.Metadata["name"])
	assert.Equal(t, "poison-flow", first.Metadata[messages.MetadataCorrelationID])
	code, got := h.poisonEntry(first.ID)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, first, got)
	o, _ := h.order(orderID)
	assert.Equal(t, messages.OrderStatusPending, o.Status)

	// Requeued while the fault is still there: poisoned again, as a new entry with a new reason.
	code, _, body := h.do(http.MethodPost, "/admin/poison/"+first.ID+"/requeue", nil)
	require.Equal(t, http.StatusAccepted, code, string(body))
	second := h.waitPoisoned("inventory", orderID, first.ID)
	assert.NotEqual(t, first.Reason, second.Reason)
	assert.Contains(t, second.Reason, "inventory cannot handle this order")
	assert.Equal(t, first.Metadata[messages.MetadataPoisonUUID], second.Metadata[messages.MetadataPoisonUUID],
		"the requeued message is the one that failed first")
	code, got = h.poisonEntry(first.ID)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, messages.PoisonStatusRequeued, got.Status)
	assert.NotEmpty(t, got.RequeuedAt)
	code, _, body = h.do(http.MethodPost, "/admin/poison/"+first.ID+"/requeue", nil)
	assert.Equal(t, http.StatusConflict, code, "a requeued entry is requeued once: %s", body)

	// The fault is gone: the requeue lets the order flow on.
	broken.Store(false)
	code, _, body = h.do(http.MethodPost, "/admin/poison/"+second.ID+"/requeue", nil)
	require.Equal(t, http.StatusAccepted, code, string(body))
	h.waitStatus(orderID, messages.OrderStatusConfirmed)
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 10, Reserved: 3, Available: 7})
	assert.Empty(t, h.poisonList("inventory", messages.PoisonStatusPoisoned))
	requeued := h.poisonList("inventory", messages.PoisonStatusRequeued)
	require.Len(t, requeued, 2)
	assert.Equal(t, second.ID, requeued[0].ID, "newest first")
	assert.Equal(t, first.ID, requeued[1].ID)
}

// Requeue all puts every POISONED entry of a service back; a discarded one
// stays, with its record.
func TestPoisonQueueRequeueAllAndDiscard(t *testing.T) {
	t.Parallel()
	failing, broken := breakInventoryFor("c-poison")
	h := start(t, withMiddleware(failing))
	h.setStock("SKU-A", 10)
	kept := []string{
		h.placeOrder("c-poison", []messages.Item{item("SKU-A", 1)}),
		h.placeOrder("c-poison", []messages.Item{item("SKU-A", 2)}),
	}
	dropped := h.placeOrder("c-poison", []messages.Item{item("SKU-A", 4)})
	for _, id := range kept {
		h.waitPoisoned("inventory", id)
	}
	discard := h.waitPoisoned("inventory", dropped)

	code, _, body := h.do(http.MethodDelete, "/admin/poison/"+discard.ID, nil)
	require.Equal(t, http.StatusNoContent, code, string(body))
	code, got := h.poisonEntry(discard.ID)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, messages.PoisonStatusDiscarded, got.Status)
	assert.Equal(t, discard.Payload, got.Payload, "the record is kept")
	code, _, _ = h.do(http.MethodDelete, "/admin/poison/"+discard.ID, nil)
	assert.Equal(t, http.StatusNoContent, code, "discarding twice")
	code, _, _ = h.do(http.MethodPost, "/admin/poison/"+discard.ID+"/requeue", nil)
	assert.Equal(t, http.StatusConflict, code, "a discarded entry is not requeued")

	broken.Store(false)
	code, _, body = h.do(http.MethodPost, "/admin/poison/requeue?service=inventory", nil)
	require.Equal(t, http.StatusAccepted, code, string(body))
	assert.JSONEq(t, `{"service":"inventory","requeued":2}`, string(body))
	for _, id := range kept {
		h.waitStatus(id, messages.OrderStatusConfirmed)
	}
	h.waitStock("SKU-A", messages.StockLevel{OnHand: 10, Reserved: 3, Available: 7})
	o, _ := h.order(dropped)
	assert.Equal(t, messages.OrderStatusPending, o.Status, "the discarded message was not requeued")

	// The other services' queues are their own, and empty.
	for _, service := range []string{"orders", "delivery"} {
		assert.Empty(t, h.poisonList(service, ""), service)
	}
	code, _, _ = h.do(http.MethodGet, "/admin/poison/orders-"+discard.ID[len("inventory-"):], nil)
	assert.Equal(t, http.StatusNotFound, code, "an id is looked up in its own service's queue")
}
