package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/apptest"
	"github.com/orderflow/orderflow/handlers/httpapi"
)

func limitedServer(t *testing.T) (*apiServer, *apptest.Clock) {
	t.Helper()
	clk := apptest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := newServerWith(t, newFakeRequester(), httpapi.Config{
		Now:                clk.Now,
		RateLimits:         map[httpapi.Role]httpapi.Limit{httpapi.RoleCustomer: {Rate: 1, Burst: 3}},
		AnonymousRateLimit: httpapi.Limit{Rate: 0.5, Burst: 2},
	})
	return s, clk
}

func TestRateLimitPerPrincipal(t *testing.T) {
	t.Parallel()
	s, clk := limitedServer(t)
	get := func(w who) response {
		t.Helper()
		return s.do(t, request{Method: http.MethodGet, Path: "/inventory/SKU-1", Header: map[string]string{"Authorization": w.header}})
	}

	for i := range 3 {
		res := get(custA)
		require.Equal(t, http.StatusOK, res.Status, "request %d of the burst", i+1)
		assert.Equal(t, `"customer";q=3;w=3`, res.Header.Get("RateLimit-Policy"))
	}
	sentBefore := len(s.fake.Sent())
	res := get(custA)
	require.Equal(t, http.StatusTooManyRequests, res.Status)
	res.problem(t)
	assert.Equal(t, "1", res.Header.Get("Retry-After"))
	assert.Equal(t, `"customer";r=0;t=3`, res.Header.Get("RateLimit"))
	assert.Len(t, s.fake.Sent(), sentBefore, "a refused request sends nothing")

	assert.Equal(t, http.StatusOK, get(custB).Status, "another customer has its own bucket")
	assert.Equal(t, http.StatusOK, get(operator).Status, "a role without a limit is not limited")

	clk.Advance(time.Second)
	assert.Equal(t, http.StatusOK, get(custA).Status, "one token back after a second")
	assert.Equal(t, http.StatusTooManyRequests, get(custA).Status)

	clk.Advance(10 * time.Second)
	for i := range 3 {
		assert.Equal(t, http.StatusOK, get(custA).Status, "the whole burst again, request %d", i+1)
	}
	assert.Equal(t, http.StatusTooManyRequests, get(custA).Status)
}

func TestRateLimitPerAddressWithoutCredentials(t *testing.T) {
	t.Parallel()
	s, clk := limitedServer(t)
	get := func(w who) response {
		t.Helper()
		return s.do(t, request{Method: http.MethodGet, Path: "/orders", Header: map[string]string{"Authorization": w.header}})
	}
	assert.Equal(t, http.StatusUnauthorized, get(noToken).Status)
	assert.Equal(t, http.StatusUnauthorized, get(badToken).Status)
	res := get(badToken)
	require.Equal(t, http.StatusTooManyRequests, res.Status, "guessing tokens is limited per address")
	assert.Equal(t, "2", res.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusOK, get(custA).Status, "valid credentials are counted on their principal")
	assert.Equal(t, http.StatusOK, s.do(t, request{Method: http.MethodGet, Path: "/healthz"}).Status, "probes are not limited")

	clk.Advance(2 * time.Second)
	assert.Equal(t, http.StatusUnauthorized, get(badToken).Status)
	assert.Empty(t, s.fake.Sent()[1:], "only the customer's request was sent")
}
