package wiring_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/messages"
)

// The gateway serves the dashboard at / beside the API, and the dashboard
// shows the running system through it (the browser test, -tags browser,
// drives it in Chromium).
func TestGatewayServesTheDashboard(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.SetStock("SKU-D", 3)
	id := h.PlaceOrder("c-dash", []messages.Item{item("SKU-D", 1)})
	h.WaitStatus(id, messages.OrderStatusConfirmed)
	waitReady(h)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar, Timeout: h.Client.Timeout, Transport: h.Client.Transport}
	get := func(path string) (int, string) {
		t.Helper()
		res, err := browser.Get(h.URL + path)
		require.NoError(t, err)
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(raw)
	}
	code, body := get("/")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `id="api_key"`, "without a session, / is the login form")
	nonce := regexp.MustCompile(`name="nonce" value="([^"]+)"`).FindStringSubmatch(body)
	require.NotNil(t, nonce)
	res, err := browser.PostForm(h.URL+"/ui/login", url.Values{"nonce": {nonce[1]}, "api_key": {wiring.DemoOperatorKey}})
	require.NoError(t, err)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusOK, res.StatusCode)
	page := string(raw)
	assert.Contains(t, page, `<tr data-order="`+id+`">`)
	assert.Regexp(t, `<tr data-sku="SKU-D" class="low">`, page, "2 available is low stock")
	assert.Contains(t, page, `data-ready="true"`)
	for _, service := range []string{"orders", "inventory", "delivery"} {
		assert.Regexp(t, `<li class="ok" data-service="`+service+`">`, page)
	}

	code, body = get("/ui/orders/" + id)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `id="order-status" data-status="CONFIRMED"`)
	assert.NotContains(t, body, `id="timeline-note"`, "the gateway has the timeline: the page shows it")
	assert.Regexp(t, `<td>orders</td><td>placed</td>`, body)
	assert.Regexp(t, `<td>inventory</td><td>stock_held</td>`, body)
	code, body = get("/ui/assets/dashboard.js")
	require.Equal(t, http.StatusOK, code)
	assert.True(t, strings.Contains(body, "/ui/fragments/"))

	// The API beside it is unchanged: a bearer token, not the cookie, opens it.
	code, _ = get("/orders")
	assert.Equal(t, http.StatusUnauthorized, code)
	status, _, _ := h.Do(http.MethodGet, "/orders/"+id, nil)
	assert.Equal(t, http.StatusOK, status)
}

// waitReady waits until the gateway's /readyz says ready: the reply
// subscription's probe may still be on its way while requests are answered.
func waitReady(h *harness) {
	h.T.Helper()
	require.Eventually(h.T, func() bool {
		status, _, _ := h.Do(http.MethodGet, "/readyz", nil)
		return status == http.StatusOK
	}, h.Within, 5*time.Millisecond, "the gateway never became ready")
}
