package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/handlers/httpapi"
	"github.com/orderflow/orderflow/messages"
)

const validOrder = `{"customer_id":"customer-7","items":[{"sku":"SKU-1","quantity":2},{"sku":"mug.blue","quantity":1}]}`

// orderWith builds a POST /orders body around the given items JSON.
func orderWith(items string) string {
	return `{"customer_id":"customer-7","items":` + items + `}`
}

// itemsJSON builds n items with distinct SKUs.
func itemsJSON(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"sku":"SKU-%d","quantity":1}`, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// padded pads a valid JSON object with whitespace to size bytes.
func padded(object string, size int) string {
	return object[:len(object)-1] + strings.Repeat(" ", size-len(object)) + "}"
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	doc, err := spec()
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()))
	assert.Equal(t, "3.0.3", doc.OpenAPI)

	// Every route of the API is in the document.
	for path, methods := range map[string][]string{
		"/orders":                    {http.MethodPost, http.MethodGet},
		"/orders/{id}":               {http.MethodGet},
		"/orders/{id}/cancel":        {http.MethodPost},
		"/orders/{id}/delivery":      {http.MethodGet},
		"/orders/{id}/timeline":      {http.MethodGet},
		"/inventory":                 {http.MethodGet},
		"/inventory/{sku}":           {http.MethodGet, http.MethodPut},
		"/deliveries/{id}/dispatch":  {http.MethodPost},
		"/deliveries/{id}/deliver":   {http.MethodPost},
		"/deliveries/{id}/fail":      {http.MethodPost},
		"/healthz":                   {http.MethodGet},
		"/readyz":                    {http.MethodGet},
		"/openapi.yaml":              {http.MethodGet},
		"/admin/poison":              {http.MethodGet},
		"/admin/poison/requeue":      {http.MethodPost},
		"/admin/poison/{id}":         {http.MethodGet, http.MethodDelete},
		"/admin/poison/{id}/requeue": {http.MethodPost},
	} {
		item := doc.Paths.Value(path)
		require.NotNil(t, item, path)
		for _, m := range methods {
			assert.NotNil(t, item.GetOperation(m), "%s %s", m, path)
		}
		assert.Len(t, item.Operations(), len(methods), path)
	}
	assert.Equal(t, 17, doc.Paths.Len())
}

func TestServesOpenAPIDocument(t *testing.T) {
	t.Parallel()
	s := newServer(t, newFakeRequester(), nil)

	res := s.do(t, request{Method: http.MethodGet, Path: "/openapi.yaml"})

	require.Equal(t, http.StatusOK, res.Status)
	assert.Equal(t, "application/yaml", res.Header.Get("Content-Type"))
	assert.Equal(t, httpapi.OpenAPISpec(), res.Body)
	_, err := openapi3.NewLoader().LoadFromData(res.Body)
	require.NoError(t, err)
	assert.Empty(t, s.fake.Sent())
}

func TestPlaceOrderRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		header map[string]string
		// wantFields are the fields the problem must name (at least these).
		wantFields []string
		// schemaBlind marks a rule openapi.yaml cannot express: the document accepts the request.
		schemaBlind bool
	}{
		{name: "malformed JSON", body: `{"customer_id":`, wantFields: []string{"body"}},
		{name: "trailing comma", body: `{"customer_id":"c","items":[],}`, wantFields: []string{"body"}},
		{name: "trailing garbage after the object", body: validOrder + ` x`, wantFields: []string{"body"}, schemaBlind: true},
		{name: "two objects", body: validOrder + validOrder, wantFields: []string{"body"}, schemaBlind: true},
		{name: "body not an object", body: `[` + validOrder + `]`, wantFields: []string{"body"}},
		{name: "unknown top-level field", body: `{"customer_id":"c","coupon":"FREE","items":[{"sku":"a","quantity":1}]}`, wantFields: []string{"coupon"}},
		{name: "unknown field inside an item", body: orderWith(`[{"sku":"a","quantity":1},{"sku":"b","quantity":1,"colour":"red"}]`), wantFields: []string{"items[1].colour"}},
		{name: "customer_id missing", body: `{"items":[{"sku":"a","quantity":1}]}`, wantFields: []string{"customer_id"}},
		{name: "customer_id null", body: `{"customer_id":null,"items":[{"sku":"a","quantity":1}]}`, wantFields: []string{"customer_id"}},
		{name: "customer_id empty", body: `{"customer_id":"","items":[{"sku":"a","quantity":1}]}`, wantFields: []string{"customer_id"}},
		{name: "customer_id whitespace", body: `{"customer_id":" \t ","items":[{"sku":"a","quantity":1}]}`, wantFields: []string{"customer_id"}},
		{name: "customer_id not a string", body: `{"customer_id":42,"items":[{"sku":"a","quantity":1}]}`, wantFields: []string{"customer_id"}},
		{name: "customer_id an object", body: `{"customer_id":{"id":"c"},"items":[{"sku":"a","quantity":1}]}`, wantFields: []string{"customer_id"}},
		{name: "customer_id 129 characters", body: `{"customer_id":"` + strings.Repeat("c", 129) + `","items":[{"sku":"a","quantity":1}]}`, wantFields: []string{"customer_id"}},
		{name: "items missing", body: `{"customer_id":"c"}`, wantFields: []string{"items"}},
		{name: "items null", body: `{"customer_id":"c","items":null}`, wantFields: []string{"items"}},
		{name: "items empty", body: orderWith(`[]`), wantFields: []string{"items"}},
		{name: "items not an array", body: orderWith(`{"sku":"a","quantity":1}`), wantFields: []string{"items"}},
		{name: "items a string", body: orderWith(`"SKU-1"`), wantFields: []string{"items"}},
		{name: "101 items", body: orderWith(itemsJSON(101)), wantFields: []string{"items"}},
		{name: "item a number", body: orderWith(`[{"sku":"a","quantity":1},7]`), wantFields: []string{"items[1]"}},
		{name: "item a string", body: orderWith(`["SKU-1"]`), wantFields: []string{"items[0]"}},
		{name: "item null", body: orderWith(`[null]`), wantFields: []string{"items[0].sku", "items[0].quantity"}},
		{name: "sku missing", body: orderWith(`[{"quantity":1}]`), wantFields: []string{"items[0].sku"}},
		{name: "sku empty", body: orderWith(`[{"sku":"","quantity":1}]`), wantFields: []string{"items[0].sku"}},
		{name: "sku not a string", body: orderWith(`[{"sku":7,"quantity":1}]`), wantFields: []string{"items[0].sku"}},
		{name: "sku 65 characters", body: orderWith(`[{"sku":"` + strings.Repeat("s", 65) + `","quantity":1}]`), wantFields: []string{"items[0].sku"}},
		{name: "sku with a space", body: orderWith(`[{"sku":"SKU 1","quantity":1}]`), wantFields: []string{"items[0].sku"}},
		{name: "sku with a slash", body: orderWith(`[{"sku":"SKU/1","quantity":1}]`), wantFields: []string{"items[0].sku"}},
		{name: "sku not ASCII", body: orderWith(`[{"sku":"tasse-à-thé","quantity":1}]`), wantFields: []string{"items[0].sku"}},
		{name: "sku duplicated", body: orderWith(`[{"sku":"a","quantity":1},{"sku":"b","quantity":1},{"sku":"a","quantity":2}]`), wantFields: []string{"items[2].sku"}, schemaBlind: true},
		{name: "quantity missing", body: orderWith(`[{"sku":"a"}]`), wantFields: []string{"items[0].quantity"}},
		{name: "quantity null", body: orderWith(`[{"sku":"a","quantity":null}]`), wantFields: []string{"items[0].quantity"}},
		{name: "quantity 0", body: orderWith(`[{"sku":"a","quantity":0}]`), wantFields: []string{"items[0].quantity"}},
		{name: "quantity 10001", body: orderWith(`[{"sku":"a","quantity":10001}]`), wantFields: []string{"items[0].quantity"}},
		{name: "quantity 2.5", body: orderWith(`[{"sku":"a","quantity":2.5}]`), wantFields: []string{"items[0].quantity"}},
		{name: "quantity 2 as a string", body: orderWith(`[{"sku":"a","quantity":"2"}]`), wantFields: []string{"items[0].quantity"}},
		{name: "quantity -1", body: orderWith(`[{"sku":"a","quantity":-1}]`), wantFields: []string{"items[0].quantity"}},
		{name: "quantity huge", body: orderWith(`[{"sku":"a","quantity":99999999999999999999}]`), wantFields: []string{"items[0].quantity"}},
		// JSON Schema counts 2.0 and 1e2 as integers; the API wants them written as integers.
		{name: "quantity 2.0", body: orderWith(`[{"sku":"a","quantity":2.0}]`), wantFields: []string{"items[0].quantity"}, schemaBlind: true},
		{name: "quantity 1e2", body: orderWith(`[{"sku":"a","quantity":1e2}]`), wantFields: []string{"items[0].quantity"}, schemaBlind: true},
		{name: "error in a later item", body: orderWith(`[{"sku":"a","quantity":1},{"sku":"b","quantity":0}]`), wantFields: []string{"items[1].quantity"}},
		{name: "every error at once", body: `{"customer_id":"","items":[{"sku":"a b","quantity":0}]}`, wantFields: []string{"customer_id", "items[0].sku", "items[0].quantity"}},
		{name: "Idempotency-Key with a tab", body: validOrder, header: map[string]string{"Idempotency-Key": "key\twith-tab"}, wantFields: []string{"Idempotency-Key"}},
		{name: "Idempotency-Key with a space", body: validOrder, header: map[string]string{"Idempotency-Key": "key with-space"}, wantFields: []string{"Idempotency-Key"}},
		{name: "Idempotency-Key not ASCII", body: validOrder, header: map[string]string{"Idempotency-Key": "clé"}, wantFields: []string{"Idempotency-Key"}},
		{name: "Idempotency-Key 256 characters", body: validOrder, header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, wantFields: []string{"Idempotency-Key"}},
		{name: "Idempotency-Key empty", body: validOrder, header: map[string]string{"Idempotency-Key": ""}, wantFields: []string{"Idempotency-Key"}},
		{name: "no body", body: "", wantFields: []string{"body"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), nil)

			res := s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: tc.body, Header: tc.header})

			require.Equal(t, http.StatusBadRequest, res.Status, "body: %s", res.Body)
			p := res.problem(t)
			assert.Subset(t, p.fields(), tc.wantFields)
			assert.Equal(t, "/orders", p.Instance)
			assert.NotEmpty(t, p.Detail)
			assert.Empty(t, s.fake.Sent(), "a refused request sends nothing")
			if tc.schemaBlind {
				assert.NoError(t, res.SpecErr, "openapi.yaml cannot express this rule")
			} else {
				assert.Error(t, res.SpecErr, "openapi.yaml must refuse what the API refuses")
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
	}{
		{name: "order of exactly the limit", method: http.MethodPost, path: "/orders", body: padded(validOrder, httpapi.MaxBodyBytes), wantStatus: http.StatusAccepted},
		{name: "order one byte over the limit", method: http.MethodPost, path: "/orders", body: padded(validOrder, httpapi.MaxBodyBytes+1), wantStatus: http.StatusRequestEntityTooLarge},
		{name: "order far over the limit", method: http.MethodPost, path: "/orders", body: padded(validOrder, 1<<20), wantStatus: http.StatusRequestEntityTooLarge},
		{name: "stock over the limit", method: http.MethodPut, path: "/inventory/SKU-1", body: padded(`{"on_hand":5}`, httpapi.MaxBodyBytes+1), wantStatus: http.StatusRequestEntityTooLarge},
		{name: "cancel over the limit", method: http.MethodPost, path: "/orders/o-1/cancel", body: padded(`{"reason":"r"}`, httpapi.MaxBodyBytes+1), wantStatus: http.StatusRequestEntityTooLarge},
		{name: "dispatch over the limit", method: http.MethodPost, path: "/deliveries/o-1/dispatch", body: padded(`{}`, httpapi.MaxBodyBytes+1), wantStatus: http.StatusRequestEntityTooLarge},
		{name: "fail over the limit", method: http.MethodPost, path: "/deliveries/o-1/fail", body: padded(`{"reason":"r"}`, httpapi.MaxBodyBytes+1), wantStatus: http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), nil)

			res := s.do(t, request{Method: tc.method, Path: tc.path, Body: tc.body})

			require.Equal(t, tc.wantStatus, res.Status, "body: %s", res.Body)
			if tc.wantStatus == http.StatusRequestEntityTooLarge {
				res.problem(t)
				assert.Empty(t, s.fake.Sent(), "a refused request sends nothing")
			} else {
				assert.Len(t, s.fake.Sent(), 1)
			}
		})
	}
}

func TestRefusedRequestsSendNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantField  string
	}{
		{name: "on_hand -1", method: http.MethodPut, path: "/inventory/SKU-1", body: `{"on_hand":-1}`, wantStatus: 400, wantField: "on_hand"},
		{name: "on_hand a string", method: http.MethodPut, path: "/inventory/SKU-1", body: `{"on_hand":"10"}`, wantStatus: 400, wantField: "on_hand"},
		{name: "on_hand 2.5", method: http.MethodPut, path: "/inventory/SKU-1", body: `{"on_hand":2.5}`, wantStatus: 400, wantField: "on_hand"},
		{name: "on_hand over a billion", method: http.MethodPut, path: "/inventory/SKU-1", body: `{"on_hand":1000000001}`, wantStatus: 400, wantField: "on_hand"},
		{name: "on_hand missing", method: http.MethodPut, path: "/inventory/SKU-1", body: `{}`, wantStatus: 400, wantField: "on_hand"},
		{name: "on_hand null", method: http.MethodPut, path: "/inventory/SKU-1", body: `{"on_hand":null}`, wantStatus: 400, wantField: "on_hand"},
		{name: "stock with an unknown field", method: http.MethodPut, path: "/inventory/SKU-1", body: `{"on_hand":5,"reserved":1}`, wantStatus: 400, wantField: "reserved"},
		{name: "stock without a body", method: http.MethodPut, path: "/inventory/SKU-1", wantStatus: 400, wantField: "body"},
		{name: "stock with a space in the SKU", method: http.MethodPut, path: "/inventory/SKU%201", body: `{"on_hand":5}`, wantStatus: 400, wantField: "sku"},
		{name: "stock with a bad character in the SKU", method: http.MethodPut, path: "/inventory/SKU!1", body: `{"on_hand":5}`, wantStatus: 400, wantField: "sku"},
		{name: "stock with a 65-character SKU", method: http.MethodPut, path: "/inventory/" + strings.Repeat("s", 65), body: `{"on_hand":5}`, wantStatus: 400, wantField: "sku"},
		{name: "get stock with a bad SKU", method: http.MethodGet, path: "/inventory/SKU%2B1", wantStatus: 400, wantField: "sku"},
		{name: "fail without a reason", method: http.MethodPost, path: "/deliveries/o-1/fail", body: `{}`, wantStatus: 400, wantField: "reason"},
		{name: "fail without a body", method: http.MethodPost, path: "/deliveries/o-1/fail", wantStatus: 400, wantField: "body"},
		{name: "fail with an empty reason", method: http.MethodPost, path: "/deliveries/o-1/fail", body: `{"reason":""}`, wantStatus: 400, wantField: "reason"},
		{name: "fail with a reason not a string", method: http.MethodPost, path: "/deliveries/o-1/fail", body: `{"reason":5}`, wantStatus: 400, wantField: "reason"},
		{name: "fail with a 501-character reason", method: http.MethodPost, path: "/deliveries/o-1/fail", body: `{"reason":"` + strings.Repeat("r", 501) + `"}`, wantStatus: 400, wantField: "reason"},
		{name: "fail with an unknown field", method: http.MethodPost, path: "/deliveries/o-1/fail", body: `{"reason":"lost","where":"depot"}`, wantStatus: 400, wantField: "where"},
		{name: "dispatch with an unknown field", method: http.MethodPost, path: "/deliveries/o-1/dispatch", body: `{"at":"now"}`, wantStatus: 400, wantField: "at"},
		{name: "deliver with a malformed body", method: http.MethodPost, path: "/deliveries/o-1/deliver", body: `{`, wantStatus: 400, wantField: "body"},
		{name: "cancel with a reason not a string", method: http.MethodPost, path: "/orders/o-1/cancel", body: `{"reason":["late"]}`, wantStatus: 400, wantField: "reason"},
		{name: "cancel with a 501-character reason", method: http.MethodPost, path: "/orders/o-1/cancel", body: `{"reason":"` + strings.Repeat("r", 501) + `"}`, wantStatus: 400, wantField: "reason"},
		{name: "cancel with an unknown field", method: http.MethodPost, path: "/orders/o-1/cancel", body: `{"why":"late"}`, wantStatus: 400, wantField: "why"},
		{name: "list with an unknown status", method: http.MethodGet, path: "/orders?status=LOST", wantStatus: 400, wantField: "status"},
		{name: "list with a lowercase status", method: http.MethodGet, path: "/orders?status=pending", wantStatus: 400, wantField: "status"},
		{name: "list with limit 0", method: http.MethodGet, path: "/orders?limit=0", wantStatus: 400, wantField: "limit"},
		{name: "list with limit 101", method: http.MethodGet, path: "/orders?limit=101", wantStatus: 400, wantField: "limit"},
		{name: "list with limit abc", method: http.MethodGet, path: "/orders?limit=abc", wantStatus: 400, wantField: "limit"},
		{name: "list with limit -1", method: http.MethodGet, path: "/orders?limit=-1", wantStatus: 400, wantField: "limit"},
		{name: "list with limit 1.5", method: http.MethodGet, path: "/orders?limit=1.5", wantStatus: 400, wantField: "limit"},
		{name: "list with a 129-character customer_id", method: http.MethodGet, path: "/orders?customer_id=" + strings.Repeat("c", 129), wantStatus: 400, wantField: "customer_id"},
		{name: "list with a 513-character cursor", method: http.MethodGet, path: "/orders?cursor=" + strings.Repeat("c", 513), wantStatus: 400, wantField: "cursor"},
		{name: "order id too long", method: http.MethodGet, path: "/orders/" + strings.Repeat("o", 129), wantStatus: 404},
		{name: "cancel an order id too long", method: http.MethodPost, path: "/orders/" + strings.Repeat("o", 129) + "/cancel", wantStatus: 404},
		{name: "shipment id too long", method: http.MethodGet, path: "/orders/" + strings.Repeat("o", 129) + "/delivery", wantStatus: 404},
		{name: "dispatch an id too long", method: http.MethodPost, path: "/deliveries/" + strings.Repeat("o", 129) + "/dispatch", wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), nil)

			res := s.do(t, request{Method: tc.method, Path: tc.path, Body: tc.body})

			require.Equal(t, tc.wantStatus, res.Status, "body: %s", res.Body)
			p := res.problem(t)
			if tc.wantField != "" {
				assert.Contains(t, p.fields(), tc.wantField)
				assert.Error(t, res.SpecErr, "openapi.yaml must refuse what the API refuses")
			}
			assert.Empty(t, s.fake.Sent(), "a refused request sends nothing")
		})
	}
}

func TestPlaceOrder(t *testing.T) {
	t.Parallel()
	s := newServer(t, newFakeRequester(), nil)

	res := s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: validOrder})

	require.Equal(t, http.StatusAccepted, res.Status, "body: %s", res.Body)
	require.NoError(t, res.SpecErr)
	var accepted struct {
		OrderID string `json:"order_id"`
		Status  string `json:"status"`
	}
	res.decode(t, &accepted)
	require.NotEmpty(t, accepted.OrderID)
	assert.Equal(t, messages.OrderStatusPending, accepted.Status)
	assert.Equal(t, "/orders/"+accepted.OrderID, res.Header.Get("Location"))

	placed := sentOf[messages.PlaceOrder](s.fake)
	require.Len(t, placed, 1)
	assert.Equal(t, messages.PlaceOrder{
		OrderID:    accepted.OrderID,
		CustomerID: "customer-7",
		Items:      []messages.Item{{SKU: "SKU-1", Quantity: 2}, {SKU: "mug.blue", Quantity: 1}},
	}, placed[0])
	assert.Len(t, s.fake.Sent(), 1)
}

func TestPlaceOrderAnswersTheOrdersCurrentStatus(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	answer(fake, func(_ context.Context, c messages.PlaceOrder) (messages.PlaceOrderResult, error) {
		o := cannedOrder(c.OrderID) // placed before, and confirmed since
		return messages.PlaceOrderResult{Outcome: messages.OutcomeOK, Order: &o}, nil
	})
	s := newServer(t, fake, nil)

	res := s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: validOrder, Header: map[string]string{"Idempotency-Key": "retry-1"}})

	require.Equal(t, http.StatusAccepted, res.Status, "body: %s", res.Body)
	assert.JSONEq(t, fmt.Sprintf(`{"order_id":%q,"status":"CONFIRMED"}`, sentOf[messages.PlaceOrder](fake)[0].OrderID), string(res.Body))
}

func TestPlaceOrderIdempotencyKey(t *testing.T) {
	t.Parallel()
	s := newServer(t, newFakeRequester(), nil)
	place := func(t *testing.T, customerID, key string) string {
		t.Helper()
		req := request{Method: http.MethodPost, Path: "/orders", Body: `{"customer_id":"` + customerID + `","items":[{"sku":"SKU-1","quantity":1}]}`}
		if key != "" {
			req.Header = map[string]string{"Idempotency-Key": key}
		}
		res := s.do(t, req)
		require.Equal(t, http.StatusAccepted, res.Status, "body: %s", res.Body)
		require.NoError(t, res.SpecErr)
		var accepted struct {
			OrderID string `json:"order_id"`
		}
		res.decode(t, &accepted)
		assert.Equal(t, "/orders/"+accepted.OrderID, res.Header.Get("Location"))
		return accepted.OrderID
	}

	first := place(t, "alice", "key-1")
	assert.Equal(t, first, place(t, "alice", "key-1"), "a retry names the same order")
	assert.NotEqual(t, first, place(t, "bob", "key-1"), "keys are scoped by customer")
	assert.NotEqual(t, first, place(t, "alice", "key-2"))
	assert.NotEqual(t, place(t, "alice", ""), place(t, "alice", ""), "without a key every request is a new order")

	var ids []string
	for _, c := range sentOf[messages.PlaceOrder](s.fake) {
		ids = append(ids, c.OrderID)
	}
	require.Len(t, ids, 6)
	assert.Equal(t, ids[0], ids[1], "the retry sent the same order id")
}

func TestPlaceOrderKeyReusedForAnotherOrder(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	answer(fake, func(_ context.Context, c messages.PlaceOrder) (messages.PlaceOrderResult, error) {
		o := cannedOrder(c.OrderID)
		return messages.PlaceOrderResult{Outcome: messages.OutcomeConflict, Order: &o}, nil
	})
	s := newServer(t, fake, nil)

	res := s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: validOrder, Header: map[string]string{"Idempotency-Key": "key-1"}})

	require.Equal(t, http.StatusUnprocessableEntity, res.Status, "body: %s", res.Body)
	assert.Equal(t, []string{"Idempotency-Key"}, res.problem(t).fields())
	assert.Empty(t, res.Header.Get("Location"))
}

func TestPlaceOrderWithoutReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		wantStatus int
	}{
		// The command is published: the order will be stored, so the client gets its id.
		{name: "no reply in time", err: fmt.Errorf("%w: PlaceOrder after 5s", messages.ErrNoReply), wantStatus: http.StatusAccepted},
		{name: "command not sent", err: errors.New("publish: broker down"), wantStatus: http.StatusServiceUnavailable},
		// The broker did not take it (down, or no acknowledgement before the deadline): a 202 would be a lie.
		{name: "command not taken by the broker", err: fmt.Errorf("%w: PlaceOrder: publish abandoned: context deadline exceeded", messages.ErrNotSent), wantStatus: http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeRequester()
			fail[messages.PlaceOrder](fake, tc.err)
			s := newServer(t, fake, nil)

			res := s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: validOrder})

			require.Equal(t, tc.wantStatus, res.Status, "body: %s", res.Body)
			if tc.wantStatus == http.StatusAccepted {
				id := sentOf[messages.PlaceOrder](fake)[0].OrderID
				assert.JSONEq(t, fmt.Sprintf(`{"order_id":%q,"status":"PENDING"}`, id), string(res.Body))
				assert.Equal(t, "/orders/"+id, res.Header.Get("Location"))
			} else {
				res.problem(t)
				assert.Equal(t, "1", res.Header.Get("Retry-After"))
			}
		})
	}
}

// Only a placed order stands without an answer (its client is told 202); every
// other command's client is told to retry, so the command expires with the wait.
func TestOnlyAPlacedOrderIsSentWithoutExpiry(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	s := newServer(t, fake, nil)
	res := s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: validOrder})
	require.Equal(t, http.StatusAccepted, res.Status, "body: %s", res.Body)
	res = s.do(t, request{Method: http.MethodPost, Path: "/orders/o-1/cancel"})
	require.Equal(t, http.StatusAccepted, res.Status, "body: %s", res.Body)

	sent := fake.Sent()
	require.Len(t, sent, 2)
	assert.IsType(t, messages.PlaceOrder{}, sent[0].Cmd)
	assert.False(t, sent[0].Expires, "an order placed is submitted")
	assert.IsType(t, messages.CancelOrder{}, sent[1].Cmd)
	assert.True(t, sent[1].Expires, "a cancel is requested")
}

func TestNoReplyIsServiceUnavailable(t *testing.T) {
	t.Parallel()
	noReply := fmt.Errorf("%w: after 5s", messages.ErrNoReply)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		silent func(*fakeRequester)
	}{
		{name: "get order", method: http.MethodGet, path: "/orders/o-1", silent: func(f *fakeRequester) { fail[getOrder](f, noReply) }},
		{name: "list orders", method: http.MethodGet, path: "/orders", silent: func(f *fakeRequester) { fail[listOrders](f, noReply) }},
		{name: "get delivery", method: http.MethodGet, path: "/orders/o-1/delivery", silent: func(f *fakeRequester) { fail[getShipment](f, noReply) }},
		{name: "get stock", method: http.MethodGet, path: "/inventory/SKU-1", silent: func(f *fakeRequester) { fail[getStock](f, noReply) }},
		{name: "list stock", method: http.MethodGet, path: "/inventory", silent: func(f *fakeRequester) { fail[listStock](f, noReply) }},
		{name: "set stock", method: http.MethodPut, path: "/inventory/SKU-1", body: `{"on_hand":5}`, silent: func(f *fakeRequester) { fail[messages.SetStock](f, noReply) }},
		{name: "cancel", method: http.MethodPost, path: "/orders/o-1/cancel", silent: func(f *fakeRequester) { fail[messages.CancelOrder](f, noReply) }},
		{name: "dispatch", method: http.MethodPost, path: "/deliveries/o-1/dispatch", silent: func(f *fakeRequester) { fail[messages.DispatchShipment](f, noReply) }},
		{name: "deliver", method: http.MethodPost, path: "/deliveries/o-1/deliver", silent: func(f *fakeRequester) { fail[messages.DeliverShipment](f, noReply) }},
		{name: "fail", method: http.MethodPost, path: "/deliveries/o-1/fail", body: `{"reason":"lost"}`, silent: func(f *fakeRequester) { fail[messages.FailShipment](f, noReply) }},
		{name: "get order, command not sent", method: http.MethodGet, path: "/orders/o-1", silent: func(f *fakeRequester) { fail[getOrder](f, errors.New("broker down")) }},
		{name: "set stock, reply without stock", method: http.MethodPut, path: "/inventory/SKU-1", body: `{"on_hand":5}`, silent: func(f *fakeRequester) {
			answer(f, func(context.Context, messages.SetStock) (messages.StockResult, error) {
				return messages.StockResult{Outcome: messages.OutcomeOK}, nil
			})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeRequester()
			tc.silent(fake)
			s := newServer(t, fake, nil)

			res := s.do(t, request{Method: tc.method, Path: tc.path, Body: tc.body})

			require.Equal(t, http.StatusServiceUnavailable, res.Status, "body: %s", res.Body)
			res.problem(t)
			assert.Equal(t, "1", res.Header.Get("Retry-After"))
			assert.Len(t, fake.Sent(), 1)
		})
	}
}

func TestNilLoggerIsNoPanic(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	fail[getOrder](fake, errors.New("broker down"))
	srv := httptest.NewServer(httpapi.NewHandler(httpapi.Config{Commands: fake, Views: &fakeViews{f: fake}, Auth: testKeys(t)})) // logs through slog.Default
	t.Cleanup(srv.Close)
	s := &apiServer{fake: fake, srv: srv}

	res := s.do(t, request{Method: http.MethodGet, Path: "/orders/o-1"})

	require.Equal(t, http.StatusServiceUnavailable, res.Status, "body: %s", res.Body)
	assert.Equal(t, "1", res.Header.Get("Retry-After"))
}

func TestGetOrder(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	answer(fake, func(_ context.Context, c getOrder) (getOrderResult, error) {
		if c.OrderID != "o-1" {
			return getOrderResult{Outcome: messages.OutcomeNotFound}, nil
		}
		o := cannedOrder(c.OrderID)
		o.Status, o.Reason = messages.OrderStatusCancelled, "changed my mind"
		o.History = append(o.History, messages.StatusEntry{Status: messages.OrderStatusCancelled, At: cannedTime.Add(2 * time.Second), Reason: "changed my mind", CorrelationID: "corr-9"})
		return getOrderResult{Outcome: messages.OutcomeOK, Order: &o}, nil
	})
	s := newServer(t, fake, nil)

	res := s.do(t, request{Method: http.MethodGet, Path: "/orders/o-1"})

	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.JSONEq(t, `{
		"order_id": "o-1",
		"customer_id": "customer-7",
		"items": [{"sku":"SKU-1","quantity":2},{"sku":"mug.blue","quantity":1}],
		"status": "CANCELLED",
		"reason": "changed my mind",
		"history": [
			{"status":"PENDING","at":"2026-03-01T12:30:00.123456789Z","correlation_id":"corr-1"},
			{"status":"CONFIRMED","at":"2026-03-01T12:30:01.123456789Z","correlation_id":"corr-1"},
			{"status":"CANCELLED","at":"2026-03-01T12:30:02.123456789Z","reason":"changed my mind","correlation_id":"corr-9"}
		],
		"created_at": "2026-03-01T12:30:00.123456789Z",
		"updated_at": "2026-03-01T12:30:01.123456789Z"
	}`, string(res.Body))
	assert.Equal(t, []getOrder{{OrderID: "o-1"}}, sentOf[getOrder](fake))

	res = s.do(t, request{Method: http.MethodGet, Path: "/orders/o-2"})
	require.Equal(t, http.StatusNotFound, res.Status, "body: %s", res.Body)
	assert.Equal(t, "/orders/o-2", res.problem(t).Instance)
}

func TestListOrders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		want  listOrders
	}{
		{name: "no filter", query: "", want: listOrders{Limit: messages.DefaultListLimit}},
		{name: "every filter", query: "?customer_id=alice&status=SHIPPED&limit=5&cursor=abc", want: listOrders{CustomerID: "alice", Status: "SHIPPED", Limit: 5, Cursor: "abc"}},
		{name: "limit 1", query: "?limit=1", want: listOrders{Limit: 1}},
		{name: "limit 100", query: "?limit=100", want: listOrders{Limit: 100}},
		{name: "empty values", query: "?customer_id=&status=&limit=&cursor=", want: listOrders{Limit: messages.DefaultListLimit}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), nil)

			res := s.do(t, request{Method: http.MethodGet, Path: "/orders" + tc.query})

			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			var page struct {
				Orders []struct {
					OrderID string `json:"order_id"`
				} `json:"orders"`
				NextCursor string `json:"next_cursor"`
			}
			res.decode(t, &page)
			require.Len(t, page.Orders, 2)
			assert.Equal(t, "order-1", page.Orders[0].OrderID)
			assert.Equal(t, "bmV4dA", page.NextCursor)
			assert.Equal(t, []listOrders{tc.want}, sentOf[listOrders](s.fake))
		})
	}
}

func TestListOrdersLastPageAndBadCursor(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	answer(fake, func(_ context.Context, c listOrders) (listOrdersResult, error) {
		if c.Cursor == "forged" {
			return listOrdersResult{Outcome: messages.OutcomeInvalid, Detail: "malformed cursor", Orders: []messages.Order{}}, nil
		}
		return listOrdersResult{Outcome: messages.OutcomeOK}, nil
	})
	s := newServer(t, fake, nil)

	res := s.do(t, request{Method: http.MethodGet, Path: "/orders?customer_id=nobody"})
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.JSONEq(t, `{"orders":[]}`, string(res.Body))

	res = s.do(t, request{Method: http.MethodGet, Path: "/orders?cursor=forged"})
	require.Equal(t, http.StatusBadRequest, res.Status, "body: %s", res.Body)
	assert.Equal(t, []string{"cursor"}, res.problem(t).fields())
}

func TestCancelOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		reply      messages.CancelOrderResult
		wantStatus int
		wantReason string
		wantBody   string
	}{
		{name: "ok without a body", reply: messages.CancelOrderResult{Outcome: messages.OutcomeOK, Status: messages.OrderStatusCancelled}, wantStatus: http.StatusAccepted, wantReason: "cancelled by request", wantBody: `{"order_id":"o-1","status":"CANCELLED"}`},
		{name: "ok with an empty object", body: `{}`, reply: messages.CancelOrderResult{Outcome: messages.OutcomeOK, Status: messages.OrderStatusCancelled}, wantStatus: http.StatusAccepted, wantReason: "cancelled by request", wantBody: `{"order_id":"o-1","status":"CANCELLED"}`},
		{name: "ok with a reason", body: `{"reason":"changed my mind"}`, reply: messages.CancelOrderResult{Outcome: messages.OutcomeOK, Status: messages.OrderStatusCancelled}, wantStatus: http.StatusAccepted, wantReason: "changed my mind", wantBody: `{"order_id":"o-1","status":"CANCELLED"}`},
		{name: "ok with a null reason", body: `{"reason":null}`, reply: messages.CancelOrderResult{Outcome: messages.OutcomeOK, Status: messages.OrderStatusCancelled}, wantStatus: http.StatusAccepted, wantReason: "cancelled by request", wantBody: `{"order_id":"o-1","status":"CANCELLED"}`},
		{name: "not found", reply: messages.CancelOrderResult{Outcome: messages.OutcomeNotFound}, wantStatus: http.StatusNotFound, wantReason: "cancelled by request"},
		{name: "conflict", reply: messages.CancelOrderResult{Outcome: messages.OutcomeConflict, Status: messages.OrderStatusShipped, Detail: "an order that is SHIPPED can no longer be cancelled"}, wantStatus: http.StatusConflict, wantReason: "cancelled by request"},
		{name: "conflict without a detail", reply: messages.CancelOrderResult{Outcome: messages.OutcomeConflict}, wantStatus: http.StatusConflict, wantReason: "cancelled by request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeRequester()
			answer(fake, func(context.Context, messages.CancelOrder) (messages.CancelOrderResult, error) { return tc.reply, nil })
			s := newServer(t, fake, nil)

			res := s.do(t, request{Method: http.MethodPost, Path: "/orders/o-1/cancel", Body: tc.body})

			require.Equal(t, tc.wantStatus, res.Status, "body: %s", res.Body)
			require.NoError(t, res.SpecErr)
			if tc.wantBody != "" {
				assert.JSONEq(t, tc.wantBody, string(res.Body))
			} else {
				p := res.problem(t)
				if tc.reply.Detail != "" {
					assert.Equal(t, tc.reply.Detail, p.Detail)
				}
			}
			assert.Equal(t, []messages.CancelOrder{{OrderID: "o-1", Reason: tc.wantReason}}, sentOf[messages.CancelOrder](fake))
		})
	}
}

func TestCourierSteps(t *testing.T) {
	t.Parallel()
	steps := []struct {
		step    string
		body    string
		want    any
		okState string
		answer  func(*fakeRequester, messages.ShipmentCommandResult)
	}{
		{step: "dispatch", want: messages.DispatchShipment{OrderID: "o-1"}, okState: messages.ShipmentStatusDispatched, answer: func(f *fakeRequester, r messages.ShipmentCommandResult) {
			answer(f, func(context.Context, messages.DispatchShipment) (messages.ShipmentCommandResult, error) {
				return r, nil
			})
		}},
		{step: "deliver", body: `{}`, want: messages.DeliverShipment{OrderID: "o-1"}, okState: messages.ShipmentStatusDelivered, answer: func(f *fakeRequester, r messages.ShipmentCommandResult) {
			answer(f, func(context.Context, messages.DeliverShipment) (messages.ShipmentCommandResult, error) { return r, nil })
		}},
		{step: "fail", body: `{"reason":"nobody home"}`, want: messages.FailShipment{OrderID: "o-1", Reason: "nobody home"}, okState: messages.ShipmentStatusFailed, answer: func(f *fakeRequester, r messages.ShipmentCommandResult) {
			answer(f, func(context.Context, messages.FailShipment) (messages.ShipmentCommandResult, error) { return r, nil })
		}},
	}
	outcomes := []struct {
		outcome    string
		wantStatus int
	}{
		{outcome: messages.OutcomeOK, wantStatus: http.StatusAccepted},
		{outcome: messages.OutcomeNotFound, wantStatus: http.StatusNotFound},
		{outcome: messages.OutcomeConflict, wantStatus: http.StatusConflict},
	}
	for _, st := range steps {
		for _, oc := range outcomes {
			t.Run(st.step+" "+oc.outcome, func(t *testing.T) {
				t.Parallel()
				fake := newFakeRequester()
				reply := messages.ShipmentCommandResult{Outcome: oc.outcome}
				switch oc.outcome {
				case messages.OutcomeOK:
					reply.Status = st.okState
				case messages.OutcomeConflict:
					reply.Detail = "cannot " + st.step + " a CANCELLED shipment"
				}
				st.answer(fake, reply)
				s := newServer(t, fake, nil)

				res := s.do(t, request{Method: http.MethodPost, Path: "/deliveries/o-1/" + st.step, Body: st.body})

				require.Equal(t, oc.wantStatus, res.Status, "body: %s", res.Body)
				require.NoError(t, res.SpecErr)
				if oc.wantStatus == http.StatusAccepted {
					assert.JSONEq(t, `{"order_id":"o-1","status":"`+st.okState+`"}`, string(res.Body))
				} else {
					p := res.problem(t)
					if reply.Detail != "" {
						assert.Equal(t, reply.Detail, p.Detail)
					}
				}
				require.Len(t, fake.Sent(), 1)
				assert.Equal(t, st.want, fake.Sent()[0].Cmd)
			})
		}
	}
}

func TestGetDelivery(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	answer(fake, func(_ context.Context, c getShipment) (getShipmentResult, error) {
		if c.OrderID != "o-1" {
			return getShipmentResult{Outcome: messages.OutcomeNotFound}, nil
		}
		return getShipmentResult{Outcome: messages.OutcomeOK, Shipment: &messages.Shipment{
			OrderID: "o-1", Status: messages.ShipmentStatusFailed,
			History: []messages.StatusEntry{
				{Status: messages.ShipmentStatusScheduled, At: cannedTime, CorrelationID: "corr-1"},
				{Status: messages.ShipmentStatusDispatched, At: cannedTime, CorrelationID: "corr-2"},
				{Status: messages.ShipmentStatusFailed, At: cannedTime, Reason: "nobody home", CorrelationID: "corr-3"},
			},
		}}, nil
	})
	s := newServer(t, fake, nil)

	res := s.do(t, request{Method: http.MethodGet, Path: "/orders/o-1/delivery"})
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.JSONEq(t, `{"order_id":"o-1","status":"FAILED","history":[
		{"status":"SCHEDULED","at":"2026-03-01T12:30:00.123456789Z","correlation_id":"corr-1"},
		{"status":"DISPATCHED","at":"2026-03-01T12:30:00.123456789Z","correlation_id":"corr-2"},
		{"status":"FAILED","at":"2026-03-01T12:30:00.123456789Z","reason":"nobody home","correlation_id":"corr-3"}]}`, string(res.Body))

	res = s.do(t, request{Method: http.MethodGet, Path: "/orders/o-2/delivery"})
	require.Equal(t, http.StatusNotFound, res.Status, "body: %s", res.Body)
	res.problem(t)
	assert.Equal(t, []getShipment{{OrderID: "o-1"}, {OrderID: "o-2"}}, sentOf[getShipment](fake))
}

func TestSetStock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		reply      *messages.StockResult // nil: the default answer
		wantStatus int
		wantBody   string
		wantField  string
	}{
		{name: "ok", body: `{"on_hand":12}`, wantStatus: http.StatusOK, wantBody: `{"sku":"SKU-1","on_hand":12,"reserved":0,"available":12}`},
		{name: "zero", body: `{"on_hand":0}`, wantStatus: http.StatusOK, wantBody: `{"sku":"SKU-1","on_hand":0,"reserved":0,"available":0}`},
		{name: "a billion", body: `{"on_hand":1000000000}`, wantStatus: http.StatusOK, wantBody: `{"sku":"SKU-1","on_hand":1000000000,"reserved":0,"available":1000000000}`},
		{name: "below reserved", body: `{"on_hand":1}`, reply: &messages.StockResult{Outcome: messages.OutcomeConflict, Detail: "on_hand 1 is below the 3 reserved"}, wantStatus: http.StatusConflict, wantField: "on_hand"},
		{name: "refused by the service", body: `{"on_hand":1}`, reply: &messages.StockResult{Outcome: messages.OutcomeInvalid, Detail: "invalid stock"}, wantStatus: http.StatusBadRequest, wantField: "on_hand"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeRequester()
			if tc.reply != nil {
				answer(fake, func(context.Context, messages.SetStock) (messages.StockResult, error) { return *tc.reply, nil })
			}
			s := newServer(t, fake, nil)

			res := s.do(t, request{Method: http.MethodPut, Path: "/inventory/SKU-1", Body: tc.body})

			require.Equal(t, tc.wantStatus, res.Status, "body: %s", res.Body)
			require.NoError(t, res.SpecErr)
			if tc.wantBody != "" {
				assert.JSONEq(t, tc.wantBody, string(res.Body))
			} else {
				assert.Equal(t, []string{tc.wantField}, res.problem(t).fields())
			}
			require.Len(t, fake.Sent(), 1)
			var onHand struct {
				OnHand int `json:"on_hand"`
			}
			require.NoError(t, json.Unmarshal([]byte(tc.body), &onHand))
			sent := fake.Sent()[0].Cmd.(messages.SetStock)
			assert.True(t, strings.HasPrefix(sent.By, "operator:key-"), "the principal that set it: %q", sent.By)
			sent.By = ""
			assert.Equal(t, messages.SetStock{SKU: "SKU-1", OnHand: onHand.OnHand}, sent)
		})
	}
}

func TestGetStock(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	answer(fake, func(_ context.Context, c getStock) (messages.StockResult, error) {
		if c.SKU != "SKU-1" {
			return messages.StockResult{Outcome: messages.OutcomeNotFound}, nil
		}
		return messages.StockResult{Outcome: messages.OutcomeOK, Stock: &messages.StockLevel{SKU: "SKU-1", OnHand: 10, Reserved: 3, Available: 7}}, nil
	})
	s := newServer(t, fake, nil)

	res := s.do(t, request{Method: http.MethodGet, Path: "/inventory/SKU-1"})
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.JSONEq(t, `{"sku":"SKU-1","on_hand":10,"reserved":3,"available":7}`, string(res.Body))

	res = s.do(t, request{Method: http.MethodGet, Path: "/inventory/Unknown_sku.2"})
	require.Equal(t, http.StatusNotFound, res.Status, "body: %s", res.Body)
	res.problem(t)
	assert.Equal(t, []getStock{{SKU: "SKU-1"}, {SKU: "Unknown_sku.2"}}, sentOf[getStock](fake))
}

func TestListStock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		stock    []messages.StockLevel
		wantBody string
	}{
		{name: "some", stock: []messages.StockLevel{{SKU: "a", OnHand: 2, Reserved: 1, Available: 1}, {SKU: "b"}}, wantBody: `{"stock":[{"sku":"a","on_hand":2,"reserved":1,"available":1},{"sku":"b","on_hand":0,"reserved":0,"available":0}]}`},
		{name: "none", stock: nil, wantBody: `{"stock":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeRequester()
			answer(fake, func(context.Context, listStock) (listStockResult, error) {
				return listStockResult{Stock: tc.stock}, nil
			})
			s := newServer(t, fake, nil)

			res := s.do(t, request{Method: http.MethodGet, Path: "/inventory"})

			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			assert.JSONEq(t, tc.wantBody, string(res.Body))
			assert.Equal(t, []listStock{{}}, sentOf[listStock](fake))
		})
	}
}

func TestProbes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		path        string
		ready       func(context.Context) error
		wantStatus  int
		wantBody    string
		wantDetail  string
		wantRetries bool
	}{
		{name: "alive", path: "/healthz", wantStatus: http.StatusOK, wantBody: `{"status":"ok"}`},
		{name: "alive while not ready", path: "/healthz", ready: func(context.Context) error { return errors.New("router not running") }, wantStatus: http.StatusOK, wantBody: `{"status":"ok"}`},
		{name: "ready", path: "/readyz", wantStatus: http.StatusOK, wantBody: `{"status":"ready"}`},
		{name: "not ready", path: "/readyz", ready: func(context.Context) error { return errors.New("router not running") }, wantStatus: http.StatusServiceUnavailable, wantDetail: "router not running"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), tc.ready)

			res := s.do(t, request{Method: http.MethodGet, Path: tc.path})

			require.Equal(t, tc.wantStatus, res.Status, "body: %s", res.Body)
			if tc.wantBody != "" {
				assert.JSONEq(t, tc.wantBody, string(res.Body))
			} else {
				assert.Equal(t, tc.wantDetail, res.problem(t).Detail)
				assert.Equal(t, "1", res.Header.Get("Retry-After"))
			}
			assert.Empty(t, s.fake.Sent())
		})
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantAllow  string
	}{
		{name: "unknown path", method: http.MethodGet, path: "/customers", wantStatus: http.StatusNotFound},
		{name: "trailing slash", method: http.MethodGet, path: "/orders/", wantStatus: http.StatusNotFound},
		{name: "too deep", method: http.MethodGet, path: "/inventory/a/b", wantStatus: http.StatusNotFound},
		{name: "unknown courier step", method: http.MethodPost, path: "/deliveries/o-1/lose", wantStatus: http.StatusNotFound},
		{name: "delete an order", method: http.MethodDelete, path: "/orders/o-1", wantStatus: http.StatusMethodNotAllowed, wantAllow: "GET, HEAD"},
		{name: "put orders", method: http.MethodPut, path: "/orders", wantStatus: http.StatusMethodNotAllowed, wantAllow: "GET, HEAD, POST"},
		{name: "get a cancel", method: http.MethodGet, path: "/orders/o-1/cancel", wantStatus: http.StatusMethodNotAllowed, wantAllow: "POST"},
		{name: "post stock", method: http.MethodPost, path: "/inventory/SKU-1", wantStatus: http.StatusMethodNotAllowed, wantAllow: "GET, HEAD, PUT"},
		{name: "post healthz", method: http.MethodPost, path: "/healthz", wantStatus: http.StatusMethodNotAllowed, wantAllow: "GET, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), nil)

			res := s.do(t, request{Method: tc.method, Path: tc.path})

			require.Equal(t, tc.wantStatus, res.Status, "body: %s", res.Body)
			p := res.problem(t)
			assert.Equal(t, tc.path, p.Instance)
			assert.Equal(t, tc.wantAllow, res.Header.Get("Allow"))
			assert.Empty(t, s.fake.Sent())
		})
	}
}

func TestCorrelationID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		given    string
		wantEcho bool
	}{
		{name: "given", given: "corr-given-42", wantEcho: true},
		{name: "given, 128 characters", given: strings.Repeat("c", 128), wantEcho: true},
		{name: "absent"},
		{name: "with a space", given: "not usable"},
		{name: "129 characters", given: strings.Repeat("c", 129)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), nil)
			var header map[string]string
			if tc.given != "" {
				header = map[string]string{httpapi.HeaderCorrelationID: tc.given}
			}

			for _, req := range []request{
				{Method: http.MethodPost, Path: "/orders", Body: validOrder, Header: header},
				{Method: http.MethodGet, Path: "/orders/o-1", Header: header},
				{Method: http.MethodPost, Path: "/orders", Body: `{}`, Header: header},
				{Method: http.MethodGet, Path: "/nowhere", Header: header},
			} {
				before := len(s.fake.Sent())
				res := s.do(t, req)

				got := res.Header.Get(httpapi.HeaderCorrelationID)
				require.NotEmpty(t, got, "%s %s", req.Method, req.Path)
				if tc.wantEcho {
					assert.Equal(t, tc.given, got)
				} else {
					assert.NotEqual(t, tc.given, got)
				}
				if sent := s.fake.Sent()[before:]; len(sent) > 0 {
					require.Len(t, sent, 1)
					assert.Equal(t, got, sent[0].CorrelationID, "the command carries the response's correlation ID")
				}
			}
			assert.Len(t, s.fake.Sent(), 2)
		})
	}
}

func TestGeneratedCorrelationIDsDiffer(t *testing.T) {
	t.Parallel()
	s := newServer(t, newFakeRequester(), nil)

	first := s.do(t, request{Method: http.MethodGet, Path: "/healthz"}).Header.Get(httpapi.HeaderCorrelationID)
	second := s.do(t, request{Method: http.MethodGet, Path: "/healthz"}).Header.Get(httpapi.HeaderCorrelationID)

	require.NotEmpty(t, first)
	assert.NotEqual(t, first, second)
}

func FuzzPlaceOrder(f *testing.F) {
	for _, seed := range []string{
		validOrder,
		orderWith(itemsJSON(100)),
		`{"customer_id":"c","items":[{"sku":"a","quantity":10000}]}`,
		`{"customer_id":"c","items":[{"sku":"a","quantity":0}]}`,
		`{"customer_id":"c","items":[{"sku":"a","quantity":1},{"sku":"a","quantity":1}]}`,
		`{"customer_id":"c","items":[{"sku":"a","quantity":1,"x":1}]}`,
		`{"customer_id":" ","items":[]}`,
		`{"customer_id":"c","items":[null,1,"a",[],{}]}`,
		`{"customer_id":"c","items":[{"sku":"a","quantity":1e2}]}`,
		validOrder + `{}`,
		`{"customer_id":"c\u0000","items":[{"sku":"a","quantity":1}]}`,
		`[]`, `null`, `""`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	// One server for every input: a fuzzing process runs its inputs one at a time.
	s := newServer(f, newFakeRequester(), nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := len(s.fake.Sent())

		res := s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: string(body)})

		require.Less(t, res.Status, 500, "body: %s", res.Body)
		sent := s.fake.Sent()[before:]
		if res.Status != http.StatusAccepted {
			require.Empty(t, sent, "status %d sent a command: %s", res.Status, res.Body)
			return
		}
		require.Len(t, sent, 1)
		placed, ok := sent[0].Cmd.(messages.PlaceOrder)
		require.True(t, ok, "sent %T", sent[0].Cmd)
		var accepted struct {
			OrderID string `json:"order_id"`
		}
		res.decode(t, &accepted)
		assert.Equal(t, placed.OrderID, accepted.OrderID)
	})
}

func TestJSONKeysAreExact(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, field string
	}{
		{"upper-case key", `{"CUSTOMER_ID": "c-1", "items": [{"sku": "SKU-1", "quantity": 1}]}`, "CUSTOMER_ID"},
		{"repeated key", `{"customer_id": "c-1", "customer_id": "c-2", "items": [{"sku": "SKU-1", "quantity": 1}]}`, "customer_id"},
		{"upper-case key in an item", `{"customer_id": "c-1", "items": [{"SKU": "SKU-1", "quantity": 1}]}`, "items[0].SKU"},
		{"repeated key in an item", `{"customer_id": "c-1", "items": [{"sku": "SKU-1", "quantity": 1, "quantity": 5}]}`, "items[0].quantity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), nil)
			rec := s.fake
			res := s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: tc.body})
			p := res.problem(t)
			assert.Equal(t, http.StatusBadRequest, res.Status)
			require.NotEmpty(t, p.Errors)
			assert.Equal(t, tc.field, p.Errors[0].Field)
			assert.Empty(t, rec.Sent(), "nothing is sent for a refused request")
		})
	}
}
