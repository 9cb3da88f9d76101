package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/apptest"
	"github.com/orderflow/orderflow/handlers/httpapi"
	"github.com/orderflow/orderflow/messages"
)

// logBuffer collects log lines from the server's goroutines.
type logBuffer struct{ apptest.Buffer }

// audits returns the audit lines logged so far.
func (b *logBuffer) audits(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		if m["msg"] == "audit" {
			out = append(out, m)
		}
	}
	return out
}

func TestAuditLogOfStateChangingRequests(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	fake := newFakeRequester()
	ownedOrders(fake)
	s := newServerWith(t, fake, httpapi.Config{Logger: slog.New(slog.NewJSONHandler(logs, nil))})

	s.do(t, request{Method: http.MethodPut, Path: "/inventory/SKU-1", Body: `{"on_hand":5}`, Header: map[string]string{"X-Correlation-ID": "corr-audit-1"}})
	s.do(t, request{Method: http.MethodPost, Path: "/orders/order-b/cancel", Header: map[string]string{"Authorization": custA.header, "X-Correlation-ID": "corr-audit-2"}})
	s.do(t, request{Method: http.MethodPost, Path: "/orders", Body: validOrder, Header: map[string]string{"Authorization": badToken.header, "X-Correlation-ID": "corr-audit-3"}})
	s.do(t, request{Method: http.MethodGet, Path: "/orders/order-a"})

	var audits []map[string]any
	require.Eventually(t, func() bool { audits = logs.audits(t); return len(audits) >= 3 }, 5*time.Second, time.Millisecond)
	require.Len(t, audits, 3, "reads are not audited")
	byCorr := map[string]map[string]any{}
	for _, a := range audits {
		byCorr[a["correlation_id"].(string)] = a
	}
	set := byCorr["corr-audit-1"]
	assert.Equal(t, "operator", set["role"])
	assert.True(t, strings.HasPrefix(set["principal"].(string), "operator:key-"), "%v", set["principal"])
	assert.Equal(t, "PUT /inventory/{sku}", set["action"])
	assert.Equal(t, "sku=SKU-1", set["target"])
	assert.EqualValues(t, 200, set["outcome"])

	refused := byCorr["corr-audit-2"]
	assert.Equal(t, "customer:"+customerA, refused["principal"])
	assert.Equal(t, "POST /orders/{id}/cancel", refused["action"])
	assert.Equal(t, "id=order-b", refused["target"])
	assert.EqualValues(t, 404, refused["outcome"])

	anonymous := byCorr["corr-audit-3"]
	assert.Equal(t, "anonymous", anonymous["principal"])
	assert.EqualValues(t, 401, anonymous["outcome"])

	for _, token := range []string{tokenOperator, tokenCustomerA, "not-a-key-of-this-api"} {
		assert.NotContains(t, logs.String(), token, "a token is never logged")
	}

	sets := sentOf[messages.SetStock](fake)
	require.Len(t, sets, 1)
	assert.Equal(t, set["principal"], sets[0].By, "the stock change carries who made it")
}
