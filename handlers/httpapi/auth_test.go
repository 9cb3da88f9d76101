package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/handlers/httpapi"
	"github.com/orderflow/orderflow/infra/jwtauth"
	"github.com/orderflow/orderflow/infra/jwtauth/jwttest"
	"github.com/orderflow/orderflow/messages"
)

// ownedOrders answers GetOrder with an order of customer A for "order-a" and
// of customer B for "order-b", and not found otherwise.
func ownedOrders(f *fakeRequester) {
	answer(f, func(_ context.Context, c getOrder) (getOrderResult, error) {
		o := cannedOrder(c.OrderID)
		switch c.OrderID {
		case "order-a":
			o.CustomerID = customerA
		case "order-b":
			o.CustomerID = customerB
		default:
			return getOrderResult{Outcome: messages.OutcomeNotFound}, nil
		}
		return getOrderResult{Outcome: messages.OutcomeOK, Order: &o}, nil
	})
}

// who is one column of the matrix: the Authorization header sent.
type who struct {
	name   string
	header string // "" sends none
}

var (
	noToken   = who{"no token", ""}
	badToken  = who{"bad token", "Bearer not-a-key-of-this-api"}
	notBearer = who{"basic auth", "Basic " + tokenOperator}
	custA     = who{"customer A", "Bearer " + tokenCustomerA}
	custB     = who{"customer B", "Bearer " + tokenCustomerB}
	operator  = who{"operator", "Bearer " + tokenOperator}
	courier   = who{"courier", "Bearer " + tokenCourier}
)

// matrixRoutes is every route of the API, on customer A's objects, with the
// status each principal gets.
var matrixRoutes = []struct {
	name         string
	method, path string
	body         string
	want         map[who]int
}{
	{"place an order for A", http.MethodPost, "/orders", `{"customer_id":"` + customerA + `","items":[{"sku":"SKU-1","quantity":1}]}`,
		map[who]int{custA: 202, custB: 403, operator: 202, courier: 403}},
	{"place an order without customer_id", http.MethodPost, "/orders", `{"items":[{"sku":"SKU-1","quantity":1}]}`,
		map[who]int{custA: 202, custB: 202, operator: 400, courier: 403}},
	{"list orders", http.MethodGet, "/orders", "",
		map[who]int{custA: 200, custB: 200, operator: 200, courier: 403}},
	{"list A's orders", http.MethodGet, "/orders?customer_id=" + customerA, "",
		map[who]int{custA: 200, custB: 403, operator: 200, courier: 403}},
	{"get A's order", http.MethodGet, "/orders/order-a", "",
		map[who]int{custA: 200, custB: 404, operator: 200, courier: 403}},
	{"get an order of nobody", http.MethodGet, "/orders/order-x", "",
		map[who]int{custA: 404, custB: 404, operator: 404, courier: 403}},
	{"cancel A's order", http.MethodPost, "/orders/order-a/cancel", "",
		map[who]int{custA: 202, custB: 404, operator: 202, courier: 403}},
	{"get A's delivery", http.MethodGet, "/orders/order-a/delivery", "",
		map[who]int{custA: 200, custB: 404, operator: 200, courier: 200}},
	{"list stock", http.MethodGet, "/inventory", "",
		map[who]int{custA: 200, custB: 200, operator: 200, courier: 403}},
	{"get stock", http.MethodGet, "/inventory/SKU-1", "",
		map[who]int{custA: 200, custB: 200, operator: 200, courier: 403}},
	{"set stock", http.MethodPut, "/inventory/SKU-1", `{"on_hand":5}`,
		map[who]int{custA: 403, custB: 403, operator: 200, courier: 403}},
	{"dispatch A's shipment", http.MethodPost, "/deliveries/order-a/dispatch", "",
		map[who]int{custA: 403, custB: 403, operator: 202, courier: 202}},
	{"deliver A's shipment", http.MethodPost, "/deliveries/order-a/deliver", "",
		map[who]int{custA: 403, custB: 403, operator: 202, courier: 202}},
	{"fail A's shipment", http.MethodPost, "/deliveries/order-a/fail", `{"reason":"nobody home"}`,
		map[who]int{custA: 403, custB: 403, operator: 202, courier: 202}},
	{"list a poison queue", http.MethodGet, "/admin/poison?service=inventory", "",
		map[who]int{custA: 403, custB: 403, operator: 200, courier: 403}},
	{"get a poison queue entry", http.MethodGet, "/admin/poison/" + cannedEntryID, "",
		map[who]int{custA: 403, custB: 403, operator: 200, courier: 403}},
	{"requeue a poisoned message", http.MethodPost, "/admin/poison/" + cannedEntryID + "/requeue", "",
		map[who]int{custA: 403, custB: 403, operator: 202, courier: 403}},
	{"requeue a service's poisoned messages", http.MethodPost, "/admin/poison/requeue?service=inventory", "",
		map[who]int{custA: 403, custB: 403, operator: 202, courier: 403}},
	{"discard a poisoned message", http.MethodDelete, "/admin/poison/" + cannedEntryID, "",
		map[who]int{custA: 403, custB: 403, operator: 204, courier: 403}},
}

// unauthenticated are the columns every protected route answers 401.
var unauthenticated = []who{noToken, badToken, notBearer}

// TestAuthorizationMatrix asserts every route x principal cell, and that a
// refused cell sends nothing but, for an order another customer owns, the
// query that found out.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	// The API keys and an identity provider's JWTs, as a deployment may have both.
	idp := jwttest.NewIssuer(t)
	verifier, err := jwtauth.New(t.Context(), jwtauth.Config{Issuer: idp.Name, Audience: idp.Audience, JWKSURL: idp.URL, RoleClaim: "role", CustomerClaim: "customer_id"})
	require.NoError(t, err)
	auth := httpapi.Authenticators{testKeys(t), httpapi.AuthenticatorFunc(func(ctx context.Context, token string) (httpapi.Principal, error) {
		c, err := verifier.Verify(ctx, token)
		if err != nil {
			return httpapi.Principal{}, fmt.Errorf("%w: %w", httpapi.ErrUnauthenticated, err)
		}
		return httpapi.Principal{ID: "jwt:" + c.Subject, Role: httpapi.Role(c.Role), CustomerID: c.CustomerID}, nil
	})}
	expiredJWT := who{"expired JWT", "Bearer " + idp.Token(t, "rsa-1", map[string]any{
		"sub": "ops-1", "role": "operator", "exp": time.Now().Add(-time.Hour)})}
	validJWT := who{"operator JWT", "Bearer " + idp.Token(t, "rsa-1", map[string]any{
		"sub": "ops-1", "role": "operator", "exp": time.Now().Add(time.Hour)})}
	for _, route := range matrixRoutes {
		cells := map[who]int{}
		for w, s := range route.want {
			cells[w] = s
		}
		for _, w := range append(unauthenticated, expiredJWT) {
			cells[w] = http.StatusUnauthorized
		}
		cells[validJWT] = route.want[operator]
		for w, want := range cells {
			t.Run(route.name+"/"+w.name, func(t *testing.T) {
				t.Parallel()
				fake := newFakeRequester()
				ownedOrders(fake)
				answer(fake, answerPoisonAdmin)
				s := newServerWith(t, fake, httpapi.Config{Auth: auth})

				res := s.do(t, request{Method: route.method, Path: route.path, Body: route.body, Header: map[string]string{"Authorization": w.header}})

				require.Equal(t, want, res.Status, "body: %s", res.Body)
				switch want {
				case http.StatusUnauthorized:
					res.problem(t)
					assert.Contains(t, res.Header.Get("WWW-Authenticate"), "Bearer")
					assert.Empty(t, fake.Sent(), "a refused request sends nothing")
				case http.StatusForbidden:
					res.problem(t)
					assert.Empty(t, fake.Sent(), "a refused request sends nothing")
				case http.StatusNotFound:
					for _, c := range fake.Sent() {
						assert.IsType(t, getOrder{}, c.Cmd, "only the lookup of the order is sent")
					}
				}
			})
		}
	}
}

func TestCustomersActOnlyForThemselves(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	s := newServer(t, fake, nil)

	res := s.do(t, request{Method: http.MethodGet, Path: "/orders?status=CONFIRMED", Header: map[string]string{"Authorization": custB.header}})
	require.Equal(t, http.StatusOK, res.Status)
	res = s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: `{"items":[{"sku":"SKU-1","quantity":1}]}`, Header: map[string]string{"Authorization": custB.header}})
	require.Equal(t, http.StatusAccepted, res.Status)

	lists := sentOf[listOrders](fake)
	require.Len(t, lists, 1)
	assert.Equal(t, customerB, lists[0].CustomerID, "a customer's list is filtered to its own orders")
	assert.Equal(t, messages.OrderStatusConfirmed, lists[0].Status)
	places := sentOf[messages.PlaceOrder](fake)
	require.Len(t, places, 1)
	assert.Equal(t, customerB, places[0].CustomerID, "an order without customer_id is the customer's own")
}

func TestIdempotencyKeysAreScopedByPrincipal(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	s := newServer(t, fake, nil)
	body := `{"customer_id":"` + customerA + `","items":[{"sku":"SKU-1","quantity":1}]}`
	for _, w := range []who{custA, operator, custA} {
		res := s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: body, Header: map[string]string{"Authorization": w.header, "Idempotency-Key": "k-1"}})
		require.Equal(t, http.StatusAccepted, res.Status, "body: %s", res.Body)
	}
	sent := sentOf[messages.PlaceOrder](fake)
	require.Len(t, sent, 3)
	assert.NotEqual(t, sent[0].OrderID, sent[1].OrderID, "an operator cannot take a customer's key first")
	assert.Equal(t, sent[0].OrderID, sent[2].OrderID, "the customer's retry names its order")
}

func TestOpenRoutesNeedNoToken(t *testing.T) {
	t.Parallel()
	s := newServer(t, newFakeRequester(), nil)
	for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml"} {
		res := s.do(t, request{Method: http.MethodGet, Path: path, Header: map[string]string{"Authorization": ""}})
		assert.Equal(t, http.StatusOK, res.Status, path)
	}
}

// TestPolicyCoversEveryRoute holds openapi.yaml's x-roles to the policy
// table, and routes the table does not name (admin endpoints) to operators only.
func TestPolicyCoversEveryRoute(t *testing.T) {
	t.Parallel()
	doc, err := spec()
	require.NoError(t, err)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			raw, ok := op.Extensions["x-roles"]
			if op.Security != nil && len(*op.Security) == 0 {
				assert.False(t, ok, "%s %s is open and has no roles", method, path)
				continue
			}
			require.True(t, ok, "%s %s has no x-roles", method, path)
			var roles []httpapi.Role
			for _, r := range raw.([]any) {
				roles = append(roles, httpapi.Role(r.(string)))
			}
			assert.ElementsMatch(t, httpapi.RolesFor(method, path), roles, "%s %s", method, path)
		}
	}
	assert.Equal(t, []httpapi.Role{httpapi.RoleOperator}, httpapi.RolesFor(http.MethodGet, "/admin/poison"))
	assert.Equal(t, []httpapi.Role{httpapi.RoleOperator}, httpapi.RolesFor(http.MethodPost, "/admin/poison/{topic}/replay"))
}

func TestParseAPIKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, keys string
		wantErr    bool
	}{
		{name: "all kinds", keys: "aaaaaaaaaaaaaaaa=operator, bbbbbbbbbbbbbbbb=courier,cccccccccccccccc=customer:c-1"},
		{name: "file with comments and lines", keys: "# ops\naaaaaaaaaaaaaaaa=operator\n\ncccccccccccccccc=customer:c-1"},
		{name: "short token", keys: "short=operator", wantErr: true},
		{name: "unknown role", keys: "aaaaaaaaaaaaaaaa=admin", wantErr: true},
		{name: "customer without id", keys: "aaaaaaaaaaaaaaaa=customer", wantErr: true},
		{name: "customer with empty id", keys: "aaaaaaaaaaaaaaaa=customer:", wantErr: true},
		{name: "no role", keys: "aaaaaaaaaaaaaaaa", wantErr: true},
		{name: "same token twice", keys: "aaaaaaaaaaaaaaaa=operator,aaaaaaaaaaaaaaaa=courier", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := httpapi.ParseAPIKeys(tc.keys)
			if tc.wantErr {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "aaaaaaaaaaaaaaaa", "an error never quotes a token")
				return
			}
			require.NoError(t, err)
		})
	}
	keys, err := httpapi.ParseAPIKeys("aaaaaaaaaaaaaaaa=operator,cccccccccccccccc=customer:c-1")
	require.NoError(t, err)
	p, err := keys.Authenticate(t.Context(), "cccccccccccccccc")
	require.NoError(t, err)
	assert.Equal(t, httpapi.Principal{ID: "customer:c-1", Role: httpapi.RoleCustomer, CustomerID: "c-1"}, p)
	p, err = keys.Authenticate(t.Context(), "aaaaaaaaaaaaaaaa")
	require.NoError(t, err)
	assert.Equal(t, httpapi.RoleOperator, p.Role)
	assert.NotContains(t, p.ID, "aaaa", "the principal's id is not the token")
	_, err = keys.Authenticate(t.Context(), "aaaaaaaaaaaaaaab")
	assert.ErrorIs(t, err, httpapi.ErrUnauthenticated)
}

func TestAuthOffLetsEveryoneInAsOperator(t *testing.T) {
	t.Parallel()
	s := newServerWith(t, newFakeRequester(), httpapi.Config{Auth: httpapi.AllowAll})
	res := s.do(t, request{Method: http.MethodPut, Path: "/inventory/SKU-1", Body: `{"on_hand":1}`, Header: map[string]string{"Authorization": ""}})
	assert.Equal(t, http.StatusOK, res.Status)
}

func TestCustomersOwnOrdersAreCapped(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	answer(fake, func(_ context.Context, c messages.PlaceOrder) (messages.PlaceOrderResult, error) {
		if c.Capped {
			return messages.PlaceOrderResult{Outcome: messages.OutcomeLimited, Detail: "customer customer-7 has 20 open orders, the most allowed is 20"}, nil
		}
		o := cannedOrder(c.OrderID)
		return messages.PlaceOrderResult{Outcome: messages.OutcomeOK, Order: &o}, nil
	})
	s := newServer(t, fake, nil)

	res := s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: validOrder, Header: map[string]string{"Authorization": custA.header}})
	require.Equal(t, http.StatusConflict, res.Status, "body: %s", res.Body)
	assert.Contains(t, res.problem(t).Detail, "20 open orders")
	assert.Empty(t, res.Header.Get("Location"))

	res = s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: validOrder, Header: map[string]string{"Authorization": operator.header}})
	require.Equal(t, http.StatusAccepted, res.Status, "an operator's order on the customer's behalf is not capped")
}
