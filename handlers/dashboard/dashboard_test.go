package dashboard_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/handlers/dashboard"
	"github.com/orderflow/orderflow/handlers/httpapi"
	"github.com/orderflow/orderflow/messages"
)

const (
	operatorKey = "operator-key-0123456789"
	customerKey = "customer-key-0123456789"
	courierKey  = "courier-key-01234567890"
	// operatorKey2 is another operator's.
	operatorKey2 = "operator-key-2-0123456789"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// fakeSystem answers the API's commands as a small system would.
type fakeSystem struct {
	mu     sync.Mutex
	orders []messages.Order
	stock  map[string]messages.StockLevel
	poison []messages.PoisonEntry
	// timeline is the view's timeline of an order.
	timeline map[string][]view.Step
	sent     []any
}

func newFakeSystem() *fakeSystem {
	f := &fakeSystem{timeline: map[string][]view.Step{}, stock: map[string]messages.StockLevel{
		"SKU-1": {SKU: "SKU-1", OnHand: 100, Reserved: 2, Available: 98},
		"SKU-3": {SKU: "SKU-3", OnHand: 4, Available: 4},
	}}
	at := func(ago time.Duration) time.Time { return now.Add(-ago) }
	f.orders = []messages.Order{
		{OrderID: "o-2", CustomerID: "c-2", Items: []messages.Item{{SKU: "SKU-1", Quantity: 1}}, Status: messages.OrderStatusPending,
			History: []messages.StatusEntry{{Status: messages.OrderStatusPending, At: at(10 * time.Second)}}, CreatedAt: at(10 * time.Second), UpdatedAt: at(10 * time.Second)},
		{OrderID: "o-1", CustomerID: "c-1", Items: []messages.Item{{SKU: "SKU-1", Quantity: 2}}, Status: messages.OrderStatusConfirmed,
			History: []messages.StatusEntry{{Status: messages.OrderStatusPending, At: at(30 * time.Second), CorrelationID: "corr-1"},
				{Status: messages.OrderStatusConfirmed, At: at(29 * time.Second), CorrelationID: "corr-1"}},
			CreatedAt: at(30 * time.Second), UpdatedAt: at(29 * time.Second)},
	}
	f.poison = []messages.PoisonEntry{{ID: "inventory-11111111-2222-3333-4444-555555555555", Service: "inventory", Handler: "inventory.order_events",
		Topic: messages.TopicOrderEvents, OrderID: "o-2", Reason: "malformed <payload>", PoisonedAt: at(2 * time.Minute), Status: messages.PoisonStatusPoisoned}}
	return f
}

// Submit implements httpapi.Requester: the dashboard places no orders, so as Request.
func (f *fakeSystem) Submit(ctx context.Context, cmd, result any) error {
	return f.Request(ctx, cmd, result)
}

func (f *fakeSystem) Request(_ context.Context, cmd, result any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, cmd)
	var res any
	switch c := cmd.(type) {
	case messages.SetStock:
		if c.OnHand < f.stock[c.SKU].Reserved {
			res = messages.StockResult{Outcome: messages.OutcomeConflict, Detail: "on_hand is below the reserved stock"}
			break
		}
		l := messages.StockLevel{SKU: c.SKU, OnHand: c.OnHand, Reserved: f.stock[c.SKU].Reserved, Available: c.OnHand - f.stock[c.SKU].Reserved}
		f.stock[c.SKU] = l
		res = messages.StockResult{Outcome: messages.OutcomeOK, Stock: &l}
	case messages.PoisonAdmin:
		r := messages.PoisonAdminResult{Outcome: messages.OutcomeOK}
		switch c.Action {
		case messages.PoisonActionList:
			for _, e := range f.poison {
				if e.Service == c.Service && (c.Status == "" || e.Status == c.Status) {
					r.Entries = append(r.Entries, e)
				}
			}
		default:
			r.Outcome = messages.OutcomeNotFound
			for i, e := range f.poison {
				if e.ID == c.EntryID {
					if c.Action == messages.PoisonActionRequeue {
						f.poison[i].Status = messages.PoisonStatusRequeued
					} else {
						f.poison[i].Status = messages.PoisonStatusDiscarded
					}
					r.Outcome, r.Entry = messages.OutcomeOK, &f.poison[i]
				}
			}
		}
		res = r
	default:
		return fmt.Errorf("fake system: no answer for %T", cmd)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, result)
}

// The view of the API: the fake system's own data.

func toView(o messages.Order) view.Order {
	return view.Order{ID: o.OrderID, CustomerID: o.CustomerID, Items: o.Items, Placed: true, Status: o.Status,
		Reason: o.Reason, History: o.History, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

func (f *fakeSystem) Order(_ context.Context, id string) (view.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.orders {
		if o.OrderID == id {
			v := toView(o)
			v.Timeline = f.timeline[id]
			return v, nil
		}
	}
	return view.Order{}, view.ErrNotFound
}

// Orders answers pages of q.Limit; the cursor is the offset of the next page.
func (f *fakeSystem) Orders(_ context.Context, q view.ListOrders) (view.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, q)
	var out []view.Order
	for _, o := range f.orders {
		if (q.Status == "" || o.Status == q.Status) && (q.CustomerID == "" || o.CustomerID == q.CustomerID) {
			out = append(out, toView(o))
		}
	}
	from, _ := strconv.Atoi(q.Cursor)
	from = min(from, len(out))
	to := min(from+q.Limit, len(out))
	page := view.Page{Orders: out[from:to]}
	if to < len(out) {
		page.NextCursor = strconv.Itoa(to)
	}
	return page, nil
}

func (f *fakeSystem) Shipment(context.Context, string) (messages.Shipment, error) {
	return messages.Shipment{}, view.ErrNotFound
}

func (f *fakeSystem) Stock(_ context.Context, sku string) (view.StockLevel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.stock[sku]
	if !ok {
		return view.StockLevel{}, view.ErrNotFound
	}
	return view.LevelFrom(l, time.Time{}), nil
}

func (f *fakeSystem) AllStock(context.Context) ([]view.StockLevel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []view.StockLevel
	for _, l := range f.stock {
		out = append(out, view.LevelFrom(l, time.Time{}))
	}
	return out, nil
}

func (f *fakeSystem) MergeOrder(context.Context, messages.Order, view.Source) error { return nil }

func (f *fakeSystem) MergeShipment(context.Context, messages.Shipment, view.Source) error {
	return nil
}

func (f *fakeSystem) StockLevel(context.Context, messages.StockLevel, time.Time) error { return nil }

func (f *fakeSystem) sentOf(kind string) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []any
	for _, c := range f.sent {
		if fmt.Sprintf("%T", c) == kind {
			out = append(out, c)
		}
	}
	return out
}

type fixture struct {
	t   *testing.T
	sys *fakeSystem
	h   http.Handler
}

// newFixture is the dashboard mounted beside the real API, with static keys
// for each role, on a fake system; extra wraps the API (to add a route).
func newFixture(t *testing.T, cfg dashboard.Config, extra ...func(http.Handler) http.Handler) *fixture {
	t.Helper()
	keys, err := httpapi.ParseAPIKeys(operatorKey + "=operator," + operatorKey2 + "=operator," + customerKey + "=customer:c-1," + courierKey + "=courier")
	require.NoError(t, err)
	sys := newFakeSystem()
	api := httpapi.NewHandler(httpapi.Config{Commands: sys, Views: sys, Auth: keys, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
	for _, wrap := range extra {
		api = wrap(api)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	return &fixture{t: t, sys: sys, h: dashboard.Mount(dashboard.New(api, cfg), api)}
}

// answer is a response, read.
type answer struct {
	StatusCode int
	Header     http.Header
	Body       string
	cookies    []*http.Cookie
}

func (a answer) Cookies() []*http.Cookie { return a.cookies }

func answerOf(t *testing.T, rec *httptest.ResponseRecorder) answer {
	t.Helper()
	res := rec.Result()
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return answer{StatusCode: res.StatusCode, Header: res.Header, Body: string(raw), cookies: res.Cookies()}
}

// do sends a request with the cookies given and returns the answer.
func (f *fixture) do(method, target string, form url.Values, cookies ...*http.Cookie) answer {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return answerOf(f.t, rec)
}

func bodyOf(t *testing.T, res answer) string {
	t.Helper()
	return res.Body
}

func cookieNamed(res answer, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var hiddenValue = regexp.MustCompile(`name="(csrf|nonce)" value="([^"]+)"`)

// login logs in with key and returns the session cookie (nil when refused) and the answer.
func (f *fixture) login(key string) (*http.Cookie, answer) {
	f.t.Helper()
	form := f.do(http.MethodGet, "/ui/login", nil)
	require.Equal(f.t, http.StatusOK, form.StatusCode)
	m := hiddenValue.FindStringSubmatch(bodyOf(f.t, form))
	require.NotNil(f.t, m, "the login form has a nonce")
	res := f.do(http.MethodPost, "/ui/login", url.Values{"nonce": {m[2]}, "api_key": {key}}, cookieNamed(form, "orderflow_login"))
	return cookieNamed(res, "orderflow_session"), res
}

func (f *fixture) csrf(session *http.Cookie) string {
	f.t.Helper()
	res := f.do(http.MethodGet, "/", nil, session)
	require.Equal(f.t, http.StatusOK, res.StatusCode)
	m := hiddenValue.FindStringSubmatch(bodyOf(f.t, res))
	require.NotNil(f.t, m)
	return m[2]
}

func TestLoginAdmitsOperatorsOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		key    string
		status int
		says   string
	}{
		{name: "operator", key: operatorKey, status: http.StatusSeeOther},
		{name: "customer", key: customerKey, status: http.StatusForbidden, says: "operators only"},
		{name: "courier", key: courierKey, status: http.StatusForbidden, says: "operators only"},
		{name: "unknown key", key: "not-a-key-of-anyone-here", status: http.StatusUnauthorized, says: "not valid"},
		{name: "empty", key: "", status: http.StatusUnauthorized, says: "Enter an operator API key"},
		{name: "a space inside", key: "two words", status: http.StatusUnauthorized, says: "Enter an operator API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dashboard.Config{})
			session, res := f.login(tt.key)
			require.Equal(t, tt.status, res.StatusCode)
			if tt.status != http.StatusSeeOther {
				assert.Nil(t, session)
				assert.Contains(t, bodyOf(t, res), tt.says)
				return
			}
			assert.Equal(t, "/", res.Header.Get("Location"))
			require.NotNil(t, session)
			assert.True(t, session.HttpOnly)
			assert.Equal(t, http.SameSiteStrictMode, session.SameSite)
			assert.False(t, session.Secure, "plain HTTP, not configured")
			assert.NotContains(t, session.Value, operatorKey, "the cookie does not show the key in clear")
			page := f.do(http.MethodGet, "/", nil, session)
			assert.Equal(t, http.StatusOK, page.StatusCode)
		})
	}
}

func TestLoginNeedsTheFormsNonce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dashboard.Config{})
	res := f.do(http.MethodPost, "/ui/login", url.Values{"api_key": {operatorKey}, "nonce": {"forged"}}, &http.Cookie{Name: "orderflow_login", Value: "other"})
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Nil(t, cookieNamed(res, "orderflow_session"))
	res = f.do(http.MethodPost, "/ui/login", url.Values{"api_key": {operatorKey}, "nonce": {"x"}})
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "no nonce cookie")
}

func TestCookiesAreSecureOverTLSOrWhenConfigured(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		cfg    dashboard.Config
		tls    bool
		secure bool
	}{
		{name: "plain", secure: false},
		{name: "configured", cfg: dashboard.Config{SecureCookies: true}, secure: true},
		{name: "over TLS", tls: true, secure: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.cfg)
			req := httptest.NewRequest(http.MethodGet, "/ui/login", nil)
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			c := cookieNamed(answerOf(t, rec), "orderflow_login")
			require.NotNil(t, c)
			assert.Equal(t, tt.secure, c.Secure)
		})
	}
}

func TestPagesNeedASession(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dashboard.Config{})
	for _, tt := range []struct {
		name, method, target string
		status               int
	}{
		{"dashboard", http.MethodGet, "/", http.StatusSeeOther},
		{"order", http.MethodGet, "/ui/orders/o-1", http.StatusSeeOther},
		{"fragment", http.MethodGet, "/ui/fragments/counts", http.StatusUnauthorized},
		{"stock form", http.MethodPost, "/ui/stock", http.StatusSeeOther},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := f.do(tt.method, tt.target, url.Values{})
			assert.Equal(t, tt.status, res.StatusCode)
			if tt.status == http.StatusSeeOther {
				assert.Equal(t, "/ui/login", res.Header.Get("Location"))
			}
		})
	}
	// A token the API no longer accepts ends the session.
	res := f.do(http.MethodGet, "/", nil, &http.Cookie{Name: "orderflow_session", Value: "cmV2b2tlZC1rZXktMDEyMzQ1Njc4OQ"})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/ui/login", res.Header.Get("Location"))
	c := cookieNamed(res, "orderflow_session")
	require.NotNil(t, c)
	assert.Negative(t, c.MaxAge, "the session cookie is cleared")
	assert.Empty(t, f.sys.sentOf("messages.SetStock"))
}

func TestFormsNeedTheSessionsCSRFToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dashboard.Config{})
	session, _ := f.login(operatorKey)
	require.NotNil(t, session)
	other, _ := f.login(operatorKey2)
	require.NotNil(t, other)
	for _, token := range []string{"", "forged", f.csrf(other)} {
		res := f.do(http.MethodPost, "/ui/stock", url.Values{"csrf": {token}, "sku": {"SKU-1"}, "on_hand": {"5"}}, session)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "token %q", token)
		res = f.do(http.MethodPost, "/ui/poison/inventory-11111111-2222-3333-4444-555555555555/requeue", url.Values{"csrf": {token}}, session)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "token %q", token)
		res = f.do(http.MethodPost, "/ui/logout", url.Values{"csrf": {token}}, session)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "token %q", token)
	}
	assert.Empty(t, f.sys.sentOf("messages.SetStock"))
	for _, c := range f.sys.sentOf("messages.PoisonAdmin") {
		assert.Equal(t, messages.PoisonActionList, c.(messages.PoisonAdmin).Action)
	}
	assert.Equal(t, messages.PoisonStatusPoisoned, f.sys.poison[0].Status)
}

func TestStockForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sku     string
		onHand  string
		notice  string
		changed bool
	}{
		{name: "sets a level", sku: "SKU-1", onHand: "40", notice: "Stock of SKU-1 set to 40 on hand.", changed: true},
		{name: "creates a SKU", sku: "SKU-NEW", onHand: "3", notice: "Stock of SKU-NEW set to 3 on hand.", changed: true},
		{name: "below reserved", sku: "SKU-1", onHand: "1", notice: "is below the reserved stock"},
		{name: "negative", sku: "SKU-1", onHand: "-1", notice: "on_hand"},
		{name: "not a number", sku: "SKU-1", onHand: "lots", notice: "must be a whole number"},
		{name: "bad SKU", sku: "SKU 1", onHand: "1", notice: "the SKU must be"},
		{name: "markup in the SKU", sku: "<b>x</b>", onHand: "1", notice: "the SKU must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dashboard.Config{})
			session, _ := f.login(operatorKey)
			csrf := f.csrf(session)
			res := f.do(http.MethodPost, "/ui/stock", url.Values{"csrf": {csrf}, "sku": {tt.sku}, "on_hand": {tt.onHand}}, session)
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			assert.Equal(t, "/#stock", res.Header.Get("Location"))
			flash := cookieNamed(res, "orderflow_flash")
			require.NotNil(t, flash)
			page := f.do(http.MethodGet, "/", nil, session, flash)
			body := bodyOf(t, page)
			assert.Contains(t, body, `id="flash"`)
			assert.Contains(t, body, strings.ReplaceAll(tt.notice, "'", "&#39;"))
			assert.Equal(t, tt.changed, len(f.sys.sentOf("messages.SetStock")) == 1 && !strings.Contains(body, "not changed"))
			assert.NotContains(t, body, "<b>x</b>")
		})
	}
}

func TestPoisonButtons(t *testing.T) {
	t.Parallel()
	const id = "inventory-11111111-2222-3333-4444-555555555555"
	for _, tt := range []struct {
		action, notice, status string
	}{
		{"requeue", "Entry " + id + " requeued.", messages.PoisonStatusRequeued},
		{"discard", "Entry " + id + " discarded.", messages.PoisonStatusDiscarded},
	} {
		t.Run(tt.action, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dashboard.Config{})
			session, _ := f.login(operatorKey)
			csrf := f.csrf(session)
			list := bodyOf(t, f.do(http.MethodGet, "/ui/fragments/poison", nil, session))
			assert.Contains(t, list, `data-entry="`+id+`"`)
			assert.Contains(t, list, "malformed &lt;payload&gt;", "the reason is escaped")
			res := f.do(http.MethodPost, "/ui/poison/"+id+"/"+tt.action, url.Values{"csrf": {csrf}}, session)
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			page := bodyOf(t, f.do(http.MethodGet, "/", nil, session, cookieNamed(res, "orderflow_flash")))
			assert.Contains(t, page, tt.notice)
			assert.NotContains(t, page, `data-entry="`+id+`"`, "the list shrank")
			assert.Equal(t, tt.status, f.sys.poison[0].Status)
			// Again: the API says the entry is no longer there to act on.
			res = f.do(http.MethodPost, "/ui/poison/nope-1/"+tt.action, url.Values{"csrf": {csrf}}, session)
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			assert.Contains(t, bodyOf(t, f.do(http.MethodGet, "/", nil, session, cookieNamed(res, "orderflow_flash"))), "not "+tt.action[:len(tt.action)-1])
		})
	}
}

func TestDashboardShowsTheSystem(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dashboard.Config{LowStock: 5})
	session, _ := f.login(operatorKey)
	body := bodyOf(t, f.do(http.MethodGet, "/", nil, session))
	assert.Regexp(t, `<span class="n" data-status="PENDING">1</span>`, body)
	assert.Regexp(t, `<span class="n" data-status="CONFIRMED">1</span>`, body)
	assert.Regexp(t, `<span class="n" data-status="DELIVERED">0</span>`, body)
	assert.Contains(t, body, `href="/ui/orders/o-1#timeline"`)
	assert.Regexp(t, `<tr data-sku="SKU-3" class="low">`, body, "4 available is low")
	assert.Regexp(t, `<tr data-sku="SKU-1">`, body)
	assert.Contains(t, body, `data-ready="true"`)
	assert.Contains(t, body, `data-service="inventory"`)
	assert.Contains(t, body, "<polyline")
	// The last minute's rates: two placed and one confirmed, of 60 s.
	assert.Contains(t, body, "0.03 placed, 0.02 confirmed, 0.00 delivered")

	filtered := bodyOf(t, f.do(http.MethodGet, "/ui/fragments/orders?status=PENDING&customer_id=c-2", nil, session))
	assert.Contains(t, filtered, `data-order="o-2"`)
	assert.NotContains(t, filtered, `data-order="o-1"`)
	none := bodyOf(t, f.do(http.MethodGet, "/ui/fragments/orders?customer_id=c-9", nil, session))
	assert.Contains(t, none, "No orders match the filter.")
	bad := bodyOf(t, f.do(http.MethodGet, "/ui/fragments/orders?status=LOST", nil, session))
	assert.Contains(t, bad, "Orders could not be listed", "the API's 400 is shown, not a 5xx")
	assert.Equal(t, http.StatusNotFound, f.do(http.MethodGet, "/ui/fragments/nope", nil, session).StatusCode)
}

// A count stops at its bound, and says so.
func TestCountsAreBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dashboard.Config{})
	f.sys.mu.Lock()
	for i := range 1050 {
		at := now.Add(-time.Duration(i) * time.Second)
		f.sys.orders = append(f.sys.orders, messages.Order{OrderID: fmt.Sprintf("bulk-%d", i), CustomerID: "c-bulk", Status: messages.OrderStatusRejected,
			Items: []messages.Item{{SKU: "SKU-1", Quantity: 1}}, CreatedAt: at, UpdatedAt: at,
			History: []messages.StatusEntry{{Status: messages.OrderStatusPending, At: at}, {Status: messages.OrderStatusRejected, At: at}}})
	}
	f.sys.mu.Unlock()
	session, _ := f.login(operatorKey)
	body := bodyOf(t, f.do(http.MethodGet, "/ui/fragments/counts", nil, session))
	assert.Contains(t, body, `<span class="n" data-status="REJECTED">1000+</span>`)
	assert.Contains(t, body, `<span class="n" data-status="CONFIRMED">1</span>`)
	// The chart reads the newest orders back to a little before its window:
	// placed in the last minute, 61 of the bulk (0 to 60 s ago) and the 2 of
	// the fixture, 63 in 60 s.
	assert.Contains(t, body, "1.05 placed, 0.02 confirmed", "the orders of the last minute, from their history")
}

func TestOrderPageShowsTheTimelineOrTheHistory(t *testing.T) {
	t.Parallel()
	// An older gateway, without the timeline endpoint.
	noTimeline := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/timeline") {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"title":"Not Found","status":404,"detail":"no such resource"}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	t.Run("timeline", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, dashboard.Config{})
		at := now.Add(-30 * time.Second)
		f.sys.mu.Lock()
		f.sys.timeline["o-1"] = []view.Step{
			{Step: "placed", Service: "orders", At: at, CorrelationID: "corr-1", TraceID: "trace-1"},
			{Step: "stock_held", Service: "inventory", SKU: "SKU-1", At: at.Add(time.Millisecond), CorrelationID: "corr-1"},
			{Step: "confirmed", Service: "orders", At: at.Add(2 * time.Millisecond), CorrelationID: "corr-1", Detail: "all <held>"},
		}
		f.sys.mu.Unlock()
		session, _ := f.login(operatorKey)
		res := f.do(http.MethodGet, "/ui/orders/o-1", nil, session)
		require.Equal(t, http.StatusOK, res.StatusCode)
		body := bodyOf(t, res)
		assert.Equal(t, 3, strings.Count(body, `<tr class="step">`))
		assert.Contains(t, body, "<td>inventory</td><td>stock_held</td>")
		assert.Contains(t, body, "sku=SKU-1", "keys the page has no column for are shown too")
		assert.Contains(t, body, "<code>trace-1</code>")
		assert.Contains(t, body, "all &lt;held&gt;")
		assert.NotContains(t, body, `id="timeline-note"`)
		assert.Empty(t, validateHTML([]byte(body), true))
	})
	t.Run("a timeline of another schema", func(t *testing.T) {
		t.Parallel()
		other := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/orders/o-1/timeline" {
					w.Header().Set("Content-Type", "application/json")
					_, _ = io.WriteString(w, `{"order_id":"o-1","events":[{"time":"2026-12-01T11:59:30Z","source":"orders","kind":"placed","quantity":2}]}`)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
		f := newFixture(t, dashboard.Config{}, other)
		session, _ := f.login(operatorKey)
		body := bodyOf(t, f.do(http.MethodGet, "/ui/orders/o-1", nil, session))
		assert.Contains(t, body, "<td>2026-12-01T11:59:30Z</td><td>orders</td><td>placed</td>")
		assert.Contains(t, body, "quantity=2")
	})
	t.Run("no timeline endpoint", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, dashboard.Config{}, noTimeline)
		session, _ := f.login(operatorKey)
		res := f.do(http.MethodGet, "/ui/orders/o-1", nil, session)
		require.Equal(t, http.StatusOK, res.StatusCode)
		body := bodyOf(t, res)
		assert.Contains(t, body, `id="timeline-note"`)
		assert.Equal(t, 2, strings.Count(body, `<tr class="step">`), "the order's own history")
		assert.Contains(t, body, `data-status="CONFIRMED"`)
	})
	t.Run("unknown order", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, dashboard.Config{})
		session, _ := f.login(operatorKey)
		assert.Equal(t, http.StatusNotFound, f.do(http.MethodGet, "/ui/orders/o-404", nil, session).StatusCode)
		assert.Equal(t, http.StatusNotFound, f.do(http.MethodGet, "/ui/orders/"+strings.Repeat("x", 300), nil, session).StatusCode)
	})
}

// Every page and fragment is well-formed HTML with labelled controls, named
// buttons, resolving references and CSRF tokens in its forms.
func TestDashboardHTMLIsValid(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dashboard.Config{})
	session, _ := f.login(operatorKey)
	loginPage := f.do(http.MethodGet, "/ui/login", nil)
	_, refused := f.login(customerKey)
	for _, tt := range []struct {
		name  string
		res   answer
		whole bool
	}{
		{"login", loginPage, true},
		{"login refused", refused, true},
		{"dashboard", f.do(http.MethodGet, "/", nil, session), true},
		{"order", f.do(http.MethodGet, "/ui/orders/o-1", nil, session), true},
		{"not found", f.do(http.MethodGet, "/ui/nope", nil, session), true},
		{"fragment counts", f.do(http.MethodGet, "/ui/fragments/counts", nil, session), false},
		{"fragment orders", f.do(http.MethodGet, "/ui/fragments/orders", nil, session), false},
		{"fragment stock", f.do(http.MethodGet, "/ui/fragments/stock", nil, session), false},
		{"fragment poison", f.do(http.MethodGet, "/ui/fragments/poison", nil, session), false},
		{"fragment health", f.do(http.MethodGet, "/ui/fragments/health", nil, session), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, "text/html; charset=utf-8", tt.res.Header.Get("Content-Type"))
			assert.Contains(t, tt.res.Header.Get("Content-Security-Policy"), "script-src 'self'")
			assert.Equal(t, "no-store", tt.res.Header.Get("Cache-Control"))
			assert.Empty(t, validateHTML([]byte(bodyOf(t, tt.res)), tt.whole))
		})
	}
}

// The validator itself finds what it looks for.
func TestValidatorFindsProblems(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, html, want string }{
		{"unclosed", `<div><p>x</div>`, "closes"},
		{"duplicate id", `<p id="a"></p><p id="a"></p>`, `id "a" used 2 times`},
		{"unlabelled input", `<input name="q">`, `has no label`},
		{"dangling for", `<label for="nope">x</label>`, `names no element`},
		{"nameless button", `<button></button>`, "no accessible name"},
		{"post without csrf", `<form method="post" action="/x"><button>go</button></form>`, "no csrf"},
		{"th without scope", `<table><caption>c</caption><tr><th>x</th></tr></table>`, "without scope"},
		{"inline script", `<script>alert(1)</script>`, "inline <script>"},
		{"inline handler", `<button onclick="go()">go</button>`, "onclick"},
		{"inline style", `<p style="color:red">x</p>`, "inline style"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Contains(t, strings.Join(validateHTML([]byte(tt.html), false), "\n"), tt.want)
		})
	}
}

func TestAssetsAreEmbedded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dashboard.Config{})
	for _, path := range []string{"/ui/assets/dashboard.css", "/ui/assets/dashboard.js"} {
		res := f.do(http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.NotEmpty(t, bodyOf(t, res))
	}
	// The API is still served beside the dashboard.
	assert.Equal(t, http.StatusUnauthorized, f.do(http.MethodGet, "/orders", nil).StatusCode)
	assert.Equal(t, http.StatusOK, f.do(http.MethodGet, "/healthz", nil).StatusCode)
}

func TestRouteTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, want string
		ok                       bool
	}{
		{name: "the dashboard", method: http.MethodGet, path: "/", want: "/", ok: true},
		{name: "the dashboard with a method it does not serve", method: http.MethodPost, path: "/", want: "/", ok: true},
		{name: "the login form", method: http.MethodGet, path: "/ui/login", want: "/ui/login", ok: true},
		{name: "an order page", method: http.MethodGet, path: "/ui/orders/o-1", want: "/ui/orders/{id}", ok: true},
		{name: "a poison action", method: http.MethodPost, path: "/ui/poison/orders:p-1/requeue", want: "/ui/poison/{id}/{action}", ok: true},
		{name: "an asset", method: http.MethodGet, path: "/ui/assets/app.css", want: "/ui/assets/", ok: true},
		{name: "no such page", method: http.MethodGet, path: "/ui/nope/x", want: "/ui/", ok: true},
		{name: "the API's", method: http.MethodGet, path: "/orders/o-1", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := dashboard.RouteTemplate(httptest.NewRequest(tt.method, tt.path, nil))
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
