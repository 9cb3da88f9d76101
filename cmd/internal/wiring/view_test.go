package wiring_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/messages"
)

// Queries are answered from the gateway's view: with every publish failing
// (the broker gone), each still answers 200 and nothing is sent.
func TestQueriesTouchNoBroker(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-V", 5)
	id := h.PlaceOrder(wiring.DemoCustomer, []messages.Item{item("SKU-V", 1)})
	h.WaitShipment(id, messages.ShipmentStatusScheduled)
	h.WaitStock("SKU-V", messages.StockLevel{OnHand: 5, Reserved: 1, Available: 4})

	h.Rec.FailPublishIf(func(string, *message.Message) bool { return true })
	before := h.Rec.Caused()
	customer := []string{"Authorization", "Bearer " + wiring.DemoCustomerKey}
	for _, q := range []struct {
		path   string
		header []string
	}{
		{"/orders/" + id, nil},
		{"/orders/" + id, customer}, // the customer's ownership is looked up in the view too
		{"/orders", nil},
		{"/orders?customer_id=" + wiring.DemoCustomer + "&status=" + messages.OrderStatusConfirmed, nil},
		{"/orders", customer},
		{"/orders/" + id + "/delivery", nil},
		{"/orders/" + id + "/timeline", nil},
		{"/orders/" + id + "/timeline", customer},
		{"/inventory", nil},
		{"/inventory/SKU-V", nil},
	} {
		status, _, body := h.Do(http.MethodGet, q.path, nil, q.header...)
		require.Equal(t, http.StatusOK, status, "GET %s: %s", q.path, body)
	}
	assert.Equal(t, before, h.Rec.Caused(), "a query publishes nothing")
}

// Read-your-writes: the order is in the view when POST /orders answers, the
// cancellation when its POST answers, a stock level when PUT answers.
func TestReadYourWrites(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-RYW", 1000)
	for i := range 20 {
		id := h.PlaceOrder(wiring.DemoCustomer, []messages.Item{item("SKU-RYW", 1)})
		status, _, body := h.Do(http.MethodGet, "/orders/"+id, nil)
		require.Equal(t, http.StatusOK, status, "GET right after the 202: %s", body)
		status, _, body = h.Do(http.MethodGet, "/orders/"+id, nil, "Authorization", "Bearer "+wiring.DemoCustomerKey)
		require.Equal(t, http.StatusOK, status, "the customer's GET right after the 202: %s", body)

		status, _, body = h.Do(http.MethodPost, "/orders/"+id+"/cancel", nil)
		require.Equal(t, http.StatusAccepted, status, string(body))
		o, ok := h.Order(id)
		require.True(t, ok)
		assert.Equal(t, messages.OrderStatusCancelled, o.Status, "GET right after the cancel's 202")

		// A SKU no order holds: the level the PUT answers is the one GET shows.
		want := messages.StockLevel{SKU: "SKU-RYW-PUT", OnHand: i, Available: i}
		assert.Equal(t, want, h.SetStock("SKU-RYW-PUT", i))
		assert.Equal(t, want, h.Stock("SKU-RYW-PUT"), "GET right after the PUT's 200")
	}
}

type timelineStep struct {
	Step          string `json:"step"`
	Service       string `json:"service"`
	SKU           string `json:"sku"`
	At            string `json:"at"`
	CorrelationID string `json:"correlation_id"`
	TraceID       string `json:"trace_id"`
	Detail        string `json:"detail"`
}

// waitTimeline waits until the order's timeline has the steps
// (step/service[/sku]), in that order; steps joined by "|" are concurrent
// (taken by two services reacting to one event) and may come in either order.
func waitTimeline(h *harness, id string, want ...string) []timelineStep {
	h.T.Helper()
	var last []string
	var steps []timelineStep
	ok := assert.Eventually(h.T, func() bool {
		status, _, body := h.Do(http.MethodGet, "/orders/"+id+"/timeline", nil)
		if status != http.StatusOK {
			return false
		}
		var tl struct {
			Steps []timelineStep `json:"steps"`
		}
		if json.Unmarshal(body, &tl) != nil {
			return false
		}
		steps, last = tl.Steps, nil
		for _, s := range tl.Steps {
			name := s.Step + "/" + s.Service
			if s.SKU != "" {
				name += "/" + s.SKU
			}
			last = append(last, name)
		}
		return sameTimeline(want, last)
	}, h.Within, 5*time.Millisecond)
	if !ok {
		h.T.Fatalf("timeline of %s is %v, want %v", id, last, want)
	}
	return steps
}

// The timeline of orders through reject, cancel and delivery failure: every
// step, in causal order, with the service that took it and its correlation ID.
func TestTimelineAcrossServices(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-T1", 1)

	rejected := h.PlaceOrder(wiring.DemoCustomer, []messages.Item{item("SKU-T1", 2), item("SKU-T0", 1)})
	steps := waitTimeline(h, rejected,
		"placed/orders", "stock_refused/inventory/SKU-T0", "stock_refused/inventory/SKU-T1", "rejected/orders")
	assert.Contains(t, steps[1].Detail, messages.ReasonUnknownSKU)
	assert.Contains(t, steps[2].Detail, messages.ReasonInsufficientStock)
	for _, s := range steps {
		assert.NotEmpty(t, s.CorrelationID, "%s", s.Step)
		assert.NotEmpty(t, s.At, "%s", s.Step)
	}
	assert.Equal(t, steps[0].CorrelationID, steps[1].CorrelationID, "the reservation answers the placement's correlation")

	cancelled := h.PlaceOrder(wiring.DemoCustomer, []messages.Item{item("SKU-T1", 1)})
	h.WaitShipment(cancelled, messages.ShipmentStatusScheduled)
	status, _, body := h.Do(http.MethodPost, "/orders/"+cancelled+"/cancel", map[string]string{"reason": "changed my mind"})
	require.Equal(t, http.StatusAccepted, status, string(body))
	steps = waitTimeline(h, cancelled,
		"placed/orders", "stock_held/inventory/SKU-T1", "confirmed/orders", "shipment_scheduled/delivery",
		"cancelled/orders", "shipment_cancelled/delivery|stock_released/inventory")
	assert.Equal(t, "changed my mind", steps[4].Detail)

	h.WaitStock("SKU-T1", messages.StockLevel{OnHand: 1, Available: 1})
	failed := h.PlaceOrder(wiring.DemoCustomer, []messages.Item{item("SKU-T1", 1)})
	h.WaitShipment(failed, messages.ShipmentStatusScheduled)
	require.Equal(t, http.StatusAccepted, h.Courier(failed, "dispatch", nil))
	require.Equal(t, http.StatusAccepted, h.Courier(failed, "fail", map[string]string{"reason": "nobody home"}))
	steps = waitTimeline(h, failed,
		"placed/orders", "stock_held/inventory/SKU-T1", "confirmed/orders", "shipment_scheduled/delivery",
		"shipment_dispatched/delivery", "shipped/orders", "shipment_failed/delivery", "delivery_failed/orders", "stock_released/inventory")
	assert.Equal(t, "nobody home", steps[6].Detail)

	// A customer sees its own order's timeline, not another's.
	status, _, _ = h.Do(http.MethodGet, "/orders/"+failed+"/timeline", nil, "Authorization", "Bearer "+wiring.DemoCustomerKey)
	assert.Equal(t, http.StatusOK, status)
	other := h.PlaceOrder("c-other", []messages.Item{item("SKU-T1", 1)})
	status, _, _ = h.Do(http.MethodGet, "/orders/"+other+"/timeline", nil, "Authorization", "Bearer "+wiring.DemoCustomerKey)
	assert.Equal(t, http.StatusNotFound, status)
}

func sameTimeline(want, got []string) bool {
	i := 0
	for _, w := range want {
		group := strings.Split(w, "|")
		if i+len(group) > len(got) {
			return false
		}
		if !assert.ObjectsAreEqual(sorted(group), sorted(got[i:i+len(group)])) {
			return false
		}
		i += len(group)
	}
	return i == len(got)
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// A poisoned message of an order is a step of its timeline, with the service
// whose queue it is in; once requeued and handled, the saga's steps follow.
func TestTimelineShowsPoisonings(t *testing.T) {
	t.Parallel()
	failing, broken := breakInventoryFor("c-tl-poison")
	h := start(t, withMiddleware(failing))
	h.SetStock("SKU-TP", 10)
	id := h.PlaceOrder("c-tl-poison", []messages.Item{item("SKU-TP", 1)}, "X-Correlation-ID", "tl-poison")

	// RETRY_MAX 3: retries 1, 2 and 3, of which 1 and 2 send a notice (1, 2, 4, ...).
	steps := waitTimeline(h, id, "placed/orders", "retried/inventory", "retried/inventory", "poisoned/inventory")
	assert.Contains(t, steps[3].Detail, "OrderPlaced")
	assert.Contains(t, steps[3].Detail, "inventory cannot handle this order")
	assert.Equal(t, "tl-poison", steps[3].CorrelationID)

	entry := h.WaitPoisoned("inventory", id)
	broken.Store(false)
	status, _, body := h.Do(http.MethodPost, "/admin/poison/"+entry.ID+"/requeue", nil)
	require.Equal(t, http.StatusAccepted, status, string(body))
	waitTimeline(h, id, "placed/orders", "retried/inventory", "retried/inventory", "poisoned/inventory", "stock_held/inventory/SKU-TP",
		"confirmed/orders|shipment_scheduled/delivery")
}

// failOrderPlacedTwice fails the inventory's handling of the OrderPlaced of
// the customer's orders twice (an error of unknown class), then lets it through.
func failOrderPlacedTwice(customer string) message.HandlerMiddleware {
	var mu sync.Mutex
	failures := map[string]int{}
	marker := []byte(`"customer_id":"` + customer + `"`)
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			if message.HandlerNameFromCtx(msg.Context()) == "inventory.order_events" && msg.Metadata.Get("name") == "OrderPlaced" && bytes.Contains(msg.Payload, marker) {
				mu.Lock()
				failures[msg.UUID]++
				n := failures[msg.UUID]
				mu.Unlock()
				if n <= 2 {
					return nil, fmt.Errorf("inventory hiccup %d", n)
				}
			}
			return h(msg)
		}
	}
}

// The retries of an order's messages are steps of its timeline, with the
// service that retried them, between the steps they came between.
func TestTimelineShowsRetries(t *testing.T) {
	t.Parallel()
	h := start(t, withMiddleware(failOrderPlacedTwice("c-tl-retry")))
	h.SetStock("SKU-TR", 10)
	id := h.PlaceOrder("c-tl-retry", []messages.Item{item("SKU-TR", 1)}, "X-Correlation-ID", "tl-retry")

	steps := waitTimeline(h, id, "placed/orders", "retried/inventory", "retried/inventory", "stock_held/inventory/SKU-TR",
		"confirmed/orders|shipment_scheduled/delivery")
	for i, attempt := range []string{"attempt 1 (unknown)", "attempt 2 (unknown)"} {
		s := steps[1+i]
		assert.Contains(t, s.Detail, attempt)
		assert.Contains(t, s.Detail, "inventory.order_events")
		assert.Contains(t, s.Detail, "inventory hiccup")
		assert.Equal(t, "tl-retry", s.CorrelationID)
	}
	assert.Empty(t, h.PoisonList("inventory", messages.PoisonStatusPoisoned), "retried, then handled: nothing poisoned")
}
