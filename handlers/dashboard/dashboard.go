// Package dashboard is the operator dashboard the gateway serves at / (pages
// under /ui/). It is a client of the gateway's own JSON API, called in
// process: every page is rendered with html/template from the answers of
// sub-requests to the API handler that carry the operator's bearer token, so
// the API's authentication, rate limits, authorization and audit apply to the
// dashboard unchanged, and the dashboard knows nothing of commands or stores.
//
// Routes (all HTML, except the assets):
//
//	GET  /                          the dashboard (or a redirect to the login page)
//	GET  /ui/login, POST /ui/login  the login form: an operator API key or JWT
//	POST /ui/logout                 ends the session
//	GET  /ui/fragments/{name}       a live part of the page: counts, orders, stock, poison, health
//	GET  /ui/orders/{id}            an order with its timeline (or its history)
//	POST /ui/stock                  sets a SKU's stock on hand (PUT /inventory/{sku})
//	POST /ui/poison/{id}/requeue    requeues a poison queue entry
//	POST /ui/poison/{id}/discard    discards a poison queue entry
//	GET  /ui/assets/...             the stylesheet and the script, embedded
//
// The session is an HttpOnly, SameSite=Strict cookie holding the token (Secure
// over TLS or when configured); every form carries a CSRF token derived from
// it, so it holds across gateway instances without shared state.
package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orderflow/orderflow/messages"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Cookie names.
const (
	sessionCookie = "orderflow_session"
	loginCookie   = "orderflow_login"
	flashCookie   = "orderflow_flash"
	// sessionMaxAge is how long a browser keeps the session.
	sessionMaxAge = 12 * time.Hour
)

// Config is what the dashboard needs besides the API.
type Config struct {
	Logger *slog.Logger
	// SecureCookies sets the Secure attribute on every cookie even over plain
	// HTTP (behind a proxy that terminates TLS); a request over TLS always gets it.
	SecureCookies bool
	// LowStock is the available quantity at or under which a SKU is
	// highlighted as low (0: DefaultLowStock).
	LowStock int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// RefreshEvery is how often the page's live parts refresh (0: 5 s).
	RefreshEvery time.Duration
}

// DefaultLowStock is the low-stock threshold when none is configured.
const DefaultLowStock = 5

type dashboard struct {
	api      http.Handler
	logger   *slog.Logger
	secure   bool
	lowStock int
	now      func() time.Time
	refresh  time.Duration
	pages    *template.Template
}

// New returns the dashboard's handler, a client of api (the gateway's API
// handler). It serves / and /ui/...; mount it beside the API (Mount).
func New(api http.Handler, cfg Config) http.Handler {
	d := &dashboard{api: api, logger: cfg.Logger, secure: cfg.SecureCookies, lowStock: cfg.LowStock, now: cfg.Now, refresh: cfg.RefreshEvery}
	if d.logger == nil {
		d.logger = slog.Default()
	}
	if d.lowStock <= 0 {
		d.lowStock = DefaultLowStock
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.refresh <= 0 {
		d.refresh = 5 * time.Second
	}
	d.pages = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
	return headers(d.routes())
}

// routes is the dashboard's route table. RouteTemplate reads the same table.
func (d *dashboard) routes() *http.ServeMux {
	assets, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err) // the embedded tree always has it
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.withSession(d.index))
	mux.HandleFunc("GET /ui/login", d.loginForm)
	mux.HandleFunc("POST /ui/login", d.login)
	mux.HandleFunc("POST /ui/logout", d.withSession(d.checkCSRF(d.logout)))
	mux.HandleFunc("GET /ui/fragments/{name}", d.withSession(d.fragment))
	mux.HandleFunc("GET /ui/orders/{id}", d.withSession(d.orderPage))
	mux.HandleFunc("POST /ui/stock", d.withSession(d.checkCSRF(d.setStock)))
	mux.HandleFunc("POST /ui/poison/{id}/{action}", d.withSession(d.checkCSRF(d.poisonAction)))
	mux.Handle("GET /ui/assets/", http.StripPrefix("/ui/assets/", assetHandler(http.FileServerFS(assets))))
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		d.render(w, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: "There is no such page of the dashboard."})
	})
	return mux
}

// routeTable matches a request to a pattern of routes().
var routeTable = sync.OnceValue(func() *http.ServeMux { return (&dashboard{}).routes() })

// RouteTemplate returns the path of the dashboard's route that a request is
// for ("/", "/ui/orders/{id}"), read from the dashboard's own route table
// before the request is served (for metrics and span names); ok is false for
// a path Mount does not give the dashboard.
func RouteTemplate(r *http.Request) (template string, ok bool) {
	if r.URL.Path != "/" && !strings.HasPrefix(r.URL.Path, "/ui/") {
		return "", false
	}
	_, pattern := routeTable().Handler(r)
	if _, path, found := strings.Cut(pattern, " "); found {
		pattern = path // the method of "GET /ui/login"
	}
	switch {
	case pattern == "/{$}" || (pattern == "" && r.URL.Path == "/"):
		return "/", true
	case pattern == "":
		return "/ui/", true // a method no route of the path has
	}
	return pattern, true
}

// Mount serves the dashboard at / and under /ui/, and everything else with api.
func Mount(dash, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/{$}", dash)
	mux.Handle("/ui/", dash)
	mux.Handle("/", api)
	return mux
}

// headers keeps the pages out of caches and frames, and lets them load
// nothing but their own assets.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func assetHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// session is a logged-in operator.
type session struct {
	token string
	csrf  string
}

type handlerWithSession func(w http.ResponseWriter, r *http.Request, s session)

// withSession lets a request through with its session, or sends the browser
// to the login page (a fragment answers 401, for the script to do so).
func (d *dashboard) withSession(next handlerWithSession) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := d.sessionOf(r)
		if !ok {
			d.toLogin(w, r)
			return
		}
		next(w, r, s)
	}
}

func (d *dashboard) toLogin(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/ui/fragments/") {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "log in again", http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

func (d *dashboard) sessionOf(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || !validToken(string(raw)) {
		return session{}, false
	}
	token := string(raw)
	return session{token: token, csrf: csrfToken(token)}, true
}

// csrfToken is the session's CSRF token: a MAC of a fixed text keyed by the
// session's token, which a page of another origin cannot read nor compute.
func csrfToken(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("orderflow dashboard csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF refuses a form whose csrf field is not the session's.
func (d *dashboard) checkCSRF(next handlerWithSession) handlerWithSession {
	return func(w http.ResponseWriter, r *http.Request, s session) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
			d.render(w, http.StatusForbidden, "error", errorPage{Title: "Form expired", Message: "This form is not from this session. Reload the dashboard and try again."})
			return
		}
		next(w, r, s)
	}
}

func validToken(s string) bool {
	if s == "" || len(s) > 8192 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (d *dashboard) secureFor(r *http.Request) bool { return d.secure || r.TLS != nil }

func (d *dashboard) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	// Secure is set over TLS and when configured; a plain-HTTP demo on loopback must work too.
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: d.secureFor(r)} //nolint:gosec // see above
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}

// loginPage is the login form's data.
type loginPage struct {
	Title string
	Nonce string
	Error string
	CSRF  string // none: not logged in
}

// loginForm shows the form, with a nonce in a cookie and in the form
// (double submit), so that another site cannot log a browser in.
func (d *dashboard) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := d.sessionOf(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	d.showLogin(w, r, http.StatusOK, "")
}

func (d *dashboard) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	nonce := base64.RawURLEncoding.EncodeToString(b[:])
	d.setCookie(w, r, loginCookie, nonce, 10*time.Minute)
	d.render(w, status, "login", loginPage{Title: "Log in", Nonce: nonce, Error: msg})
}

func (d *dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := r.Cookie(loginCookie)
	if err := r.ParseForm(); err != nil {
		d.showLogin(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("nonce"))) != 1 {
		d.showLogin(w, r, http.StatusForbidden, "The login form expired. Please try again.")
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("api_key"))
	if !validToken(token) {
		d.showLogin(w, r, http.StatusUnauthorized, "Enter an operator API key (printable characters, no spaces).")
		return
	}
	// The API says who the token is: an operator-only route answers 401 to
	// bad credentials and 403 to another role before it looks at its
	// parameters, and 400 to an operator for the missing service, without
	// sending a command: so logging in works while the services are down.
	res := d.call(r, token, http.MethodGet, "/admin/poison", nil, nil)
	switch res.status {
	case http.StatusBadRequest, http.StatusOK:
	case http.StatusUnauthorized:
		d.showLogin(w, r, http.StatusUnauthorized, "This key is not valid.")
		return
	case http.StatusForbidden:
		d.showLogin(w, r, http.StatusForbidden, "This key is not an operator's: the dashboard is for operators only.")
		return
	case http.StatusTooManyRequests:
		d.showLogin(w, r, http.StatusTooManyRequests, "Too many attempts. Wait a moment and try again.")
		return
	default:
		d.showLogin(w, r, http.StatusServiceUnavailable, "The key cannot be checked right now ("+res.describe()+"). Try again later.")
		return
	}
	d.setCookie(w, r, loginCookie, "", -1)
	d.setCookie(w, r, sessionCookie, base64.RawURLEncoding.EncodeToString([]byte(token)), sessionMaxAge)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (d *dashboard) logout(w http.ResponseWriter, r *http.Request, _ session) {
	d.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// flash is a one-time notice shown on the next page, after a form's redirect.
type flash struct {
	Error bool   `json:"error,omitempty"`
	Text  string `json:"text"`
}

func (d *dashboard) setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	raw, _ := json.Marshal(f) // a struct of strings always marshals
	d.setCookie(w, r, flashCookie, base64.RawURLEncoding.EncodeToString(raw), time.Minute)
}

func (d *dashboard) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	d.setCookie(w, r, flashCookie, "", -1)
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	var f flash
	if err != nil || json.Unmarshal(raw, &f) != nil || f.Text == "" {
		return nil
	}
	return &f
}

// errorPage is a page that only says what went wrong.
type errorPage struct {
	Title   string
	Message string
	CSRF    string // none: the page has no forms
}

func (d *dashboard) render(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := d.pages.ExecuteTemplate(&b, name, data); err != nil {
		d.logger.Error("render dashboard page", "page", name, "error", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// pageData is the whole dashboard.
type pageData struct {
	Title   string
	CSRF    string
	Flash   *flash
	Refresh int // milliseconds
	Counts  countsData
	Orders  ordersData
	Stock   stockData
	Poison  poisonData
	Health  healthData
}

func (d *dashboard) index(w http.ResponseWriter, r *http.Request, s session) {
	p := pageData{Title: "Dashboard", CSRF: s.csrf, Refresh: int(d.refresh.Milliseconds())}
	p.Counts = d.counts(r, s)
	if p.Counts.unauthorized {
		d.expired(w, r)
		return
	}
	p.Orders = d.orders(r, s)
	p.Stock = d.stock(r, s)
	p.Poison = d.poison(r, s)
	p.Health = d.health(r, s)
	p.Flash = d.takeFlash(w, r)
	d.render(w, http.StatusOK, "index", p)
}

// expired ends a session whose token the API no longer accepts.
func (d *dashboard) expired(w http.ResponseWriter, r *http.Request) {
	d.setCookie(w, r, sessionCookie, "", -1)
	d.toLogin(w, r)
}

func (d *dashboard) fragment(w http.ResponseWriter, r *http.Request, s session) {
	var data any
	unauthorized := false
	switch name := r.PathValue("name"); name {
	case "counts":
		c := d.counts(r, s)
		data, unauthorized = c, c.unauthorized
	case "orders":
		o := d.orders(r, s)
		data, unauthorized = o, o.unauthorized
	case "stock":
		st := d.stock(r, s)
		data, unauthorized = st, st.unauthorized
	case "poison":
		p := d.poison(r, s)
		data, unauthorized = poisonFragment{poisonData: p, CSRF: s.csrf}, p.unauthorized
	case "health":
		data = d.health(r, s)
	default:
		http.Error(w, "no such fragment", http.StatusNotFound)
		return
	}
	if unauthorized {
		d.expired(w, r)
		return
	}
	d.render(w, http.StatusOK, r.PathValue("name"), data)
}

// poisonFragment is the poison section with the forms' CSRF token.
type poisonFragment struct {
	poisonData
	CSRF string
}

func (d *dashboard) setStock(w http.ResponseWriter, r *http.Request, s session) {
	sku := strings.TrimSpace(r.PostForm.Get("sku"))
	onHand, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("on_hand")))
	switch {
	case sku == "" || !messages.ValidSKU(sku):
		d.setFlash(w, r, flash{Error: true, Text: "Stock not changed: the SKU must be 1 to 64 letters, digits, '-', '_' or '.'."})
	case err != nil:
		d.setFlash(w, r, flash{Error: true, Text: "Stock not changed: on hand must be a whole number."})
	default:
		res := d.call(r, s.token, http.MethodPut, "/inventory/"+url.PathEscape(sku), map[string]int{"on_hand": onHand}, nil)
		if res.status == http.StatusUnauthorized {
			d.expired(w, r)
			return
		}
		if res.status == http.StatusOK {
			d.setFlash(w, r, flash{Text: "Stock of " + sku + " set to " + strconv.Itoa(onHand) + " on hand."})
		} else {
			d.setFlash(w, r, flash{Error: true, Text: "Stock of " + sku + " not changed: " + res.describe()})
		}
	}
	http.Redirect(w, r, "/#stock", http.StatusSeeOther)
}

func (d *dashboard) poisonAction(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	if !validToken(id) || len(id) > 200 {
		d.setFlash(w, r, flash{Error: true, Text: "No such poison queue entry."})
		http.Redirect(w, r, "/#poison", http.StatusSeeOther)
		return
	}
	var res apiResult
	var done string
	switch r.PathValue("action") {
	case "requeue":
		res = d.call(r, s.token, http.MethodPost, "/admin/poison/"+url.PathEscape(id)+"/requeue", nil, nil)
		done = "requeued"
	case "discard":
		res = d.call(r, s.token, http.MethodDelete, "/admin/poison/"+url.PathEscape(id), nil, nil)
		done = "discarded"
	default:
		d.render(w, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: "There is no such action."})
		return
	}
	switch {
	case res.status == http.StatusUnauthorized:
		d.expired(w, r)
		return
	case res.status >= 200 && res.status < 300:
		d.setFlash(w, r, flash{Text: "Entry " + id + " " + done + "."})
	default:
		d.setFlash(w, r, flash{Error: true, Text: "Entry " + id + " not " + done + ": " + res.describe()})
	}
	http.Redirect(w, r, "/#poison", http.StatusSeeOther)
}
