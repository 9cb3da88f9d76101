package wiring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/infra/logging"
	"github.com/orderflow/orderflow/infra/pubsub"
	"github.com/orderflow/orderflow/infra/tracing"
	"github.com/orderflow/orderflow/messages"
)

// harness runs the four services in-process on GoChannel with in-memory
// stores, behind a real HTTP server, and records every message published.
type harness struct {
	t      testing.TB
	url    string
	client *http.Client
	rec    *recorder
	ps     pubsub.PubSub
	stores wiring.Stores
	// stop stops the system gracefully and waits for it; it is safe to call twice.
	stop func()
	// within bounds the waits for a status, a shipment or a stock level: 15 s
	// in memory; 90 s on the MongoDB-wire test server, which runs one command
	// at a time for every test of the run (a 200-order test holds it for 30 s).
	within time.Duration
	// unchecked skips checking answers against openapi.yaml (benchmarks).
	unchecked bool
}

type options struct {
	courier    string
	dispatch   time.Duration
	deliver    time.Duration
	middleware []message.HandlerMiddleware
	retryMax   int
	stores     *wiring.Stores // nil: in memory
	config     []func(*wiring.Config)
	// relay and sweeper: zero turns them off, as in Config.
	relayInterval, relayAfter time.Duration
	stuckAfter, sweepInterval time.Duration
	metrics                   prometheus.Registerer
	tracing                   *tracing.Tracing
	// bare measures the system alone: no answer checked against the spec, no
	// message recorded (each costs more allocations than a message handled).
	bare bool
	// addr is where the HTTP server listens (empty: a free port of 127.0.0.1).
	addr string
}

type option func(*options)

func autoCourier(dispatch, deliver time.Duration) option {
	return func(o *options) { o.courier, o.dispatch, o.deliver = "auto", dispatch, deliver }
}

func withConfig(fn func(*wiring.Config)) option {
	return func(o *options) { o.config = append(o.config, fn) }
}

func withMiddleware(m ...message.HandlerMiddleware) option {
	return func(o *options) { o.middleware = append(o.middleware, m...) }
}

// withRelay runs every service's outbox relay every interval for the events
// unpublished for longer than after.
func withRelay(interval, after time.Duration) option {
	return func(o *options) { o.relayInterval, o.relayAfter = interval, after }
}

// withSweeper runs the orders service's saga sweeper every interval for the
// orders waiting longer than stuckAfter.
func withSweeper(interval, stuckAfter time.Duration) option {
	return func(o *options) { o.sweepInterval, o.stuckAfter = interval, stuckAfter }
}

// withAddr serves the system's HTTP on addr, e.g. a port a test was given.
func withAddr(addr string) option {
	return func(o *options) { o.addr = addr }
}

func withMetrics(reg prometheus.Registerer) option {
	return func(o *options) { o.metrics = reg }
}

func withTracing(tr *tracing.Tracing) option {
	return func(o *options) { o.tracing = tr }
}

// bare leaves out what tests add to the system (recording every message,
// checking every answer against openapi.yaml), for benchmarks.
func bare() option {
	return func(o *options) { o.bare = true }
}

func start(t testing.TB, opts ...option) *harness {
	t.Helper()
	o := options{courier: "manual", dispatch: time.Hour, deliver: time.Hour, retryMax: 3}
	for _, opt := range opts {
		opt(&o)
	}
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("TEST_LOG") != "" {
		var err error
		logger, err = logging.New(os.Stderr, "text", os.Getenv("TEST_LOG"))
		require.NoError(t, err)
	}
	cfg := wiring.Config{
		Process: wiring.ProcessConfig{
			ShutdownTimeout: 10 * time.Second,
			RetryMax:        o.retryMax, RetryInitial: time.Millisecond, RetryMaxWait: 10 * time.Millisecond,
			OutboxRelayInterval: o.relayInterval, OutboxRelayAfter: o.relayAfter,
		},
		Gateway:  wiring.GatewayConfig{RequestTimeout: 10 * time.Second},
		Orders:   wiring.OrdersConfig{SagaStuckAfter: o.stuckAfter, SagaSweepInterval: o.sweepInterval},
		Delivery: wiring.DeliveryConfig{Courier: o.courier, CourierDispatchAfter: o.dispatch, CourierDeliverAfter: o.deliver},
	}
	for _, fn := range o.config {
		fn(&cfg)
	}
	require.NoError(t, cfg.Validate())

	ps := pubsub.NewGoChannel(logging.Watermill(logger))
	rec := &recorder{Publisher: ps.Publisher}
	if !o.bare {
		ps.Publisher = rec
	}
	ctx, cancel := context.WithCancel(context.Background())
	stores := wiring.NewMemoryStores()
	if o.stores != nil {
		stores = *o.stores
	}
	services, err := wiring.NewAll(ctx, wiring.Deps{Config: cfg, PubSub: ps, Logger: logger, Middleware: o.middleware, Metrics: o.metrics, Tracing: o.tracing}, stores)
	require.NoError(t, err)

	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- wiring.Run(ctx, services, logger, wiring.RunOptions{Drain: ps.Drain, ShutdownTimeout: 10 * time.Second, Started: func() { close(started) }})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("system stopped before it started: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("system did not start within 10s")
	}
	var api http.Handler
	for _, s := range services {
		if s.Handler != nil {
			api = s.Handler
		}
	}
	srv := httptest.NewUnstartedServer(api)
	if o.addr != "" {
		ln, err := net.Listen("tcp", o.addr)
		require.NoError(t, err, "listen on %s", o.addr)
		_ = srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	stop := sync.OnceFunc(func() {
		srv.Close()
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "stopping the system")
		case <-time.After(15 * time.Second):
			t.Error("system did not stop within 15s")
		}
		_ = ps.Close()
	})
	t.Cleanup(stop)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 128
	within := 15 * time.Second
	if o.stores != nil {
		within = 90 * time.Second
	}
	return &harness{t: t, url: srv.URL, client: &http.Client{Transport: transport, Timeout: 30 * time.Second}, rec: rec, ps: ps, stores: stores, stop: stop, within: within, unchecked: o.bare}
}

// do sends a request and returns the status, the headers and the body.
func (h *harness) do(method, path string, body any, headers ...string) (int, http.Header, []byte) {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(h.t, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.url+path, r)
	require.NoError(h.t, err)
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Every request is the demo operator's unless the test says who it is
	// (an empty Authorization sends none).
	req.Header.Set("Authorization", "Bearer "+wiring.DemoOperatorKey)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
		if http.CanonicalHeaderKey(headers[i]) == "Authorization" && headers[i+1] == "" {
			req.Header.Del("Authorization")
		}
	}
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	if !h.unchecked {
		checkAgainstSpec(h.t, req, resp.StatusCode, resp.Header, raw)
	}
	return resp.StatusCode, resp.Header, raw
}

type orderView struct {
	OrderID    string          `json:"order_id"`
	CustomerID string          `json:"customer_id"`
	Items      []messages.Item `json:"items"`
	Status     string          `json:"status"`
	Reason     string          `json:"reason"`
	History    []struct {
		Status        string `json:"status"`
		At            string `json:"at"`
		Reason        string `json:"reason"`
		CorrelationID string `json:"correlation_id"`
	} `json:"history"`
}

type shipmentView struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
}

func item(sku string, qty int) messages.Item { return messages.Item{SKU: sku, Quantity: qty} }

func (h *harness) placeOrder(customer string, items []messages.Item, headers ...string) string {
	h.t.Helper()
	status, hdr, body := h.do(http.MethodPost, "/orders", map[string]any{"customer_id": customer, "items": items}, headers...)
	require.Equal(h.t, http.StatusAccepted, status, string(body))
	var res struct {
		OrderID string `json:"order_id"`
		Status  string `json:"status"`
	}
	require.NoError(h.t, json.Unmarshal(body, &res))
	require.Equal(h.t, "/orders/"+res.OrderID, hdr.Get("Location"))
	return res.OrderID
}

func (h *harness) order(id string) (orderView, bool) {
	h.t.Helper()
	status, _, body := h.do(http.MethodGet, "/orders/"+id, nil)
	if status == http.StatusNotFound {
		return orderView{}, false
	}
	require.Equal(h.t, http.StatusOK, status, string(body))
	var o orderView
	require.NoError(h.t, json.Unmarshal(body, &o))
	return o, true
}

// waitStatus waits until the order has the status, failing after a deadline.
func (h *harness) waitStatus(id, want string) orderView {
	h.t.Helper()
	var last orderView
	require.Eventuallyf(h.t, func() bool {
		o, ok := h.order(id)
		last = o
		return ok && o.Status == want
	}, h.within, 5*time.Millisecond, "order %s never became %s", id, want)
	_ = last
	o, _ := h.order(id)
	return o
}

func (h *harness) shipment(id string) (shipmentView, bool) {
	h.t.Helper()
	status, _, body := h.do(http.MethodGet, "/orders/"+id+"/delivery", nil)
	if status == http.StatusNotFound {
		return shipmentView{}, false
	}
	require.Equal(h.t, http.StatusOK, status, string(body))
	var s shipmentView
	require.NoError(h.t, json.Unmarshal(body, &s))
	return s, true
}

func (h *harness) waitShipment(id, want string) {
	h.t.Helper()
	require.Eventuallyf(h.t, func() bool {
		s, ok := h.shipment(id)
		return ok && s.Status == want
	}, h.within, 5*time.Millisecond, "shipment of %s never became %s", id, want)
}

func (h *harness) setStock(sku string, onHand int) messages.StockLevel {
	h.t.Helper()
	status, _, body := h.do(http.MethodPut, "/inventory/"+sku, map[string]int{"on_hand": onHand})
	require.Equal(h.t, http.StatusOK, status, string(body))
	var l messages.StockLevel
	require.NoError(h.t, json.Unmarshal(body, &l))
	return l
}

func (h *harness) stock(sku string) messages.StockLevel {
	h.t.Helper()
	status, _, body := h.do(http.MethodGet, "/inventory/"+sku, nil)
	require.Equal(h.t, http.StatusOK, status, string(body))
	var l messages.StockLevel
	require.NoError(h.t, json.Unmarshal(body, &l))
	return l
}

func (h *harness) waitStock(sku string, want messages.StockLevel) {
	h.t.Helper()
	want.SKU = sku
	var last messages.StockLevel
	lastStatus := 0
	var mu sync.Mutex
	if !assert.Eventually(h.t, func() bool {
		// An answer other than 200 (a 503 from a slow store) is asked again.
		status, _, body := h.do(http.MethodGet, "/inventory/"+sku, nil)
		var l messages.StockLevel
		ok := status == http.StatusOK && json.Unmarshal(body, &l) == nil
		mu.Lock()
		defer mu.Unlock()
		lastStatus, last = status, l
		return ok && l == want
	}, h.within, 5*time.Millisecond) {
		mu.Lock()
		defer mu.Unlock()
		h.t.Fatalf("stock of %s never became %+v (last answer %d, %+v)", sku, want, lastStatus, last)
	}
}

func (h *harness) courier(id, step string, body any) int {
	h.t.Helper()
	status, _, raw := h.do(http.MethodPost, "/deliveries/"+id+"/"+step, body)
	require.Less(h.t, status, 500, string(raw))
	return status
}

// recorder records every message published, then publishes it; failIf, when
// set, makes the publish of the messages it says yes to fail instead.
type recorder struct {
	message.Publisher
	mu     sync.Mutex
	msgs   []recorded
	failIf func(topic string, m *message.Message) bool
}

var errInjected = errors.New("publish failed (injected by the test)")

// failPublishIf makes the publishes that fail says yes to fail from now on.
func (r *recorder) failPublishIf(fail func(topic string, m *message.Message) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failIf = fail
}

type recorded struct {
	Topic string
	Msg   *message.Message
}

func (r *recorder) Publish(topic string, msgs ...*message.Message) error {
	r.mu.Lock()
	if r.failIf != nil {
		for _, m := range msgs {
			if r.failIf(topic, m) {
				r.mu.Unlock()
				return errInjected
			}
		}
	}
	for _, m := range msgs {
		r.msgs = append(r.msgs, recorded{Topic: topic, Msg: m.Copy()})
	}
	r.mu.Unlock()
	return r.Publisher.Publish(topic, msgs...)
}

// caused counts the messages published so far but the stock levels, which
// the inventory's loop publishes when it will (of changes made before).
func (r *recorder) caused() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m.Msg.Metadata.Get("name") != "StockLevelChanged" {
			n++
		}
	}
	return n
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.msgs...)
}
