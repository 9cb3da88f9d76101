package wiring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"
)

// holdBack makes a handler wait for open before it handles the named message
// whose payload contains the given text.
func holdBack(handler, name, contains string, open <-chan struct{}) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			if message.HandlerNameFromCtx(msg.Context()) == handler && msg.Metadata.Get("name") == name &&
				bytes.Contains(msg.Payload, []byte(contains)) {
				<-open
			}
			return h(msg)
		}
	}
}

func TestThousandConcurrentOrdersForAHundredUnits(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-HOT", 100)

	// Sample the stock while orders pour in: available never goes below zero.
	stopSampling := make(chan struct{})
	var samples, negative atomic.Int64
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for {
			select {
			case <-stopSampling:
				return
			default:
			}
			l := h.Stock("SKU-HOT")
			samples.Add(1)
			if l.Available < 0 || l.Reserved > l.OnHand || l.Reserved < 0 {
				negative.Add(1)
			}
		}
	}()

	const orders, workers = 1000, 32
	ids := make(chan string, orders)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				ids <- h.PlaceOrder(fmt.Sprintf("c-%d", i%50), []messages.Item{item("SKU-HOT", 1)})
			}
		}()
	}
	for i := range orders {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(ids)

	// Every order reaches a decision.
	count := func(status string) int {
		n, cursor := 0, ""
		for {
			_, _, raw := h.Do(http.MethodGet, "/orders?limit=100&status="+status+"&cursor="+cursor, nil)
			var page struct {
				Orders     []orderView `json:"orders"`
				NextCursor string      `json:"next_cursor"`
			}
			require.NoError(t, json.Unmarshal(raw, &page))
			n += len(page.Orders)
			if page.NextCursor == "" {
				return n
			}
			cursor = page.NextCursor
		}
	}
	require.Eventually(t, func() bool {
		return count(messages.OrderStatusConfirmed)+count(messages.OrderStatusRejected) == orders
	}, 60*time.Second, 50*time.Millisecond)
	close(stopSampling)
	sampler.Wait()

	assert.Equal(t, 100, count(messages.OrderStatusConfirmed))
	assert.Equal(t, 900, count(messages.OrderStatusRejected))
	assert.Zero(t, count(messages.OrderStatusPending))
	// Stock levels reach the view a round of the inventory's loop after the holds.
	h.WaitStock("SKU-HOT", messages.StockLevel{OnHand: 100, Reserved: 100, Available: 0})
	assert.Positive(t, samples.Load())
	assert.Zero(t, negative.Load(), "stock was seen with available below zero or reserved above on hand")
}

// finalState runs a fixed scenario and returns what the API shows at the end.
func finalState(t *testing.T, h *harness) map[string]any {
	h.SetStock("SKU-A", 10)
	h.SetStock("SKU-B", 2)
	delivered := h.PlaceOrder("c-1", []messages.Item{item("SKU-A", 2), item("SKU-B", 1)}, "Idempotency-Key", "delivered")
	// The rejection's reason names the stock available when it was decided:
	// the first order must hold its SKU-B by then, in both runs.
	h.WaitStatus(delivered, messages.OrderStatusConfirmed)
	rejected := h.PlaceOrder("c-1", []messages.Item{item("SKU-B", 5)}, "Idempotency-Key", "rejected")
	cancelled := h.PlaceOrder("c-2", []messages.Item{item("SKU-A", 1)}, "Idempotency-Key", "cancelled")
	failed := h.PlaceOrder("c-2", []messages.Item{item("SKU-A", 3)}, "Idempotency-Key", "failed")

	h.WaitShipment(delivered, messages.ShipmentStatusScheduled)
	h.WaitShipment(failed, messages.ShipmentStatusScheduled)
	h.WaitStatus(rejected, messages.OrderStatusRejected)
	h.WaitStatus(cancelled, messages.OrderStatusConfirmed)
	status, _, _ := h.Do(http.MethodPost, "/orders/"+cancelled+"/cancel", nil)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, http.StatusAccepted, h.Courier(delivered, "dispatch", nil))
	require.Equal(t, http.StatusAccepted, h.Courier(failed, "dispatch", nil))
	h.WaitStatus(delivered, messages.OrderStatusShipped)
	require.Equal(t, http.StatusAccepted, h.Courier(delivered, "deliver", nil))
	require.Equal(t, http.StatusAccepted, h.Courier(failed, "fail", map[string]string{"reason": "address unknown"}))

	h.WaitStatus(delivered, messages.OrderStatusDelivered)
	h.WaitStatus(failed, messages.OrderStatusDeliveryFailed)
	h.WaitStatus(cancelled, messages.OrderStatusCancelled)
	h.WaitShipment(cancelled, messages.ShipmentStatusCancelled)
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 8, Reserved: 0, Available: 8})
	h.WaitStock("SKU-B", messages.StockLevel{OnHand: 1, Reserved: 0, Available: 1})

	state := map[string]any{}
	for name, id := range map[string]string{"delivered": delivered, "rejected": rejected, "cancelled": cancelled, "failed": failed} {
		o, _ := h.Order(id)
		s, _ := h.Shipment(id)
		state[name] = []any{o.Status, o.Reason, statuses(o), s.Status}
	}
	_, _, inv := h.Do(http.MethodGet, "/inventory", nil)
	state["inventory"] = string(inv)
	return state
}

func TestEveryMessageDeliveredTwiceEndsTheSame(t *testing.T) {
	t.Parallel()
	once := finalState(t, start(t))
	twice := finalState(t, start(t, withMiddleware(middleware.Duplicator)))
	assert.Equal(t, once, twice)
}

func TestFailingHandlerPoisonsItsMessageOnly(t *testing.T) {
	t.Parallel()
	broken := errors.New("inventory cannot handle this order")
	failing := func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			if message.HandlerNameFromCtx(msg.Context()) == "inventory.order_events" && bytes.Contains(msg.Payload, []byte(`"customer_id":"c-poison"`)) {
				return nil, broken
			}
			return h(msg)
		}
	}
	h := start(t, withMiddleware(failing))
	h.SetStock("SKU-A", 10)

	poisoned := h.PlaceOrder("c-poison", []messages.Item{item("SKU-A", 1)}, "X-Correlation-ID", "poison-1")
	healthy := h.PlaceOrder("c-healthy", []messages.Item{item("SKU-A", 2)})

	h.WaitShipment(healthy, messages.ShipmentStatusScheduled)
	require.Equal(t, http.StatusAccepted, h.Courier(healthy, "dispatch", nil))
	require.Equal(t, http.StatusAccepted, h.Courier(healthy, "deliver", nil))
	h.WaitStatus(healthy, messages.OrderStatusDelivered)

	waitPublished(t, h, messages.TopicInventoryPoison, "OrderPlaced", poisoned)
	for _, r := range h.Rec.All() {
		if r.Topic != messages.TopicInventoryPoison {
			continue
		}
		assert.Contains(t, r.Msg.Metadata.Get(middleware.ReasonForPoisonedKey), broken.Error())
		assert.Equal(t, messages.TopicOrderEvents, r.Msg.Metadata.Get(middleware.PoisonedTopicKey))
		assert.Equal(t, "inventory.order_events", r.Msg.Metadata.Get(middleware.PoisonedHandlerKey))
		assert.Equal(t, "poison-1", middleware.MessageCorrelationID(r.Msg))
		assert.Contains(t, string(r.Msg.Payload), poisoned, "the poisoned message keeps its payload")
	}
	o, _ := h.Order(poisoned)
	assert.Equal(t, messages.OrderStatusPending, o.Status)
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 8, Reserved: 0, Available: 8})
}

func TestMalformedMessageGoesToPoisonQueueWithoutRetries(t *testing.T) {
	t.Parallel()
	var attempts atomic.Int64
	counting := func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			if msg.Metadata.Get("name") == "OrderPlaced" && message.HandlerNameFromCtx(msg.Context()) == "inventory.order_events" {
				attempts.Add(1)
			}
			return h(msg)
		}
	}
	h := start(t, withMiddleware(counting))
	bad := message.NewMessage("bad-1", []byte(`{"order_id": 42, "items": "nope"`))
	bad.Metadata.Set("name", "OrderPlaced")
	require.NoError(t, h.PS.Publisher.Publish(messages.TopicOrderEvents, bad))
	require.Eventually(t, func() bool {
		for _, r := range h.Rec.All() {
			if r.Topic == messages.TopicInventoryPoison && r.Msg.Metadata.Get(messages.MetadataPoisonUUID) == "bad-1" {
				return r.Msg.Metadata.Get(middleware.ReasonForPoisonedKey) != ""
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, int64(1), attempts.Load(), "a malformed message is not retried")
}

func TestCorrelationIDOnEveryMessageOfTheOrder(t *testing.T) {
	t.Parallel()
	h := start(t, autoCourier(10*time.Millisecond, 10*time.Millisecond))
	h.SetStock("SKU-A", 5)
	const cid = "trace-me-123"
	status, hdr, body := h.Do(http.MethodPost, "/orders", map[string]any{"customer_id": "c-1", "items": []messages.Item{item("SKU-A", 1)}}, "X-Correlation-ID", cid)
	require.Equal(t, http.StatusAccepted, status, string(body))
	assert.Equal(t, cid, hdr.Get("X-Correlation-ID"))
	var res struct {
		OrderID string `json:"order_id"`
	}
	require.NoError(t, json.Unmarshal(body, &res))
	o := h.WaitStatus(res.OrderID, messages.OrderStatusDelivered)
	waitPublished(t, h, messages.TopicInventoryEvents, "StockCommitted", res.OrderID)
	for _, e := range o.History {
		assert.Equal(t, cid, e.CorrelationID, "history entry %s", e.Status)
	}

	// Every command and event about this order except the test's own reads
	// (each read is a request of its own) carries the request's correlation ID.
	seen := map[string]bool{}
	for _, r := range h.Rec.All() {
		name := r.Msg.Metadata.Get("name")
		if r.Msg.Metadata.Get(messages.MetadataPartitionKey) != res.OrderID || strings.HasPrefix(name, "Get") {
			continue
		}
		seen[name] = true
		assert.Equal(t, cid, middleware.MessageCorrelationID(r.Msg), "%s on %s", name, r.Topic)
	}
	for _, name := range []string{"PlaceOrder", "OrderPlaced", "StockReserved", "OrderConfirmed", "ShipmentScheduled",
		"ShipmentDispatched", "OrderShipped", "ShipmentDelivered", "OrderDelivered", "StockCommitted"} {
		assert.True(t, seen[name], "%s was published for the order", name)
	}
}

func TestBadInputIsRefusedAndPublishesNothing(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-A", 5)
	tooMany := make([]messages.Item, 101)
	for i := range tooMany {
		tooMany[i] = item(fmt.Sprintf("SKU-%d", i), 1)
	}
	cases := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"malformed JSON", "POST", "/orders", `{"customer_id": "c-1", "items": [`, 400, "body"},
		{"unknown field", "POST", "/orders", `{"customer_id": "c-1", "items": [{"sku": "SKU-A", "quantity": 1}], "coupon": "X"}`, 400, "coupon"},
		{"missing customer", "POST", "/orders", `{"items": [{"sku": "SKU-A", "quantity": 1}]}`, 400, "customer_id"},
		{"empty customer", "POST", "/orders", `{"customer_id": "", "items": [{"sku": "SKU-A", "quantity": 1}]}`, 400, "customer_id"},
		{"no items", "POST", "/orders", `{"customer_id": "c-1", "items": []}`, 400, "items"},
		{"over 100 items", "POST", "/orders", map[string]any{"customer_id": "c-1", "items": tooMany}, 400, "items"},
		{"empty SKU", "POST", "/orders", `{"customer_id": "c-1", "items": [{"sku": "", "quantity": 1}]}`, 400, "items[0].sku"},
		{"over-long SKU", "POST", "/orders", `{"customer_id": "c-1", "items": [{"sku": "` + strings.Repeat("S", 65) + `", "quantity": 1}]}`, 400, "items[0].sku"},
		{"quantity zero", "POST", "/orders", `{"customer_id": "c-1", "items": [{"sku": "SKU-A", "quantity": 0}]}`, 400, "items[0].quantity"},
		{"quantity too big", "POST", "/orders", `{"customer_id": "c-1", "items": [{"sku": "SKU-A", "quantity": 10001}]}`, 400, "items[0].quantity"},
		{"quantity not an integer", "POST", "/orders", `{"customer_id": "c-1", "items": [{"sku": "SKU-A", "quantity": 1.5}]}`, 400, "items[0].quantity"},
		{"quantity a string", "POST", "/orders", `{"customer_id": "c-1", "items": [{"sku": "SKU-A", "quantity": "1"}]}`, 400, "items[0].quantity"},
		{"body over 64 KiB", "POST", "/orders", `{"customer_id": "` + strings.Repeat("x", 70_000) + `"}`, 413, ""},
		{"negative stock", "PUT", "/inventory/SKU-A", `{"on_hand": -1}`, 400, "on_hand"},
		{"fail without reason", "POST", "/deliveries/x/fail", `{}`, 400, "reason"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.Rec.Caused()
			status, hdr, body := h.Do(tc.method, tc.path, tc.body)
			require.Equal(t, tc.status, status, string(body))
			assert.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
			if tc.field != "" {
				var p struct {
					Status int `json:"status"`
					Errors []struct {
						Field string `json:"field"`
					} `json:"errors"`
				}
				require.NoError(t, json.Unmarshal(body, &p))
				assert.Equal(t, tc.status, p.Status)
				require.NotEmpty(t, p.Errors)
				assert.Equal(t, tc.field, p.Errors[0].Field)
			}
			assert.Equal(t, before, h.Rec.Caused(), "a refused request publishes nothing")
		})
	}
	assert.Equal(t, messages.StockLevel{SKU: "SKU-A", OnHand: 5, Available: 5}, h.Stock("SKU-A"))
}

func TestGracefulStopFinishesEverythingInFlight(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-A", 30)
	var wg sync.WaitGroup
	ids := make([]string, 60)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = h.PlaceOrder("c-1", []messages.Item{item("SKU-A", 1)})
		}()
	}
	wg.Wait()
	// Stop right away: the saga is mid-flight for most orders.
	h.Stop()

	ctx := context.Background()
	confirmed := 0
	for _, id := range ids {
		o, err := h.Stores.Orders.Get(ctx, id)
		require.NoError(t, err)
		require.NotEqual(t, messages.OrderStatusPending, string(o.Status), "order %s was left mid-flight", id)
		if string(o.Status) == messages.OrderStatusConfirmed {
			confirmed++
			sh, err := h.Stores.Shipments.Get(ctx, id)
			require.NoError(t, err, "confirmed order %s has no shipment", id)
			assert.Equal(t, messages.ShipmentStatusScheduled, string(sh.Status))
		}
		for _, c := range o.History {
			assert.True(t, c.Published, "order %s: event of %s never published", id, c.Status)
		}
	}
	assert.Equal(t, 30, confirmed)
	p, err := h.Stores.Products.Get(ctx, "SKU-A")
	require.NoError(t, err)
	assert.Equal(t, 30, p.Reserved)
}
