package wiring_test

import (
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/handlers/httpapi"
	"github.com/orderflow/orderflow/infra/jwtauth/jwttest"
	"github.com/orderflow/orderflow/messages"
)

func TestAuthenticatorFromConfig(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(file, []byte("# mounted secret\nfile-operator-token-01=operator\n"), 0o600))
	tests := []struct {
		name     string
		cfg      wiring.GatewayConfig
		embedded bool
		wantErr  string
		token    string
		wantRole httpapi.Role
		refused  string
	}{
		{name: "embedded without credentials uses the demo keys", embedded: true, token: wiring.DemoCustomerKey, wantRole: httpapi.RoleCustomer},
		{name: "not embedded without credentials refuses to start", wantErr: "set API_KEYS"},
		{name: "AUTH=off lets everyone in as an operator", cfg: wiring.GatewayConfig{Auth: "off"}, token: "anything", wantRole: httpapi.RoleOperator},
		{name: "API_KEYS", cfg: wiring.GatewayConfig{APIKeys: "env-courier-token-001=courier"}, token: "env-courier-token-001", wantRole: httpapi.RoleCourier, refused: wiring.DemoOperatorKey},
		{name: "API_KEYS_FILE", cfg: wiring.GatewayConfig{APIKeysFile: file}, token: "file-operator-token-01", wantRole: httpapi.RoleOperator, refused: wiring.DemoOperatorKey},
		{name: "configured keys replace the demo keys when embedded", cfg: wiring.GatewayConfig{APIKeys: "env-courier-token-001=courier"}, embedded: true, token: "env-courier-token-001", wantRole: httpapi.RoleCourier, refused: wiring.DemoOperatorKey},
		{name: "bad API_KEYS", cfg: wiring.GatewayConfig{APIKeys: "short=operator"}, wantErr: "API_KEYS"},
		{name: "missing API_KEYS_FILE", cfg: wiring.GatewayConfig{APIKeysFile: filepath.Join(t.TempDir(), "none")}, wantErr: "API_KEYS_FILE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			auth, err := tc.cfg.Authenticator(t.Context(), tc.embedded, slog.New(slog.DiscardHandler))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			p, err := auth.Authenticate(t.Context(), tc.token)
			require.NoError(t, err)
			assert.Equal(t, tc.wantRole, p.Role)
			if tc.refused != "" {
				_, err := auth.Authenticate(t.Context(), tc.refused)
				assert.ErrorIs(t, err, httpapi.ErrUnauthenticated)
			}
		})
	}
}

func TestHarnessRequestsAreAuthenticated(t *testing.T) {
	t.Parallel()
	h := start(t)
	status, hdr, _ := h.Do(http.MethodGet, "/orders", nil, "Authorization", "")
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, hdr.Get("WWW-Authenticate"), "Bearer")
	status, _, _ = h.Do(http.MethodGet, "/orders", nil, "Authorization", "Bearer "+wiring.DemoCourierKey)
	assert.Equal(t, http.StatusForbidden, status)
	status, _, _ = h.Do(http.MethodGet, "/orders", nil)
	assert.Equal(t, http.StatusOK, status, "the harness is the demo operator by default")
}

func TestCustomerOpenOrdersAreCapped(t *testing.T) {
	t.Parallel()
	h := start(t, withConfig(func(c *wiring.Config) { c.Orders.MaxOpenOrders, c.Orders.MaxOpenUnits = 2, 5 }))
	h.SetStock("SKU-A", 100)
	customer := []string{"Authorization", "Bearer " + wiring.DemoCustomerKey}
	place := func(qty int) (int, []byte) {
		status, _, body := h.Do(http.MethodPost, "/orders", map[string]any{"items": []any{item("SKU-A", qty)}}, customer...)
		return status, body
	}
	status, body := place(6)
	require.Equal(t, http.StatusConflict, status, "more units than the cap: %s", body)
	assert.Contains(t, string(body), "units")
	status, _ = place(2)
	require.Equal(t, http.StatusAccepted, status)
	status, _ = place(2)
	require.Equal(t, http.StatusAccepted, status)
	status, body = place(1)
	require.Equal(t, http.StatusConflict, status, "a third open order: %s", body)
	assert.Contains(t, string(body), "2 open orders")
	// The refused orders took no stock: only the two accepted hold any.
	h.WaitStock("SKU-A", messages.StockLevel{OnHand: 100, Reserved: 4, Available: 96})
}

func TestRateLimitConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		want    httpapi.Limit
		wantErr bool
	}{
		{value: "20:40", want: httpapi.Limit{Rate: 20, Burst: 40}},
		{value: "0.5:1", want: httpapi.Limit{Rate: 0.5, Burst: 1}},
		{value: "off"},
		{value: ""},
		{value: "20", wantErr: true},
		{value: "0:10", wantErr: true},
		{value: "10:0", wantErr: true},
		{value: "-1:10", wantErr: true},
		{value: "Inf:10", wantErr: true},
		{value: "x:y", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			t.Parallel()
			byRole, _, err := wiring.GatewayConfig{RateLimitCustomer: tc.value}.RateLimits()
			if tc.wantErr {
				require.ErrorContains(t, err, "RATE_LIMIT_CUSTOMER")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, byRole[httpapi.RoleCustomer])
		})
	}
	cfg, err := wiring.LoadConfig()
	require.NoError(t, err)
	byRole, anonymous, err := cfg.Gateway.RateLimits()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, byRole[httpapi.RoleOperator].Burst, 2000, "the default lets an operator burst past the load tests' 1,000 orders")
	assert.Positive(t, anonymous.Rate)
}

func TestJWTBearerTokensThroughTheGateway(t *testing.T) {
	t.Parallel()
	idp := jwttest.NewIssuer(t)
	h := start(t, withConfig(func(c *wiring.Config) {
		c.Gateway.JWTIssuer, c.Gateway.JWTAudience, c.Gateway.JWTJWKSURL = idp.Name, idp.Audience, idp.URL
		c.Gateway.JWTRoleClaim, c.Gateway.JWTCustomerClaim = "role", "cust"
	}))
	exp := time.Now().Add(time.Hour)
	bearer := func(claims map[string]any) []string {
		return []string{"Authorization", "Bearer " + idp.Token(t, "ec-1", claims)}
	}
	operator := bearer(map[string]any{"sub": "ops-1", "role": "operator", "exp": exp})
	alice := bearer(map[string]any{"sub": "u-1", "role": "customer", "cust": "alice", "exp": exp})
	bob := bearer(map[string]any{"sub": "u-2", "role": "customer", "cust": "bob", "exp": exp})

	status, _, body := h.Do(http.MethodPut, "/inventory/SKU-J", map[string]int{"on_hand": 5}, operator...)
	require.Equal(t, http.StatusOK, status, string(body))
	status, hdr, body := h.Do(http.MethodPost, "/orders", map[string]any{"items": []any{item("SKU-J", 1)}}, alice...)
	require.Equal(t, http.StatusAccepted, status, string(body))
	id := strings.TrimPrefix(hdr.Get("Location"), "/orders/")
	status, _, body = h.Do(http.MethodGet, "/orders/"+id, nil, alice...)
	require.Equal(t, http.StatusOK, status, string(body))
	assert.Contains(t, string(body), `"customer_id":"alice"`)
	status, _, _ = h.Do(http.MethodGet, "/orders/"+id, nil, bob...)
	assert.Equal(t, http.StatusNotFound, status, "another customer's order does not exist for bob")

	for name, hdr := range map[string][]string{
		"expired":             bearer(map[string]any{"sub": "ops-1", "role": "operator", "exp": time.Now().Add(-time.Hour)}),
		"customer without id": bearer(map[string]any{"sub": "u-3", "role": "customer", "exp": exp}),
		"unknown role":        bearer(map[string]any{"sub": "u-3", "role": "admin", "exp": exp}),
		"demo key":            {"Authorization", "Bearer " + wiring.DemoOperatorKey},
	} {
		status, _, _ := h.Do(http.MethodGet, "/inventory", nil, hdr...)
		assert.Equal(t, http.StatusUnauthorized, status, name)
	}
}

func TestStockChangesRecordThePrincipal(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.Do(http.MethodPut, "/inventory/SKU-H", map[string]int{"on_hand": 7}, "X-Correlation-ID", "corr-stock-1")
	require.Eventually(t, func() bool {
		p, err := h.Stores.Products.Get(t.Context(), "SKU-H")
		return err == nil && len(p.History) == 1
	}, 5*time.Second, time.Millisecond)
	p, err := h.Stores.Products.Get(t.Context(), "SKU-H")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(p.History[0].By, "operator:key-"), "by %q", p.History[0].By)
	assert.NotContains(t, p.History[0].By, wiring.DemoOperatorKey, "the principal, not its token")
	assert.Equal(t, "corr-stock-1", p.History[0].CorrelationID)
	assert.Equal(t, 7, p.History[0].OnHand)
}
