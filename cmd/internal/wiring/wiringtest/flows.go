package wiringtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
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

// The flows below are tests the component tests run in memory and
// wiringintegration runs on MongoDB, on the stores opts give.

// PoisonEntryView is an entry as GET /admin/poison answers it.
type PoisonEntryView struct {
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

// BreakInventoryFor makes inventory's order_events handler fail on every
// message of the customer while the returned switch is on; each failure has
// a reason of its own.
func BreakInventoryFor(customer string) (message.HandlerMiddleware, *atomic.Bool) {
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

// PoisonList returns every entry of the service's poison queue, following the cursors.
func (h *Harness) PoisonList(service, status string) []PoisonEntryView {
	h.T.Helper()
	var all []PoisonEntryView
	cursor := ""
	for range 100 {
		path := "/admin/poison?limit=2&service=" + service + "&status=" + status + "&cursor=" + cursor
		code, _, body := h.Do(http.MethodGet, path, nil)
		require.Equal(h.T, http.StatusOK, code, string(body))
		var page struct {
			Entries    []PoisonEntryView `json:"entries"`
			NextCursor string            `json:"next_cursor"`
		}
		require.NoError(h.T, json.Unmarshal(body, &page))
		all = append(all, page.Entries...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
	h.T.Fatal("the poison queue has more pages than a test makes")
	return nil
}

// WaitPoisoned waits until the service's poison queue holds a POISONED entry
// of the order whose id is not in seen, and returns it.
func (h *Harness) WaitPoisoned(service, orderID string, seen ...string) PoisonEntryView {
	h.T.Helper()
	var found PoisonEntryView
	require.Eventuallyf(h.T, func() bool {
		for _, e := range h.PoisonList(service, messages.PoisonStatusPoisoned) {
			if e.OrderID == orderID && !slices.Contains(seen, e.ID) {
				found = e
				return true
			}
		}
		return false
	}, 15*time.Second, 5*time.Millisecond, "no new poison queue entry of order %s in %s", orderID, service)
	return found
}

// PoisonEntry returns a poison queue entry as GET /admin/poison/{id} answers it, with the status.
func (h *Harness) PoisonEntry(id string) (int, PoisonEntryView) {
	h.T.Helper()
	code, _, body := h.Do(http.MethodGet, "/admin/poison/"+id, nil)
	var e PoisonEntryView
	if code == http.StatusOK {
		require.NoError(h.T, json.Unmarshal(body, &e))
	}
	return code, e
}

// PoisonListRequeueFlow: a poisoned message is listed with what an operator
// needs, requeued while it still fails it is poisoned again as a new entry with
// its new reason, and requeued once the fault is gone its order flows on; on
// the stores opts give.
func PoisonListRequeueFlow(t *testing.T, opts ...Option) {
	failing, broken := BreakInventoryFor("c-poison")
	h := Start(t, append(opts, WithMiddleware(failing))...)
	h.SetStock("SKU-A", 10)

	orderID := h.PlaceOrder("c-poison", []messages.Item{Item("SKU-A", 3)}, "X-Correlation-ID", "poison-flow")

	first := h.WaitPoisoned("inventory", orderID)
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
	code, got := h.PoisonEntry(first.ID)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, first, got)
	o, _ := h.Order(orderID)
	assert.Equal(t, messages.OrderStatusPending, o.Status)

	// Requeued while the fault is still there: poisoned again, as a new entry with a new reason.
	code, _, body := h.Do(http.MethodPost, "/admin/poison/"+first.ID+"/requeue", nil)
	require.Equal(t, http.StatusAccepted, code, string(body))
	second := h.WaitPoisoned("inventory", orderID, first.ID)
	assert.NotEqual(t, first.Reason, second.Reason)
	assert.Contains(t, second.Reason, "inventory cannot handle this order")
	assert.Equal(t, first.Metadata[messages.MetadataPoisonUUID], second.Metadata[messages.MetadataPoisonUUID],
		"the requeued message is the one that failed first")
	code, got = h.PoisonEntry(first.ID)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, messages.PoisonStatusRequeued, got.Status)
	assert.NotEmpty(t, got.RequeuedAt)
	code, _, body = h.Do(http.MethodPost, "/admin/poison/"+first.ID+"/requeue", nil)
	assert.Equal(t, http.StatusConflict, code, "a requeued entry is requeued once: %s", body)

	// The fault is gone: the requeue lets the order flow on.
	broken.Store(false)
	code, _, body = h.Do(http.MethodPost, "/admin/poison/"+second.ID+"/requeue", nil)
	require.Equal(t, http.StatusAccepted, code, string(body))
	h.WaitStatus(orderID, messages.OrderStatusConfirmed)
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 10, Reserved: 3, Available: 7})
	assert.Empty(t, h.PoisonList("inventory", messages.PoisonStatusPoisoned))
	requeued := h.PoisonList("inventory", messages.PoisonStatusRequeued)
	require.Len(t, requeued, 2)
	assert.Equal(t, second.ID, requeued[0].ID, "newest first")
	assert.Equal(t, first.ID, requeued[1].ID)
}

// DropOnFailure acks the named message when its handler fails, as if the
// process died after the save or the message went to the poison queue: it
// never comes again, so only the relay or the sweeper can finish its work.
func DropOnFailure(name string) message.HandlerMiddleware {
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

// CountPublished counts the messages with this name about this order, on any topic but the poison ones.
func CountPublished(h *Harness, name, orderID string) int {
	n := 0
	for _, r := range h.Rec.All() {
		if r.Msg.Metadata.Get("name") == name && r.Msg.Metadata.Get(messages.MetadataPartitionKey) == orderID &&
			!bytes.HasSuffix([]byte(r.Topic), []byte("poison")) {
			n++
		}
	}
	return n
}

// CounterValue reads a counter of the registry by its labels (0 when it was never counted).
func CounterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
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

// RelayPublishesWhatAFailedPublishLeft: the orders service saves the order,
// then publishing OrderPlaced fails and the PlaceOrder command never comes
// again: the relay publishes it, and the order goes on to CONFIRMED without
// any redelivery. The relay runs every interval: on the
// MongoDB-wire test server, where every query is a scan of one serialised
// server, a slower one than in memory.
func RelayPublishesWhatAFailedPublishLeft(t *testing.T, interval time.Duration, opts ...Option) {
	reg := prometheus.NewRegistry()
	// The grace period is long enough for the handlers to publish what they
	// save themselves, so that the relay takes only the failed publish.
	h := Start(t, append([]Option{WithRelay(interval, time.Second), WithMiddleware(DropOnFailure("PlaceOrder")), WithMetrics(reg)}, opts...)...)
	h.SetStock("SKU-A", 10)
	const id = "order-relayed"
	var failed atomic.Bool
	h.Rec.FailPublishIf(func(topic string, m *message.Message) bool {
		return m.Metadata.Get("name") == "OrderPlaced" && m.Metadata.Get(messages.MetadataPartitionKey) == id && failed.CompareAndSwap(false, true)
	})
	bus, err := messaging.NewCommandBus(h.PS.Publisher, slog.New(slog.DiscardHandler))
	require.NoError(t, err)

	require.NoError(t, bus.Send(t.Context(), &messages.PlaceOrder{OrderID: id, CustomerID: "c-1", Items: []messages.Item{Item("SKU-A", 2)}}))

	o := h.WaitStatus(id, messages.OrderStatusConfirmed)
	h.WaitShipment(id, messages.ShipmentStatusScheduled)
	assert.True(t, failed.Load(), "the first publish of OrderPlaced failed")
	assert.Equal(t, []string{"PENDING", "CONFIRMED"}, Statuses(o))
	assert.Equal(t, 1, CountPublished(h, "PlaceOrder", id), "no redelivery of the command")
	// Published by the relay; a second copy is allowed: StockReserved can
	// come back before the relay marked the entry published, and the
	// confirmation then publishes what it finds unpublished. The stock below
	// shows it was reserved once.
	assert.GreaterOrEqual(t, CountPublished(h, "OrderPlaced", id), 1, "published by the relay")
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 10, Reserved: 2, Available: 8})
	assert.GreaterOrEqual(t, CounterValue(t, reg, "orderflow_outbox_relayed_total", map[string]string{"service": "orders"}), 1.0)
}

// WaitPublished waits until a message with this name about this order was published to topic.
func WaitPublished(t *testing.T, h *Harness, topic, name, orderID string) {
	t.Helper()
	require.Eventuallyf(t, func() bool {
		for _, r := range h.Rec.All() {
			if r.Topic == topic && r.Msg.Metadata.Get("name") == name && r.Msg.Metadata.Get(messages.MetadataPartitionKey) == orderID {
				return true
			}
		}
		return false
	}, 15*time.Second, 5*time.Millisecond, "%s of order %s never published to %s", name, orderID, topic)
}
