// Package httpapi is the gateway's HTTP API (described in openapi.yaml, served
// at /openapi.yaml). It validates requests, answers bad input with RFC 9457
// problem details naming the field. A query is answered from the gateway's
// view (Views), without a message; a command is sent through the command bus,
// waiting for the owning service's answer, which is merged into the view.
// Every route but the probes and the document passes one guard (policy.go):
// bearer authentication (auth.go), a token bucket per principal
// (ratelimit.go), the policy table of route x role, and an audit line for
// every state-changing request. A refused request sends nothing.
package httpapi

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/messages"
)

// MaxBodyBytes is the largest request body accepted; a larger one gets 413.
const MaxBodyBytes = 64 << 10

//go:embed openapi.yaml
var openAPISpec []byte

// OpenAPISpec returns the OpenAPI 3 document of the API.
func OpenAPISpec() []byte { return openAPISpec }

// Requester sends a command and decodes the owning service's answer into
// result. It returns an error wrapping messages.ErrNotSent when the command did
// not reach the broker, and messages.ErrNoReply when no answer came in time.
type Requester interface {
	// Request sends a command whose client is told to retry when no answer
	// comes in time: the command expires then, unhandled if not handled yet.
	Request(ctx context.Context, cmd, result any) error
	// Submit sends a command that stands whenever it is handled (an order
	// placed: its client is told 202 without an answer).
	Submit(ctx context.Context, cmd, result any) error
}

// Views is the gateway's read model (app/view's Service), which the queries
// answer from: no query sends a message. A document it does not hold is
// view.ErrNotFound; a cursor it did not hand out, view.ErrBadCursor; any
// other error means it cannot be read now (503). The Merge methods fold a
// command's answer into it, so a client reads its own writes.
type Views interface {
	Order(ctx context.Context, id string) (view.Order, error)
	Orders(ctx context.Context, q view.ListOrders) (view.Page, error)
	Shipment(ctx context.Context, orderID string) (messages.Shipment, error)
	Stock(ctx context.Context, sku string) (view.StockLevel, error)
	AllStock(ctx context.Context) ([]view.StockLevel, error)
	MergeOrder(ctx context.Context, o messages.Order, src view.Source) error
	MergeShipment(ctx context.Context, s messages.Shipment, src view.Source) error
	StockLevel(ctx context.Context, l messages.StockLevel, at time.Time) error
}

// Config is what the API needs.
type Config struct {
	Commands Requester
	// Views answers the queries.
	Views Views
	// Ready reports whether the gateway can serve requests (nil: always).
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// Auth authenticates bearer tokens (nil: every protected request gets 401).
	Auth Authenticator
	// RateLimits is the token bucket of each principal, per role; a role
	// without one is not limited. AnonymousRateLimit is the bucket of each
	// client address for requests without valid credentials.
	RateLimits         map[Role]Limit
	AnonymousRateLimit Limit
	// Now is the rate limiter's clock (nil: time.Now).
	Now func() time.Time
}

type api struct {
	commands Requester
	views    Views
	ready    func(ctx context.Context) error
	logger   *slog.Logger
	auth     Authenticator
	limits   *limiter
}

// NewHandler returns the API's HTTP handler.
func NewHandler(cfg Config) http.Handler {
	a := &api{commands: cfg.Commands, views: cfg.Views, ready: cfg.Ready, logger: cfg.Logger, auth: cfg.Auth,
		limits: newLimiter(cfg.Now, cfg.RateLimits, cfg.AnonymousRateLimit)}
	if a.auth == nil {
		a.auth = Authenticators(nil)
	}
	if a.ready == nil {
		a.ready = func(context.Context) error { return nil }
	}
	if a.logger == nil {
		// commandFailed and recoverer log through it: a nil one would panic inside the recoverer.
		a.logger = slog.Default()
	}
	r := a.routes()
	// Every route, admin routes included, passes the guard.
	r.Use(a.guard)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "Not Found", "no such resource: "+r.URL.Path)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// RFC 9110 section 15.5.6: a 405 must list the methods the resource allows.
		w.Header().Set("Allow", strings.Join(allowedMethods(r, req), ", "))
		writeProblem(w, req, http.StatusMethodNotAllowed, "Method Not Allowed", req.Method+" is not allowed on "+req.URL.Path)
	})
	return chain(r, recoverer(a.logger), securityHeaders, correlation, limitBody)
}

// routes is the API's route table: every route a request may take, with the
// handler of each. RouteTemplate reads the same table.
func (a *api) routes() *mux.Router {
	r := mux.NewRouter()
	r.StrictSlash(false)
	r.HandleFunc("/orders", a.placeOrder).Methods(http.MethodPost)
	r.HandleFunc("/orders", a.listOrders).Methods(get()...)
	r.HandleFunc("/orders/{id}", a.getOrder).Methods(get()...)
	r.HandleFunc("/orders/{id}/cancel", a.cancelOrder).Methods(http.MethodPost)
	r.HandleFunc("/orders/{id}/delivery", a.getDelivery).Methods(get()...)
	r.HandleFunc("/orders/{id}/timeline", a.getTimeline).Methods(get()...)
	r.HandleFunc("/inventory", a.listStock).Methods(get()...)
	r.HandleFunc("/inventory/{sku}", a.getStock).Methods(get()...)
	r.HandleFunc("/inventory/{sku}", a.setStock).Methods(http.MethodPut)
	r.HandleFunc("/deliveries/{id}/dispatch", a.courierStep("dispatch")).Methods(http.MethodPost)
	r.HandleFunc("/deliveries/{id}/deliver", a.courierStep("deliver")).Methods(http.MethodPost)
	r.HandleFunc("/deliveries/{id}/fail", a.courierStep("fail")).Methods(http.MethodPost)
	r.HandleFunc("/admin/poison", a.listPoison).Methods(get()...)
	r.HandleFunc("/admin/poison/requeue", a.requeueAllPoison).Methods(http.MethodPost)
	r.HandleFunc("/admin/poison/{id}", a.poisonEntryAction(messages.PoisonActionGet)).Methods(get()...)
	r.HandleFunc("/admin/poison/{id}", a.poisonEntryAction(messages.PoisonActionDiscard)).Methods(http.MethodDelete)
	r.HandleFunc("/admin/poison/{id}/requeue", a.poisonEntryAction(messages.PoisonActionRequeue)).Methods(http.MethodPost)
	r.HandleFunc("/healthz", a.healthz).Methods(get()...)
	r.HandleFunc("/readyz", a.readyz).Methods(get()...)
	r.HandleFunc("/openapi.yaml", serveSpec).Methods(get()...)
	return r
}

// templates matches a request to the path template of its route whatever its
// method: the paths of routes(), each once, the template as the route's name.
var templates = sync.OnceValue(func() *mux.Router {
	t := mux.NewRouter()
	seen := map[string]bool{}
	_ = (&api{}).routes().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if path, err := route.GetPathTemplate(); err == nil && !seen[path] {
			seen[path] = true
			t.Path(path).Name(path)
		}
		return nil
	})
	return t
})

// RouteTemplate returns the path template of the API's route that a request
// is for ("/orders/{id}/cancel"), whatever its method, read from the API's
// own route table before the request is served (for metrics and span names,
// whose label space it keeps small); ok is false for a path the API does not
// serve.
func RouteTemplate(r *http.Request) (template string, ok bool) {
	var match mux.RouteMatch
	if !templates().Match(r, &match) || match.Route == nil {
		return "", false
	}
	return match.Route.GetName(), true
}

// get is the methods of a read: HEAD wherever GET (a new slice each time:
// mux.Route.Methods writes into the one it is given).
func get() []string { return []string{http.MethodGet, http.MethodHead} }

// allowedMethods lists the methods that router serves on the request's path.
func allowedMethods(router *mux.Router, r *http.Request) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch} {
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if router.Match(probe, &match) && match.MatchErr == nil {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

func serveSpec(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPISpec)
}

func (a *api) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	if err := a.ready(r.Context()); err != nil {
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, http.StatusServiceUnavailable, "Not Ready", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

var _ Views = (*view.Service)(nil)
