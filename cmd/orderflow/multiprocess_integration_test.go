//go:build integration

package main_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Shopify/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"
)

// The four services, each a process of its own, talk only through a real
// Kafka broker and keep their data in MongoDB; the test drives them only
// through the gateway's HTTP API. The courier is manual, so the test moves
// every shipment itself.
func TestServicesAsSeparateProcessesRunTheSaga(t *testing.T) {
	t.Parallel()
	env, topics := kafkaEnv(t)
	bin := buildBinary(t)
	procs := startServices(t, bin, append(env, "COURIER=manual"),
		"orders", "inventory", "inventory-2", "delivery", "gateway")
	gw := procs["gateway"]
	// Until the second inventory process has its partitions, the groups it
	// joins are rebalancing, and nothing of theirs is handled meanwhile.
	topics.waitMembers(t, 2, 60*time.Second,
		"inventory.set_stock", "inventory.order_events")

	t.Run("an order is delivered, its correlation ID carried by every hop", func(t *testing.T) {
		gw.put(t, "/inventory/SKU-D", map[string]int{"on_hand": 10})
		// The client sends its trace's ID with every request of the flow: the
		// order (gateway → orders → inventory → orders → delivery) and each
		// courier step (gateway → delivery → orders → inventory).
		const cid = "multiprocess-delivered-1"
		trace := http.Header{"X-Correlation-Id": {cid}}
		id, hdr := placeOrder(t, gw, trace, "c-delivered", "SKU-D", 3)
		assert.Equal(t, cid, hdr.Get("X-Correlation-Id"), "the gateway echoes the correlation ID")
		waitOrderStatus(t, gw, id, 30*time.Second, messages.OrderStatusConfirmed)
		waitShipmentStatus(t, gw, id, messages.ShipmentStatusScheduled)

		courierStep(t, gw, trace, id, "dispatch")
		waitOrderStatus(t, gw, id, 30*time.Second, messages.OrderStatusShipped)
		courierStep(t, gw, trace, id, "deliver")
		o := waitOrderStatus(t, gw, id, 30*time.Second, messages.OrderStatusDelivered)

		assert.Equal(t, []string{"PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"}, statuses(o))
		for _, e := range o.History {
			assert.Equal(t, cid, e.CorrelationID, "order history entry %s", e.Status)
		}
		sh := waitShipmentStatus(t, gw, id, messages.ShipmentStatusDelivered)
		require.NotEmpty(t, sh.History)
		for _, e := range sh.History {
			assert.Equal(t, cid, e.CorrelationID, "shipment history entry %s", e.Status)
		}
		waitStock(t, gw, stockView{SKU: "SKU-D", OnHand: 7, Reserved: 0, Available: 7}, 30*time.Second)
	})

	t.Run("an order for more than the stock is rejected with the reason", func(t *testing.T) {
		gw.put(t, "/inventory/SKU-R", map[string]int{"on_hand": 1})
		id, _ := placeOrder(t, gw, nil, "c-rejected", "SKU-R", 5)
		o := waitOrderStatus(t, gw, id, 30*time.Second, messages.OrderStatusRejected)
		const reason = "insufficient stock for SKU-R (requested 5, available 1)"
		assert.Equal(t, reason, o.Reason)
		assert.Equal(t, []string{"PENDING", "REJECTED"}, statuses(o))
		assert.Equal(t, reason, o.History[len(o.History)-1].Reason)
		assert.Equal(t, stockView{SKU: "SKU-R", OnHand: 1, Reserved: 0, Available: 1}, getStock(t, gw, "SKU-R"))
	})

	t.Run("cancelling a confirmed order cancels its shipment and releases its stock", func(t *testing.T) {
		gw.put(t, "/inventory/SKU-C", map[string]int{"on_hand": 10})
		id, _ := placeOrder(t, gw, nil, "c-cancelled", "SKU-C", 4)
		waitOrderStatus(t, gw, id, 30*time.Second, messages.OrderStatusConfirmed)
		// The level of the hold reaches the view with the inventory's next round of stock levels.
		waitStock(t, gw, stockView{SKU: "SKU-C", OnHand: 10, Reserved: 4, Available: 6}, 30*time.Second)
		waitShipmentStatus(t, gw, id, messages.ShipmentStatusScheduled)

		status, raw := gw.do(t, http.MethodPost, "/orders/"+id+"/cancel", map[string]string{"reason": "changed my mind"})
		require.Equal(t, http.StatusAccepted, status, string(raw))
		o := waitOrderStatus(t, gw, id, 30*time.Second, messages.OrderStatusCancelled)
		assert.Equal(t, []string{"PENDING", "CONFIRMED", "CANCELLED"}, statuses(o))
		waitShipmentStatus(t, gw, id, messages.ShipmentStatusCancelled)
		waitStock(t, gw, stockView{SKU: "SKU-C", OnHand: 10, Reserved: 0, Available: 10}, 30*time.Second)
	})

	t.Run("two inventory processes share the orders' events and reserve each order once", func(t *testing.T) {
		const stock, n = 25, 40
		gw.put(t, "/inventory/SKU-G", map[string]int{"on_hand": stock})
		inventories := []*process{procs["inventory"], procs["inventory-2"]}
		// The second process to join the group gets its partitions only once
		// the first has rejoined (it hears of the rebalance at its next heartbeat).
		topics.waitMembers(t, len(inventories), 30*time.Second, "inventory.order_events")
		before := make([]int, len(inventories))
		for i, p := range inventories {
			before[i] = handledBy(t, p, "inventory.order_events")
		}

		ids := placeOrders(t, gw, "c-group", "SKU-G", 1, n)()
		final := waitCustomerOrders(t, gw, "c-group", ids, 60*time.Second,
			messages.OrderStatusConfirmed, messages.OrderStatusRejected)
		count := map[string]int{}
		for _, o := range final {
			count[o.Status]++
			if o.Status == messages.OrderStatusRejected {
				assert.Equal(t, "insufficient stock for SKU-G (requested 1, available 0)", o.Reason, "order %s", o.OrderID)
			}
		}
		assert.Equal(t, map[string]int{messages.OrderStatusConfirmed: stock, messages.OrderStatusRejected: n - stock}, count)
		waitStock(t, gw, stockView{SKU: "SKU-G", OnHand: stock, Reserved: stock, Available: 0}, 30*time.Second)

		// Every OrderPlaced, and its OrderConfirmed or OrderRejected, goes to
		// one of the two, by partition (the order id is the key).
		deltas := make([]int, len(inventories))
		waitUntil(t, 30*time.Second, 20*time.Millisecond, "the inventory processes handle the orders' events", func() (bool, string) {
			total := 0
			for i, p := range inventories {
				h, err := handled(p, "inventory.order_events")
				if err != nil {
					return false, err.Error()
				}
				deltas[i] = h - before[i]
				total += deltas[i]
			}
			return total >= 2*n, fmt.Sprintf("handled %v of %d", deltas, 2*n)
		})
		for i, p := range inventories {
			t.Logf("%s handled %d of the orders' %d events", p.name, deltas[i], 2*n)
			if !assert.Positive(t, deltas[i], "%s handled none of the orders' events", p.name) {
				t.Logf("consumer groups:\n%s", topics.groups(t))
			}
		}
	})

	t.Run("a poisoned message is kept by its service and acted on through the gateway", func(t *testing.T) {
		// An OrderPlaced that breaks its contract: inventory poisons it at once.
		const uuid = "multiprocess-poison-1"
		topics.produce(t, messages.TopicOrderEvents, uuid, []byte(`{"order_id": 42}`),
			map[string]string{"name": "OrderPlaced", messages.MetadataPartitionKey: "poison-order-1"})
		first := waitPoisonEntry(t, gw, uuid, nil)
		assert.Equal(t, "inventory.order_events", first.Handler)
		assert.Equal(t, messages.TopicOrderEvents, first.Topic, "the topic as the handler knows it, without the prefix")
		assert.Equal(t, "poison-order-1", first.OrderID)
		assert.Contains(t, first.Reason, "cannot unmarshal")

		// Requeued, it fails again: a new entry; the first is REQUEUED, once.
		status, raw := gw.do(t, http.MethodPost, "/admin/poison/"+first.ID+"/requeue", nil)
		require.Equal(t, http.StatusAccepted, status, string(raw))
		second := waitPoisonEntry(t, gw, uuid, map[string]bool{first.ID: true})
		status, raw = gw.do(t, http.MethodPost, "/admin/poison/"+first.ID+"/requeue", nil)
		assert.Equal(t, http.StatusConflict, status, string(raw))

		status, raw = gw.do(t, http.MethodDelete, "/admin/poison/"+second.ID, nil)
		require.Equal(t, http.StatusNoContent, status, string(raw))
		var got poisonEntry
		require.NoError(t, json.Unmarshal([]byte(gw.get(t, "/admin/poison/"+second.ID)), &got))
		assert.Equal(t, messages.PoisonStatusDiscarded, got.Status)
	})
}

// poisonEntry is an entry of GET /admin/poison.
type poisonEntry struct {
	ID       string            `json:"id"`
	Handler  string            `json:"handler"`
	Topic    string            `json:"topic"`
	OrderID  string            `json:"order_id"`
	Reason   string            `json:"reason"`
	Metadata map[string]string `json:"metadata"`
	Status   string            `json:"status"`
}

// waitPoisonEntry waits until inventory's poison queue holds a POISONED entry
// of the message uuid that is not in seen.
func waitPoisonEntry(t *testing.T, gw *process, uuid string, seen map[string]bool) poisonEntry {
	t.Helper()
	var found poisonEntry
	waitUntil(t, 60*time.Second, 50*time.Millisecond, "the poisoned message is listed", func() (bool, string) {
		status, raw := gw.do(t, http.MethodGet, "/admin/poison?service=inventory&status=POISONED&limit=100", nil)
		if status != http.StatusOK {
			return false, fmt.Sprintf("%d %s", status, raw)
		}
		var page struct {
			Entries []poisonEntry `json:"entries"`
		}
		require.NoError(t, json.Unmarshal(raw, &page))
		for _, e := range page.Entries {
			if e.Metadata[messages.MetadataPoisonUUID] == uuid && !seen[e.ID] {
				found = e
				return true, ""
			}
		}
		return false, string(raw)
	})
	return found
}

// produce publishes a raw message to the system's topic as watermill-kafka
// would: the UUID and the metadata in headers.
func (k kafkaTopics) produce(t *testing.T, topic, uuid string, payload []byte, metadata map[string]string) {
	t.Helper()
	c := k.config()
	c.Producer.Return.Successes = true
	producer, err := sarama.NewSyncProducer(k.brokers, c)
	require.NoError(t, err)
	defer func() { _ = producer.Close() }()
	headers := []sarama.RecordHeader{{Key: []byte("_watermill_message_uuid"), Value: []byte(uuid)}}
	for key, v := range metadata {
		headers = append(headers, sarama.RecordHeader{Key: []byte(key), Value: []byte(v)})
	}
	_, _, err = producer.SendMessage(&sarama.ProducerMessage{
		Topic: k.prefix + topic, Key: sarama.StringEncoder(metadata[messages.MetadataPartitionKey]),
		Value: sarama.ByteEncoder(payload), Headers: headers,
	})
	require.NoError(t, err)
}

// Each service process, SIGKILLed mid-flow and started again with the same
// environment, finishes every order: offsets are committed only after their
// message was handled, so what the killed process had not finished is
// delivered again, and handling it twice changes nothing.
func TestServicesAsSeparateProcessesSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	env, topics := kafkaEnv(t)
	bin := buildBinary(t)
	procs := startServices(t, bin,
		append(env, "COURIER=auto", "COURIER_DISPATCH_AFTER=300ms", "COURIER_DELIVER_AFTER=300ms"),
		"orders", "inventory", "delivery", "gateway")
	gw := procs["gateway"]

	for _, tc := range []struct {
		victim string
		// handler of the victim that is busy from the first order on, and the
		// topic it consumes.
		handler, topic string
	}{
		{victim: "inventory", handler: "inventory.order_events", topic: messages.TopicOrderEvents},
		{victim: "orders", handler: "orders.inventory_events", topic: messages.TopicInventoryEvents},
	} {
		t.Run("SIGKILL "+tc.victim, func(t *testing.T) {
			const initial, n, qty = 100, 30, 2
			sku, customer := "SKU-KILL-"+tc.victim, "c-kill-"+tc.victim
			gw.put(t, "/inventory/"+sku, map[string]int{"on_hand": initial})
			victim := procs[tc.victim]
			handledBefore := handledBy(t, victim, tc.handler)
			messagesBefore := topics.messages(t, tc.topic)

			placed := placeOrders(t, gw, customer, sku, qty, n)
			var atKill int
			waitUntil(t, 90*time.Second, 5*time.Millisecond, tc.victim+" is handling the orders", func() (bool, string) {
				h, err := handled(victim, tc.handler)
				atKill = h
				return err == nil && h-handledBefore >= 10, fmt.Sprintf("handled %d, error %v", h-handledBefore, err)
			})
			victim.kill(t)
			killed := time.Now()
			atKill -= handledBefore
			victim.start(t)
			victim.waitReady(t, 30*time.Second)
			ready := time.Since(killed)
			// Requests to orders wait for it to come back, then are answered or get 202 (their command is kept).
			ids := placed()

			waitUntil(t, 60*time.Second, 20*time.Millisecond, "the restarted "+tc.victim+" handles messages again", func() (bool, string) {
				h, err := handled(victim, tc.handler)
				return err == nil && h > 0, fmt.Sprintf("handled %d, error %v", h, err)
			})
			resumed := time.Since(killed)
			final := waitCustomerOrders(t, gw, customer, ids, 90*time.Second, messages.OrderStatusDelivered, messages.OrderStatusRejected)
			done := time.Since(killed)
			delivered := 0
			for _, o := range final {
				// The stock suffices for every order: a rejection would mean a reservation counted twice.
				require.Equal(t, messages.OrderStatusDelivered, o.Status, "order %s: %s", o.OrderID, o.Reason)
				assert.Equal(t, []string{"PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"}, statuses(o), "order %s, each step once", o.OrderID)
				delivered += qty
			}
			waitStock(t, gw, stockView{SKU: sku, OnHand: initial - delivered, Reserved: 0, Available: initial - delivered}, 30*time.Second)

			// What the evidence says about redelivery: the handler's executions
			// in both runs against the messages its topic received meanwhile.
			after, err := handled(victim, tc.handler)
			require.NoError(t, err)
			published := topics.messages(t, tc.topic) - messagesBefore
			t.Logf("%s killed after handling %d messages of %s; ready again %s after the kill, handling again after %s "+
				"(the dead member's partitions are reassigned once its session times out), all %d orders delivered after %s; "+
				"%s handled %d+%d=%d messages of the %d published to %s meanwhile: %d handled again after the restart",
				tc.victim, atKill, tc.topic, ready.Round(time.Millisecond), resumed.Round(time.Millisecond), n, done.Round(time.Millisecond),
				tc.handler, atKill, after, atKill+after, published, tc.topic, int64(atKill+after)-published)
		})
	}
}

// kafkaEnv returns the environment of a system of the test's own on the broker
// of KAFKA_BROKERS and the server of MONGODB_URI: a fresh prefix for its topics,
// consumer groups and databases keeps reruns on the same broker and server
// apart. Its topics and databases are deleted when the test ends.
func kafkaEnv(t *testing.T) ([]string, kafkaTopics) {
	t.Helper()
	brokers, uri := os.Getenv("KAFKA_BROKERS"), os.Getenv("MONGODB_URI")
	if brokers == "" || uri == "" {
		t.Fatal("KAFKA_BROKERS and MONGODB_URI must be set: run `go tool task test:integration`, " +
			`or eval "$(tools/deps/kafka.sh start)" and eval "$(tools/deps/mongo.sh start)"`)
	}
	prefix := fmt.Sprintf("it%08x_", rand.Uint32())
	t.Logf("topic and database prefix %s", prefix)
	mongoFor(t, uri, prefix)
	topics := kafkaTopics{brokers: strings.Split(brokers, ","), prefix: prefix}
	t.Cleanup(func() { topics.deleteAll(t) })
	return []string{
		"KAFKA_BROKERS=" + brokers, "KAFKA_TOPIC_PREFIX=" + prefix, "KAFKA_PARTITIONS=4",
		"MONGODB_URI=" + uri, "MONGODB_DATABASE_PREFIX=" + prefix, "SEED_DEMO=false",
		// The scenarios run side by side on 2 shared cores against a test server that
		// takes one command at a time: answers can be slow, and these tests are about
		// correctness, not latency (a slow answer is a 503 with Retry-After, by design).
		"REQUEST_TIMEOUT=30s",
		// Not embedded: the processes need credentials (process.request sends the operator's).
		"API_KEYS=" + testAPIKeys,
	}, topics
}

// startServices starts each named service as a process of its own ("name-2"
// is a second process of service name), waits until every one is ready, and
// until the gateway gets answers.
func startServices(t *testing.T, bin string, env []string, names ...string) map[string]*process {
	t.Helper()
	started := time.Now()
	procs := map[string]*process{}
	for _, name := range names {
		service, _, _ := strings.Cut(name, "-")
		penv := slices.Clone(env)
		if service == "gateway" {
			penv = append(penv, "HTTP_ADDR="+freeAddr(t))
		}
		procs[name] = launch(t, bin, name, []string{"-service", service}, penv)
	}
	for _, name := range names {
		procs[name].waitReady(t, 60*time.Second)
	}
	ready := time.Since(started)
	// A gateway is ready once its router runs, which may be before its reply
	// consumer group has been given its partitions; replies published before
	// that are never read (the group starts from the newest offset), and the
	// request times out. Reads are answered by the gateway's view, so the probe
	// is a command that goes over request/reply: the orders service's poison
	// queue, listed.
	gw := procs["gateway"]
	waitUntil(t, 30*time.Second, 20*time.Millisecond, "the gateway gets answers", func() (bool, string) {
		status, _, raw, err := gw.request(t.Context(), http.MethodGet, "/admin/poison?service=orders", nil, nil)
		return err == nil && status == http.StatusOK, fmt.Sprintf("%d %s %v", status, raw, err)
	})
	t.Logf("%d processes ready after %s, the gateway answered after %s", len(names), ready.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
	return procs
}

// waitUntil calls check until it reports done, and fails the test with
// check's last report if that takes longer than within.
func waitUntil(t *testing.T, within, tick time.Duration, what string, check func() (done bool, report string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		done, report := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, within, report)
		}
		select {
		case <-t.Context().Done():
			t.FailNow()
		case <-time.After(tick):
		}
	}
}

// getJSON reads path from the API into v when it answers 200.
func getJSON(p *process, t *testing.T, path string, v any) (int, error) {
	status, _, raw, err := p.request(t.Context(), http.MethodGet, path, nil, nil)
	if err != nil || status != http.StatusOK {
		return status, errors.Join(err, fmt.Errorf("GET %s: %d %s", path, status, raw))
	}
	return status, json.Unmarshal(raw, v)
}

func placeOrder(t *testing.T, gw *process, header http.Header, customer, sku string, qty int) (string, http.Header) {
	t.Helper()
	status, hdr, raw, err := gw.request(t.Context(), http.MethodPost, "/orders", map[string]any{
		"customer_id": customer, "items": []map[string]any{{"sku": sku, "quantity": qty}},
	}, header)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, status, string(raw))
	var res struct {
		OrderID string `json:"order_id"`
	}
	require.NoError(t, json.Unmarshal(raw, &res))
	require.NotEmpty(t, res.OrderID)
	return res.OrderID, hdr
}

// placeOrders places n orders of qty units of sku for the customer, all at
// once, and returns a function that waits for the answers and returns the ids.
func placeOrders(t *testing.T, gw *process, customer, sku string, qty, n int) func() []string {
	t.Helper()
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// The key makes a retry name the same order; nothing retries here.
			key := http.Header{"Idempotency-Key": {fmt.Sprintf("%s-%d", customer, i)}}
			status, _, raw, err := gw.request(t.Context(), http.MethodPost, "/orders", map[string]any{
				"customer_id": customer, "items": []map[string]any{{"sku": sku, "quantity": qty}},
			}, key)
			var res struct {
				OrderID string `json:"order_id"`
			}
			if err == nil && status != http.StatusAccepted {
				err = fmt.Errorf("%d %s", status, raw)
			}
			if err == nil {
				err = json.Unmarshal(raw, &res)
			}
			ids[i], errs[i] = res.OrderID, err
		})
	}
	return func() []string {
		t.Helper()
		wg.Wait()
		require.NoError(t, errors.Join(errs...), "placing the orders")
		return ids
	}
}

// waitOrderStatus waits until the order has one of the statuses, through
// answers the services may not give for a while.
func waitOrderStatus(t *testing.T, gw *process, id string, within time.Duration, statuses ...string) orderView {
	t.Helper()
	var o orderView
	waitUntil(t, within, 10*time.Millisecond, fmt.Sprintf("order %s becomes %v", id, statuses), func() (bool, string) {
		_, err := getJSON(gw, t, "/orders/"+id, &o)
		return err == nil && slices.Contains(statuses, o.Status), fmt.Sprintf("%s %v", o.Status, err)
	})
	return o
}

// waitCustomerOrders waits until the customer's orders are exactly ids, each
// in one of the statuses, and returns them.
func waitCustomerOrders(t *testing.T, gw *process, customer string, ids []string, within time.Duration, statuses ...string) []orderView {
	t.Helper()
	require.LessOrEqual(t, len(ids), messages.MaxListLimit)
	var page struct {
		Orders []orderView `json:"orders"`
	}
	waitUntil(t, within, 50*time.Millisecond, fmt.Sprintf("the %d orders of %s become %v", len(ids), customer, statuses), func() (bool, string) {
		page.Orders = nil
		_, err := getJSON(gw, t, "/orders?limit=100&customer_id="+customer, &page)
		got := map[string]int{}
		done := err == nil && len(page.Orders) == len(ids)
		for _, o := range page.Orders {
			got[o.Status]++
			done = done && slices.Contains(statuses, o.Status)
		}
		return done, fmt.Sprintf("%d orders by status %v, error %v", len(page.Orders), got, err)
	})
	var listed []string
	for _, o := range page.Orders {
		listed = append(listed, o.OrderID)
	}
	require.ElementsMatch(t, ids, listed)
	return page.Orders
}

type shipmentView struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	History []struct {
		Status        string `json:"status"`
		CorrelationID string `json:"correlation_id"`
	} `json:"history"`
}

func waitShipmentStatus(t *testing.T, gw *process, id, status string) shipmentView {
	t.Helper()
	var sh shipmentView
	waitUntil(t, 30*time.Second, 10*time.Millisecond, fmt.Sprintf("the shipment of %s becomes %s", id, status), func() (bool, string) {
		_, err := getJSON(gw, t, "/orders/"+id+"/delivery", &sh)
		return err == nil && sh.Status == status, fmt.Sprintf("%s %v", sh.Status, err)
	})
	return sh
}

func courierStep(t *testing.T, gw *process, header http.Header, id, step string) {
	t.Helper()
	status, _, raw, err := gw.request(t.Context(), http.MethodPost, "/deliveries/"+id+"/"+step, nil, header)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, status, "%s: %s", step, raw)
}

type stockView struct {
	SKU       string `json:"sku"`
	OnHand    int    `json:"on_hand"`
	Reserved  int    `json:"reserved"`
	Available int    `json:"available"`
}

func getStock(t *testing.T, gw *process, sku string) stockView {
	t.Helper()
	var s stockView
	require.NoError(t, json.Unmarshal([]byte(gw.get(t, "/inventory/"+sku)), &s))
	return s
}

func waitStock(t *testing.T, gw *process, want stockView, within time.Duration) {
	t.Helper()
	var s stockView
	waitUntil(t, within, 10*time.Millisecond, fmt.Sprintf("stock becomes %+v", want), func() (bool, string) {
		_, err := getJSON(gw, t, "/inventory/"+want.SKU, &s)
		return err == nil && s == want, fmt.Sprintf("%+v %v", s, err)
	})
}

// handled returns how many messages the process's handler has handled
// successfully since it started: Watermill's router metric on its /metrics.
func handled(p *process, handler string) (int, error) {
	resp, err := p.client.Get(p.opsURL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), "{")
		if !ok || name != "orderflow_handler_execution_time_seconds_count" {
			continue
		}
		labels, value, _ := strings.Cut(rest, "} ")
		if strings.Contains(labels, `handler_name="`+handler+`"`) && strings.Contains(labels, `success="true"`) {
			v, err := strconv.ParseFloat(value, 64)
			return int(v), err
		}
	}
	// No series yet: the handler has handled nothing.
	return 0, sc.Err()
}

func handledBy(t *testing.T, p *process, handler string) int {
	t.Helper()
	n, err := handled(p, handler)
	require.NoError(t, err)
	return n
}

// kafkaTopics looks at the topics of one system (one KAFKA_TOPIC_PREFIX).
type kafkaTopics struct {
	brokers []string
	prefix  string
}

func (k kafkaTopics) config() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V3_3_1_0
	return c
}

// messages returns how many messages the topic has received: the sum of its
// partitions' next offsets (nothing expires within a test).
func (k kafkaTopics) messages(t *testing.T, topic string) int64 {
	t.Helper()
	client, err := sarama.NewClient(k.brokers, k.config())
	require.NoError(t, err)
	defer client.Close()
	partitions, err := client.Partitions(k.prefix + topic)
	require.NoError(t, err)
	var n int64
	for _, p := range partitions {
		off, err := client.GetOffset(k.prefix+topic, p, sarama.OffsetNewest)
		require.NoError(t, err)
		n += off
	}
	return n
}

// deleteAll deletes the system's topics, so that runs do not pile up
// partitions on a shared broker. The consumer groups' offsets go with them.
func (k kafkaTopics) deleteAll(t testing.TB) {
	admin, err := sarama.NewClusterAdmin(k.brokers, k.config())
	if err != nil {
		t.Logf("delete the topics of %s: %v", k.prefix, err)
		return
	}
	defer admin.Close()
	all, err := admin.ListTopics()
	if err != nil {
		t.Logf("delete the topics of %s: %v", k.prefix, err)
		return
	}
	var errs []error
	for name := range all {
		if strings.HasPrefix(name, k.prefix) {
			errs = append(errs, admin.DeleteTopic(name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Logf("delete the topics of %s: %v", k.prefix, err)
	}
}

// waitMembers waits until each consumer group has the number of members, each
// with partitions assigned.
func (k kafkaTopics) waitMembers(t *testing.T, members int, within time.Duration, groups ...string) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(k.brokers, k.config())
	require.NoError(t, err)
	defer admin.Close()
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = k.prefix + g
	}
	start := time.Now()
	waitUntil(t, within, 50*time.Millisecond, fmt.Sprintf("consumer groups %v have %d members with partitions", groups, members), func() (bool, string) {
		descs, err := admin.DescribeConsumerGroups(names)
		if err != nil || len(descs) != len(names) {
			return false, fmt.Sprint(err)
		}
		done := true
		var report []string
		for _, d := range descs {
			assigned := 0
			for _, m := range d.Members {
				if a, err := m.GetMemberAssignment(); err == nil && a != nil && len(a.Topics) > 0 {
					assigned++
				}
			}
			done = done && d.State == "Stable" && len(d.Members) == members && assigned == members
			report = append(report, fmt.Sprintf("%s: %s, %d members, %d with partitions", d.GroupId, d.State, len(d.Members), assigned))
		}
		return done, strings.Join(report, "; ")
	})
	t.Logf("consumer groups %v had %d members with partitions after %s", groups, members, time.Since(start).Round(time.Millisecond))
}

// groups describes the system's consumer groups: each member's partitions.
func (k kafkaTopics) groups(t *testing.T) string {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(k.brokers, k.config())
	if err != nil {
		return err.Error()
	}
	defer admin.Close()
	all, err := admin.ListConsumerGroups()
	if err != nil {
		return err.Error()
	}
	var names []string
	for name := range all {
		if strings.HasPrefix(name, k.prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	descs, err := admin.DescribeConsumerGroups(names)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, d := range descs {
		fmt.Fprintf(&b, "%s %s:", strings.TrimPrefix(d.GroupId, k.prefix), d.State)
		for id, m := range d.Members {
			a, err := m.GetMemberAssignment()
			if err != nil {
				fmt.Fprintf(&b, " [%s: %v]", id, err)
				continue
			}
			fmt.Fprintf(&b, " [%s %v]", id[len(id)-8:], a.Topics)
		}
		b.WriteString("\n")
	}
	return b.String()
}
