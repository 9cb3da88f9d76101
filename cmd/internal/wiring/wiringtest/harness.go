// Package wiringtest runs the four services in process on GoChannel, behind a
// real HTTP server, and drives them through the API: the harness of the
// component tests of cmd/internal/wiring, and of their runs on MongoDB
// (cmd/internal/wiring/wiringintegration), with the test flows both run.
package wiringtest

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

// Harness runs the four services in-process on GoChannel with in-memory
// stores, behind a real HTTP server, and records every message published.
type Harness struct {
	T      testing.TB
	URL    string
	Client *http.Client
	// Rec holds every message published.
	Rec    *Recorder
	PS     pubsub.PubSub
	Stores wiring.Stores
	// Stop stops the system gracefully and waits for it; it is safe to call twice.
	Stop func()
	// Within bounds the waits for a status, a shipment or a stock level: 15 s
	// in memory; 90 s on the MongoDB-wire test server, which runs one command
	// at a time for every test of the run (a 200-order test holds it for 30 s).
	Within time.Duration
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
	// Bare measures the system alone: no answer checked against the spec, no
	// message recorded (each costs more allocations than a message handled).
	bare bool
	// addr is where the HTTP server listens (empty: a free port of 127.0.0.1).
	addr string
}

// Option changes what Start starts.
type Option func(*options)

// AutoCourier runs the simulated courier with these delays (default: manual).
func AutoCourier(dispatch, deliver time.Duration) Option {
	return func(o *options) { o.courier, o.dispatch, o.deliver = "auto", dispatch, deliver }
}

// WithConfig changes the configuration the services are built with.
func WithConfig(fn func(*wiring.Config)) Option {
	return func(o *options) { o.config = append(o.config, fn) }
}

// WithMiddleware adds handler middleware to every service's router (Deps.Middleware).
func WithMiddleware(m ...message.HandlerMiddleware) Option {
	return func(o *options) { o.middleware = append(o.middleware, m...) }
}

// WithRelay runs every service's outbox relay every interval for the events
// unpublished for longer than after.
func WithRelay(interval, after time.Duration) Option {
	return func(o *options) { o.relayInterval, o.relayAfter = interval, after }
}

// WithSweeper runs the orders service's saga sweeper every interval for the
// orders waiting longer than stuckAfter.
func WithSweeper(interval, stuckAfter time.Duration) Option {
	return func(o *options) { o.sweepInterval, o.stuckAfter = interval, stuckAfter }
}

// WithAddr serves the system's HTTP on addr, e.g. a port a test was given.
func WithAddr(addr string) Option {
	return func(o *options) { o.addr = addr }
}

// WithMetrics registers the services' metrics in reg.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(o *options) { o.metrics = reg }
}

// WithTracing traces the services with tr.
func WithTracing(tr *tracing.Tracing) Option {
	return func(o *options) { o.tracing = tr }
}

// WithStores runs the system on the given stores instead of in-memory ones
// (and waits longer for what it waits on: see Harness.Within).
func WithStores(st wiring.Stores) Option {
	return func(o *options) { o.stores = &st }
}

// Bare leaves out what tests add to the system (recording every message,
// checking every answer against openapi.yaml), for benchmarks.
func Bare() Option {
	return func(o *options) { o.bare = true }
}

// Start starts the system with in-memory stores (or those WithStores gives)
// and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Harness {
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
	rec := &Recorder{Publisher: ps.Publisher}
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
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.addr)
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
	return &Harness{T: t, URL: srv.URL, Client: &http.Client{Transport: transport, Timeout: 30 * time.Second}, Rec: rec, PS: ps, Stores: stores, Stop: stop, Within: within, unchecked: o.bare}
}

// Against returns a harness of no system of its own: it drives the server at
// url with client and checks no answer against openapi.yaml (a reference
// server beside the system, for benchmarks).
func Against(t testing.TB, url string, client *http.Client) *Harness {
	return &Harness{T: t, URL: url, Client: client, unchecked: true}
}

// Do sends a request and returns the status, the headers and the body.
func (h *Harness) Do(method, path string, body any, headers ...string) (int, http.Header, []byte) {
	h.T.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(h.T, err)
		r = bytes.NewReader(raw)
	}
	// Not the test's context: a request may be part of a cleanup.
	req, err := http.NewRequestWithContext(context.Background(), method, h.URL+path, r)
	require.NoError(h.T, err)
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
	resp, err := h.Client.Do(req)
	require.NoError(h.T, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.T, err)
	if !h.unchecked {
		CheckAgainstSpec(h.T, req, resp.StatusCode, resp.Header, raw)
	}
	return resp.StatusCode, resp.Header, raw
}

// OrderView is an order as GET /orders/{id} answers it.
type OrderView struct {
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
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// ShipmentView is a shipment as GET /orders/{id}/delivery answers it.
type ShipmentView struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
}

// Item is an order line.
func Item(sku string, qty int) messages.Item { return messages.Item{SKU: sku, Quantity: qty} }

// PlaceOrder places an order through the API and returns its id.
func (h *Harness) PlaceOrder(customer string, items []messages.Item, headers ...string) string {
	h.T.Helper()
	status, hdr, body := h.Do(http.MethodPost, "/orders", map[string]any{"customer_id": customer, "items": items}, headers...)
	require.Equal(h.T, http.StatusAccepted, status, string(body))
	var res struct {
		OrderID string `json:"order_id"`
		Status  string `json:"status"`
	}
	require.NoError(h.T, json.Unmarshal(body, &res))
	require.Equal(h.T, "/orders/"+res.OrderID, hdr.Get("Location"))
	return res.OrderID
}

// Order returns the order as the API answers it, false when it is not found.
func (h *Harness) Order(id string) (OrderView, bool) {
	h.T.Helper()
	status, _, body := h.Do(http.MethodGet, "/orders/"+id, nil)
	if status == http.StatusNotFound {
		return OrderView{}, false
	}
	require.Equal(h.T, http.StatusOK, status, string(body))
	var o OrderView
	require.NoError(h.T, json.Unmarshal(body, &o))
	return o, true
}

// WaitStatus waits until the order has the status, failing after a deadline.
func (h *Harness) WaitStatus(id, want string) OrderView {
	h.T.Helper()
	var last OrderView
	require.Eventuallyf(h.T, func() bool {
		o, ok := h.Order(id)
		last = o
		return ok && o.Status == want
	}, h.Within, 5*time.Millisecond, "order %s never became %s", id, want)
	_ = last
	o, _ := h.Order(id)
	return o
}

// Shipment returns the order's shipment as the API answers it, false when there is none.
func (h *Harness) Shipment(id string) (ShipmentView, bool) {
	h.T.Helper()
	status, _, body := h.Do(http.MethodGet, "/orders/"+id+"/delivery", nil)
	if status == http.StatusNotFound {
		return ShipmentView{}, false
	}
	require.Equal(h.T, http.StatusOK, status, string(body))
	var s ShipmentView
	require.NoError(h.T, json.Unmarshal(body, &s))
	return s, true
}

// WaitShipment waits until the order's shipment has the status, failing after a deadline.
func (h *Harness) WaitShipment(id, want string) {
	h.T.Helper()
	require.Eventuallyf(h.T, func() bool {
		s, ok := h.Shipment(id)
		return ok && s.Status == want
	}, h.Within, 5*time.Millisecond, "shipment of %s never became %s", id, want)
}

// SetStock sets a SKU's stock on hand through the API.
func (h *Harness) SetStock(sku string, onHand int) messages.StockLevel {
	h.T.Helper()
	status, _, body := h.Do(http.MethodPut, "/inventory/"+sku, map[string]int{"on_hand": onHand})
	require.Equal(h.T, http.StatusOK, status, string(body))
	var l messages.StockLevel
	require.NoError(h.T, json.Unmarshal(body, &l))
	return l
}

// Stock returns a SKU's stock level as the API answers it.
func (h *Harness) Stock(sku string) messages.StockLevel {
	h.T.Helper()
	status, _, body := h.Do(http.MethodGet, "/inventory/"+sku, nil)
	require.Equal(h.T, http.StatusOK, status, string(body))
	var l messages.StockLevel
	require.NoError(h.T, json.Unmarshal(body, &l))
	return l
}

// WaitStock waits until the SKU's stock level is want, failing after a deadline.
func (h *Harness) WaitStock(sku string, want messages.StockLevel) {
	h.T.Helper()
	want.SKU = sku
	var last messages.StockLevel
	lastStatus := 0
	var mu sync.Mutex
	if !assert.Eventually(h.T, func() bool {
		// An answer other than 200 (a 503 from a slow store) is asked again.
		status, _, body := h.Do(http.MethodGet, "/inventory/"+sku, nil)
		var l messages.StockLevel
		ok := status == http.StatusOK && json.Unmarshal(body, &l) == nil
		mu.Lock()
		defer mu.Unlock()
		lastStatus, last = status, l
		return ok && l == want
	}, h.Within, 5*time.Millisecond) {
		mu.Lock()
		defer mu.Unlock()
		h.T.Fatalf("stock of %s never became %+v (last answer %d, %+v)", sku, want, lastStatus, last)
	}
}

// Courier takes a courier step (dispatch, deliver, fail) through the API and returns the status.
func (h *Harness) Courier(id, step string, body any) int {
	h.T.Helper()
	status, _, raw := h.Do(http.MethodPost, "/deliveries/"+id+"/"+step, body)
	require.Less(h.T, status, 500, string(raw))
	return status
}

// Recorder records every message published, then publishes it; failIf, when
// set, makes the publish of the messages it says yes to fail instead.
type Recorder struct {
	message.Publisher
	mu     sync.Mutex
	msgs   []Recorded
	failIf func(topic string, m *message.Message) bool
}

var errInjected = errors.New("publish failed (injected by the test)")

// FailPublishIf makes the publishes that fail says yes to fail from now on.
func (r *Recorder) FailPublishIf(fail func(topic string, m *message.Message) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failIf = fail
}

// Recorded is a message published, with its topic.
type Recorded struct {
	Topic string
	Msg   *message.Message
}

// Publish records the messages and publishes them.
func (r *Recorder) Publish(topic string, msgs ...*message.Message) error {
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
		r.msgs = append(r.msgs, Recorded{Topic: topic, Msg: m.Copy()})
	}
	r.mu.Unlock()
	return r.Publisher.Publish(topic, msgs...)
}

// Caused counts the messages published so far but the stock levels, which
// the inventory's loop publishes when it will (of changes made before).
func (r *Recorder) Caused() int {
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

// All returns every message published so far.
func (r *Recorder) All() []Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Recorded(nil), r.msgs...)
}

// Statuses lists the statuses of the order's history, oldest first.
func Statuses(o OrderView) []string {
	out := make([]string, len(o.History))
	for i, h := range o.History {
		out[i] = h.Status
	}
	return out
}
