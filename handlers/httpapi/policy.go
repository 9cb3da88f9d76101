package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/messages"
)

// access is what a role may do on a route.
type access uint8

const (
	// deny answers 403.
	deny access = iota
	// allow lets the request through.
	allow
	// own lets a customer through only to its own order (the route's {id}):
	// another customer's order answers 404, as if it did not exist.
	own
)

// rule is a route's access per role; a role it does not name is denied.
type rule map[Role]access

// openRoutes are served without credentials: probes and the API's description.
var openRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/openapi.yaml": true}

// policy is who may do what, per "METHOD route-template" (HEAD follows GET).
// A route it does not list is for operators only: so is every /admin/...
// route, and any route added later until it is given a rule here.
var policy = map[string]rule{
	"POST /orders":                   {RoleCustomer: allow, RoleOperator: allow},
	"GET /orders":                    {RoleCustomer: allow, RoleOperator: allow},
	"GET /orders/{id}":               {RoleCustomer: own, RoleOperator: allow},
	"POST /orders/{id}/cancel":       {RoleCustomer: own, RoleOperator: allow},
	"GET /orders/{id}/delivery":      {RoleCustomer: own, RoleOperator: allow, RoleCourier: allow},
	"GET /orders/{id}/timeline":      {RoleCustomer: own, RoleOperator: allow},
	"GET /inventory":                 {RoleCustomer: allow, RoleOperator: allow},
	"GET /inventory/{sku}":           {RoleCustomer: allow, RoleOperator: allow},
	"PUT /inventory/{sku}":           {RoleOperator: allow},
	"POST /deliveries/{id}/dispatch": {RoleOperator: allow, RoleCourier: allow},
	"POST /deliveries/{id}/deliver":  {RoleOperator: allow, RoleCourier: allow},
	"POST /deliveries/{id}/fail":     {RoleOperator: allow, RoleCourier: allow},
}

// operatorsOnly is the rule of every route the policy does not list.
var operatorsOnly = rule{RoleOperator: allow}

// ruleFor returns the rule of a route.
func ruleFor(method, template string) rule {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if r, ok := policy[method+" "+template]; ok {
		return r
	}
	return operatorsOnly
}

// RolesFor lists the roles a route admits (for the documentation and its test).
func RolesFor(method, template string) []Role {
	r := ruleFor(method, template)
	var out []Role
	for _, role := range Roles {
		if r[role] != deny {
			out = append(out, role)
		}
	}
	return out
}

func routeTemplate(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if t, err := route.GetPathTemplate(); err == nil {
			return t
		}
	}
	return r.URL.Path
}

// guard is the one place where requests are authenticated, rate limited and
// authorized, in that order, before any handler runs; a request it refuses
// sends no command. Every state-changing request leaves an audit line.
func (a *api) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		template := routeTemplate(r)
		if openRoutes[template] {
			next.ServeHTTP(w, r)
			return
		}
		if changesState(r.Method) {
			rec := &statusRecorder{ResponseWriter: w}
			w = rec
			defer func() { a.audit(r, template, rec.status()) }()
		}
		token, given := bearerToken(r)
		if _, off := a.auth.(allowAll); off {
			given = true
		}
		if !given {
			if a.limits.refuseAddress(w, r) {
				return
			}
			unauthorized(w, r, "this endpoint needs an Authorization: Bearer token")
			return
		}
		p, err := a.auth.Authenticate(r.Context(), token)
		if err != nil {
			if a.limits.refuseAddress(w, r) {
				return
			}
			if errors.Is(err, ErrUnauthenticated) {
				unauthorized(w, r, "the bearer token is not valid")
				return
			}
			a.logger.WarnContext(r.Context(), "could not check a bearer token", "error", err)
			w.Header().Set("Retry-After", "1")
			writeProblem(w, r, http.StatusServiceUnavailable, "Service Unavailable", "credentials cannot be checked right now; retry later")
			return
		}
		r = r.WithContext(WithPrincipal(r.Context(), p))
		if a.limits.refusePrincipal(w, r, p) {
			return
		}
		switch ruleFor(r.Method, template)[p.Role] {
		case deny:
			forbidden(w, r, fmt.Sprintf("the %s role may not %s %s", p.Role, r.Method, template))
			return
		case own:
			ctx, ok := a.ownOrder(w, r, p)
			if !ok {
				return
			}
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

type orderKey struct{}

// ownOrder looks the route's order up and lets the request through only if
// it is the customer's; the order is kept in the context for the handler.
// The lookup is a query of the view: it sends nothing. An order the view does
// not hold yet (placed, but its event still on its way) is 404 like another's.
func (a *api) ownOrder(w http.ResponseWriter, r *http.Request, p Principal) (context.Context, bool) {
	id, ok := orderID(r)
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "Not Found", "no order with this id")
		return nil, false
	}
	o, err := a.views.Order(r.Context(), id)
	if err != nil && !errors.Is(err, view.ErrNotFound) {
		a.viewFailed(w, r, err)
		return nil, false
	}
	if err != nil || p.CustomerID == "" || o.CustomerID != p.CustomerID {
		// Never reveal that another customer's order exists.
		writeProblem(w, r, http.StatusNotFound, "Not Found", "no order with this id")
		return nil, false
	}
	return context.WithValue(r.Context(), orderKey{}, o), true
}

// lookedUpOrder returns the order guard looked up for the request, if it did.
func lookedUpOrder(ctx context.Context) (view.Order, bool) {
	o, ok := ctx.Value(orderKey{}).(view.Order)
	return o, ok
}

// customerScope is the customer a request acts for: a customer acts only for
// itself (given, if present, must be its own: else 403) and may leave it out;
// other roles act for the customer given. It reports false once it answered.
func customerScope(w http.ResponseWriter, r *http.Request, field, given string, present bool) (string, bool) {
	p, _ := PrincipalFrom(r.Context())
	if p.Role != RoleCustomer {
		return given, true
	}
	if present && given != p.CustomerID {
		forbidden(w, r, field+": a customer acts only for itself", fieldError{field, "is not the authenticated customer"})
		return "", false
	}
	return p.CustomerID, true
}

func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// audit logs a state-changing request: who (never the token), what, on
// what, with which outcome, under which correlation ID.
func (a *api) audit(r *http.Request, template string, status int) {
	p, ok := PrincipalFrom(r.Context())
	who, role := "anonymous", ""
	if ok {
		who, role = p.ID, string(p.Role)
	}
	var target []string
	for k, v := range mux.Vars(r) {
		target = append(target, k+"="+v)
	}
	a.logger.InfoContext(r.Context(), "audit",
		"principal", who, "role", role,
		"action", r.Method+" "+template,
		"target", strings.Join(target, ","),
		"outcome", status,
		"correlation_id", messages.CorrelationID(r.Context()))
}

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
