package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/handlers/httpapi"
	"github.com/orderflow/orderflow/messages"
)

// sentCommand is one command the fake received, with the correlation ID of its context.
type sentCommand struct {
	Cmd           any
	CorrelationID string
	Expires       bool // sent with Request (it expires with the wait), not Submit
}

// fakeRequester records every command and answers it with the function
// registered for the command's type. Answers go through JSON, like a real reply.
type fakeRequester struct {
	mu      sync.Mutex
	answers map[reflect.Type]func(context.Context, any) (any, error)
	sent    []sentCommand
}

// newFakeRequester returns a fake that answers every command of the API as a
// healthy system would; tests replace the answers they are about.
func newFakeRequester() *fakeRequester {
	f := &fakeRequester{answers: map[reflect.Type]func(context.Context, any) (any, error){}}
	answer(f, func(_ context.Context, c messages.PlaceOrder) (messages.PlaceOrderResult, error) {
		o := cannedOrder(c.OrderID)
		o.CustomerID, o.Items, o.Status, o.History = c.CustomerID, c.Items, messages.OrderStatusPending, o.History[:1]
		return messages.PlaceOrderResult{Outcome: messages.OutcomeOK, Order: &o}, nil
	})
	answer(f, func(_ context.Context, c getOrder) (getOrderResult, error) {
		o := cannedOrder(c.OrderID)
		return getOrderResult{Outcome: messages.OutcomeOK, Order: &o}, nil
	})
	answer(f, func(_ context.Context, _ listOrders) (listOrdersResult, error) {
		return listOrdersResult{Outcome: messages.OutcomeOK, Orders: []messages.Order{cannedOrder("order-1"), cannedOrder("order-2")}, NextCursor: "bmV4dA"}, nil
	})
	answer(f, func(_ context.Context, _ messages.CancelOrder) (messages.CancelOrderResult, error) {
		return messages.CancelOrderResult{Outcome: messages.OutcomeOK, Status: messages.OrderStatusCancelled}, nil
	})
	answer(f, func(_ context.Context, c getShipment) (getShipmentResult, error) {
		return getShipmentResult{Outcome: messages.OutcomeOK, Shipment: &messages.Shipment{
			OrderID: c.OrderID, Status: messages.ShipmentStatusScheduled,
			History: []messages.StatusEntry{{Status: messages.ShipmentStatusScheduled, At: cannedTime, CorrelationID: "corr-2"}},
		}}, nil
	})
	answer(f, func(_ context.Context, _ messages.DispatchShipment) (messages.ShipmentCommandResult, error) {
		return messages.ShipmentCommandResult{Outcome: messages.OutcomeOK, Status: messages.ShipmentStatusDispatched}, nil
	})
	answer(f, func(_ context.Context, _ messages.DeliverShipment) (messages.ShipmentCommandResult, error) {
		return messages.ShipmentCommandResult{Outcome: messages.OutcomeOK, Status: messages.ShipmentStatusDelivered}, nil
	})
	answer(f, func(_ context.Context, _ messages.FailShipment) (messages.ShipmentCommandResult, error) {
		return messages.ShipmentCommandResult{Outcome: messages.OutcomeOK, Status: messages.ShipmentStatusFailed}, nil
	})
	answer(f, func(_ context.Context, c messages.SetStock) (messages.StockResult, error) {
		return messages.StockResult{Outcome: messages.OutcomeOK, Stock: &messages.StockLevel{SKU: c.SKU, OnHand: c.OnHand, Available: c.OnHand}}, nil
	})
	answer(f, func(_ context.Context, c getStock) (messages.StockResult, error) {
		return messages.StockResult{Outcome: messages.OutcomeOK, Stock: &messages.StockLevel{SKU: c.SKU, OnHand: 10, Reserved: 3, Available: 7}}, nil
	})
	answer(f, func(_ context.Context, _ listStock) (listStockResult, error) {
		return listStockResult{Stock: []messages.StockLevel{{SKU: "SKU-1", OnHand: 10, Reserved: 3, Available: 7}, {SKU: "SKU-2"}}}, nil
	})
	answer(f, answerPoisonAdmin)
	return f
}

// answer makes f answer commands of type C with fn.
func answer[C, R any](f *fakeRequester, fn func(ctx context.Context, cmd C) (R, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[reflect.TypeFor[C]()] = func(ctx context.Context, cmd any) (any, error) {
		return fn(ctx, cmd.(C))
	}
}

// fail makes f answer commands of type C with err.
func fail[C any](f *fakeRequester, err error) {
	answer(f, func(context.Context, C) (any, error) { return nil, err })
}

// Request implements httpapi.Requester.
func (f *fakeRequester) Request(ctx context.Context, cmd, result any) error {
	return f.request(ctx, cmd, result, true)
}

// Submit implements httpapi.Requester.
func (f *fakeRequester) Submit(ctx context.Context, cmd, result any) error {
	return f.request(ctx, cmd, result, false)
}

func (f *fakeRequester) request(ctx context.Context, cmd, result any, expires bool) error {
	f.mu.Lock()
	f.sent = append(f.sent, sentCommand{Cmd: cmd, CorrelationID: messages.CorrelationID(ctx), Expires: expires})
	fn := f.answers[reflect.TypeOf(cmd)]
	f.mu.Unlock()
	if fn == nil {
		return fmt.Errorf("fake requester: no answer for %T", cmd)
	}
	res, err := fn(ctx, cmd)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("fake requester: encode answer to %T: %w", cmd, err)
	}
	return json.Unmarshal(raw, result)
}

// Sent returns every command received so far.
func (f *fakeRequester) Sent() []sentCommand {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentCommand(nil), f.sent...)
}

// sentOf returns the commands of type C received so far.
func sentOf[C any](f *fakeRequester) []C {
	var out []C
	for _, s := range f.Sent() {
		if c, ok := s.Cmd.(C); ok {
			out = append(out, c)
		}
	}
	return out
}

var cannedTime = time.Date(2026, 3, 1, 12, 30, 0, 123456789, time.UTC)

// cannedOrder is a confirmed order with a history of two entries.
func cannedOrder(id string) messages.Order {
	return messages.Order{
		OrderID:    id,
		CustomerID: "customer-7",
		Items:      []messages.Item{{SKU: "SKU-1", Quantity: 2}, {SKU: "mug.blue", Quantity: 1}},
		Status:     messages.OrderStatusConfirmed,
		History: []messages.StatusEntry{
			{Status: messages.OrderStatusPending, At: cannedTime, CorrelationID: "corr-1"},
			{Status: messages.OrderStatusConfirmed, At: cannedTime.Add(time.Second), CorrelationID: "corr-1"},
		},
		CreatedAt: cannedTime,
		UpdatedAt: cannedTime.Add(time.Second),
	}
}

// spec is openapi.yaml, as served, loaded once for every test.
var spec = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPISpec())
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	return doc, nil
})

var specRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := spec()
	if err != nil {
		return nil, err
	}
	return gorillamux.NewRouter(doc)
})

// apiServer is the API on a real HTTP server, over a fake requester and a
// fake view that asks it.
type apiServer struct {
	fake  *fakeRequester
	views *fakeViews
	srv   *httptest.Server
}

// The API keys of the tests. Customer A owns cannedOrder's orders.
const (
	tokenOperator  = "test-operator-token-0001"
	tokenCourier   = "test-courier-token-0001"
	tokenCustomerA = "test-customer-a-token-01"
	tokenCustomerB = "test-customer-b-token-01"
	customerA      = "customer-7"
	customerB      = "customer-8"
)

// testKeys authenticates the tokens above.
func testKeys(tb testing.TB) httpapi.Authenticator {
	tb.Helper()
	keys, err := httpapi.ParseAPIKeys(tokenOperator + "=operator," + tokenCourier + "=courier," +
		tokenCustomerA + "=customer:" + customerA + "," + tokenCustomerB + "=customer:" + customerB)
	require.NoError(tb, err)
	return keys
}

// newServer serves the API over fake; ready is the readiness check (nil: always ready).
func newServer(tb testing.TB, fake *fakeRequester, ready func(context.Context) error) *apiServer {
	tb.Helper()
	return newServerWith(tb, fake, httpapi.Config{Ready: ready})
}

// newServerWith serves the API over fake with cfg; the test keys authenticate unless cfg.Auth is set.
func newServerWith(tb testing.TB, fake *fakeRequester, cfg httpapi.Config) *apiServer {
	tb.Helper()
	cfg.Commands = fake
	views := &fakeViews{f: fake}
	if cfg.Views == nil {
		cfg.Views = views
	}
	if cfg.Auth == nil {
		cfg.Auth = testKeys(tb)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tb.Output(), nil))
	}
	srv := httptest.NewServer(httpapi.NewHandler(cfg))
	tb.Cleanup(srv.Close)
	return &apiServer{fake: fake, views: views, srv: srv}
}

// request is what a test sends.
type request struct {
	Method string
	Path   string // with the query
	Body   string // none when empty
	Header map[string]string
}

// response is what the API answered.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	// SpecErr is openapi.yaml's verdict on the request: nil when the document
	// accepts it. It is nil too for a path or method the document does not have.
	SpecErr error
}

// do sends req, fails the test unless the response matches openapi.yaml
// (status, headers, body) and returns it. A path or method the document does
// not describe must get a 404 or 405 problem.
func (s *apiServer) do(t *testing.T, req request) response {
	t.Helper()
	httpReq := newHTTPRequest(t, s.srv.URL, req)
	res, err := s.srv.Client().Do(httpReq)
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	out := response{Status: res.StatusCode, Header: res.Header, Body: body}
	if out.Status >= 500 {
		require.Equal(t, http.StatusServiceUnavailable, out.Status, "the only 5xx the API may answer is 503: %s", body)
	}
	out.SpecErr = checkAgainstSpec(t, newHTTPRequest(t, s.srv.URL, req), out)
	return out
}

func newHTTPRequest(t *testing.T, baseURL string, req request) *http.Request {
	t.Helper()
	var body io.Reader
	if req.Body != "" {
		body = strings.NewReader(req.Body)
	}
	httpReq, err := http.NewRequestWithContext(t.Context(), req.Method, baseURL+req.Path, body)
	require.NoError(t, err)
	if req.Body != "" {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	// Every request is an operator's unless the test says who it is
	// (an empty Authorization sends none).
	httpReq.Header.Set("Authorization", "Bearer "+tokenOperator)
	for k, v := range req.Header {
		httpReq.Header.Set(k, v)
		if http.CanonicalHeaderKey(k) == "Authorization" && v == "" {
			httpReq.Header.Del("Authorization")
		}
	}
	return httpReq
}

// checkAgainstSpec validates the response and returns the spec's verdict on the request.
func checkAgainstSpec(t *testing.T, req *http.Request, res response) error {
	t.Helper()
	doc, err := spec()
	require.NoError(t, err)
	router, err := specRouter()
	require.NoError(t, err)
	ctx := t.Context()

	route, params, err := router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		require.Equal(t, http.StatusNotFound, res.Status, "a path openapi.yaml does not have")
		checkProblem(t, doc, res)
		return nil
	case errors.Is(err, routers.ErrMethodNotAllowed):
		require.Equal(t, http.StatusMethodNotAllowed, res.Status, "a method openapi.yaml does not have")
		checkProblem(t, doc, res)
		return nil
	}
	require.NoError(t, err)

	reqInput := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 res.Status,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(res.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	require.NoError(t, err, "the response to %s %s does not match openapi.yaml: %d %s", req.Method, req.URL.RequestURI(), res.Status, res.Body)

	return openapi3filter.ValidateRequest(ctx, &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{MultiError: true, AuthenticationFunc: bearerPresent},
	})
}

// bearerPresent is the spec's check of the bearerAuth scheme: a bearer token
// is there (whether it is valid is the API's to say).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if !strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
		return errors.New("no bearer token")
	}
	return nil
}

// checkProblem validates an answer outside of any operation against the
// document's Problem schema and X-Correlation-ID header.
func checkProblem(t *testing.T, doc *openapi3.T, res response) {
	t.Helper()
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	var body any
	require.NoError(t, json.Unmarshal(res.Body, &body))
	require.NoError(t, doc.Components.Schemas["Problem"].Value.VisitJSON(body))
	corr := doc.Components.Headers["X-Correlation-ID"].Value
	require.NotEmpty(t, res.Header.Get(httpapi.HeaderCorrelationID))
	require.NoError(t, corr.Schema.Value.VisitJSON(res.Header.Get(httpapi.HeaderCorrelationID)))
}

// problemBody is the problem details of an error response.
type problemBody struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	Errors   []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

// problem decodes the response as a problem and checks its status.
func (r response) problem(t *testing.T) problemBody {
	t.Helper()
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), "body: %s", r.Body)
	var p problemBody
	require.NoError(t, json.Unmarshal(r.Body, &p))
	require.Equal(t, r.Status, p.Status)
	return p
}

// fields names the fields the problem's errors name.
func (p problemBody) fields() []string {
	out := make([]string, len(p.Errors))
	for i, e := range p.Errors {
		out[i] = e.Field
	}
	return out
}

// decode decodes a JSON response into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	require.Equal(t, "application/json", r.Header.Get("Content-Type"), "body: %s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, v))
}
