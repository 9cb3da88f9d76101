package wiring

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/handlers/dashboard"
	"github.com/orderflow/orderflow/handlers/httpapi"
	viewhandlers "github.com/orderflow/orderflow/handlers/view"
	"github.com/orderflow/orderflow/infra/memory"
	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/messages"
)

// GatewayConfig is the part of the configuration that only the gateway reads:
// its API, who may use it and how much, and the dashboard.
type GatewayConfig struct {
	// HTTPAddr is where the gateway serves its API. The default listens on
	// loopback only, so a first run is not open to the network; containers set :8080.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	// RequestTimeout bounds how long the gateway waits for a service's answer.
	RequestTimeout time.Duration `env:"REQUEST_TIMEOUT" envDefault:"5s"`

	// Auth is on, or off for local experiments (every request is then an operator).
	Auth string `env:"AUTH" envDefault:"on"`
	// APIKeys is a comma-separated list of TOKEN=ROLE and
	// TOKEN=customer:CUSTOMER_ID; APIKeysFile names a file of more (one or
	// several per line), for secrets mounted into a container.
	APIKeys     string `env:"API_KEYS"`
	APIKeysFile string `env:"API_KEYS_FILE"`
	// JWT bearer tokens from an identity provider: accepted when signed by a
	// key of the JWKS, issued by JWTIssuer for JWTAudience, not expired; the
	// role and the customer id are read from the named claims.
	JWTIssuer        string `env:"JWT_ISSUER"`
	JWTAudience      string `env:"JWT_AUDIENCE"`
	JWTJWKSURL       string `env:"JWT_JWKS_URL"`
	JWTRoleClaim     string `env:"JWT_ROLE_CLAIM" envDefault:"role"`
	JWTCustomerClaim string `env:"JWT_CUSTOMER_CLAIM" envDefault:"customer_id"`

	// Rate limits, RATE:BURST (requests per second on average : at once),
	// per principal of each role and per client address for requests without
	// valid credentials; "off" (or empty) is no limit. Per gateway instance.
	RateLimitCustomer  string `env:"RATE_LIMIT_CUSTOMER" envDefault:"20:40"`
	RateLimitOperator  string `env:"RATE_LIMIT_OPERATOR" envDefault:"2000:5000"`
	RateLimitCourier   string `env:"RATE_LIMIT_COURIER" envDefault:"50:100"`
	RateLimitAnonymous string `env:"RATE_LIMIT_ANONYMOUS" envDefault:"5:20"`

	// DashboardSecureCookies marks the dashboard's cookies Secure even over
	// plain HTTP (behind a proxy that terminates TLS; over TLS they always are).
	// DashboardLowStock is the available quantity at or under which the
	// dashboard highlights a SKU.
	DashboardSecureCookies bool `env:"DASHBOARD_SECURE_COOKIES" envDefault:"false"`
	DashboardLowStock      int  `env:"DASHBOARD_LOW_STOCK" envDefault:"5"`
}

func (c GatewayConfig) validate() []error {
	var errs []error
	if c.Auth != "" && c.Auth != "on" && c.Auth != "off" {
		errs = append(errs, fmt.Errorf("AUTH must be on or off, not %q", c.Auth))
	}
	if c.JWTIssuer != "" && (c.JWTAudience == "" || c.JWTJWKSURL == "") {
		errs = append(errs, errors.New("JWT_ISSUER needs JWT_AUDIENCE and JWT_JWKS_URL"))
	}
	if c.JWTIssuer != "" && (c.JWTRoleClaim == "" || c.JWTCustomerClaim == "") {
		errs = append(errs, errors.New("JWT_ROLE_CLAIM and JWT_CUSTOMER_CLAIM must not be empty"))
	}
	if _, _, err := c.RateLimits(); err != nil {
		errs = append(errs, err)
	}
	if c.DashboardLowStock < 0 {
		errs = append(errs, errors.New("DASHBOARD_LOW_STOCK must not be negative"))
	}
	return errs
}

// RateLimits returns the rate limits per role and for requests without valid credentials.
func (c GatewayConfig) RateLimits() (map[httpapi.Role]httpapi.Limit, httpapi.Limit, error) {
	byRole := map[httpapi.Role]httpapi.Limit{}
	var errs []error
	for _, l := range []struct {
		name, value string
		role        httpapi.Role
	}{
		{"RATE_LIMIT_CUSTOMER", c.RateLimitCustomer, httpapi.RoleCustomer},
		{"RATE_LIMIT_OPERATOR", c.RateLimitOperator, httpapi.RoleOperator},
		{"RATE_LIMIT_COURIER", c.RateLimitCourier, httpapi.RoleCourier},
	} {
		lim, err := parseLimit(l.name, l.value)
		errs = append(errs, err)
		byRole[l.role] = lim
	}
	anonymous, err := parseLimit("RATE_LIMIT_ANONYMOUS", c.RateLimitAnonymous)
	errs = append(errs, err)
	return byRole, anonymous, errors.Join(errs...)
}

// parseLimit reads RATE:BURST; empty or "off" is no limit.
func parseLimit(name, s string) (httpapi.Limit, error) {
	if s == "" || s == "off" {
		return httpapi.Limit{}, nil
	}
	r, b, ok := strings.Cut(s, ":")
	rate, err1 := strconv.ParseFloat(r, 64)
	burst, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || rate <= 0 || math.IsInf(rate, 0) || burst < 1 {
		return httpapi.Limit{}, fmt.Errorf("%s must be RATE:BURST (a positive number of requests per second, a positive burst) or off, not %q", name, s)
	}
	return httpapi.Limit{Rate: rate, Burst: burst}, nil
}

// ViewGroup is the consumer group of a view shared in MongoDB; a view in
// memory takes a group of its own, ViewGroup + "." + a name unique to the
// process start, so that it reads every event topic from its start.
const ViewGroup = "gateway.view"

// NewGateway builds the gateway: its HTTP API, sending commands through the
// command bus and answering queries from its view, and its router, which
// consumes the replies (group consumerGroup) and feeds the view from the
// services' events. views is the view's store, shared by every gateway (one
// consumer group) or this process's own (rebuilt from the topics' start).
// ready reports whether the rest of what the gateway needs answers.
func NewGateway(d Deps, consumerGroup string, views view.Store, shared bool, ready func(context.Context) error) (*Service, error) {
	// The readiness probe's replies are no part of any request: not traced.
	probes := d.PubSub.Publisher
	d = d.forService("gateway")
	cfg := d.Config.Gateway
	routerCfg := d.routerConfig("gateway", messages.TopicGatewayPoison)
	routerCfg.Middleware = nil // the tests' faults are for the services' handlers
	r, p, err := d.router(routerCfg)
	if err != nil {
		return nil, err
	}
	if views == nil {
		views = memory.NewViewStore()
		shared = false
	}
	viewSvc := view.NewService(views, d.Now)
	viewGroup := ViewGroup
	if !shared {
		viewGroup += "." + uuid.NewString()
	}
	if err := register(p, nil, viewhandlers.EventGroups(viewSvc, viewGroup)); err != nil {
		return nil, fmt.Errorf("view handlers: %w", err)
	}
	// The poisonings of an order's messages are steps of its timeline.
	for service, topic := range map[string]string{"orders": messages.TopicOrdersPoison, "inventory": messages.TopicInventoryPoison, "delivery": messages.TopicDeliveryPoison} {
		name := viewGroup + "." + service + "_poison"
		sub, err := d.PubSub.Subscriber(name)
		if err != nil {
			return nil, fmt.Errorf("%s subscriber: %w", name, err)
		}
		r.AddConsumerHandler(name, topic, sub, viewhandlers.PoisonHandler(viewSvc))
	}
	// So are the retries of its messages, whichever service retried them.
	retries := viewGroup + ".retries"
	retriesSub, err := d.PubSub.Subscriber(retries)
	if err != nil {
		return nil, fmt.Errorf("%s subscriber: %w", retries, err)
	}
	r.AddConsumerHandler(retries, messages.TopicRetries, retriesSub, viewhandlers.RetryHandler(viewSvc))
	bus, err := messaging.NewCommandBus(d.PubSub.Publisher, d.Logger)
	if err != nil {
		return nil, err
	}
	hub := messaging.NewReplyHub()
	sub, err := d.PubSub.NewestSubscriber(consumerGroup)
	if err != nil {
		return nil, fmt.Errorf("reply subscriber: %w", err)
	}
	r.AddConsumerHandler(consumerGroup, messages.TopicReplies, sub, hub.Handle)
	replies := messaging.NewReplyReadiness(hub, probes, d.Logger)
	s := &Service{Name: "gateway", Router: r, Ready: replies.Ready}
	s.addBackground(replies.Run)
	auth := d.Auth
	if auth == nil {
		if auth, err = cfg.Authenticator(context.Background(), true, d.Logger); err != nil {
			return nil, err
		}
	}
	limits, anonymous, err := cfg.RateLimits()
	if err != nil {
		return nil, err
	}
	api := httpapi.NewHandler(httpapi.Config{
		Auth:               auth,
		RateLimits:         limits,
		AnonymousRateLimit: anonymous,
		Now:                d.Now,
		Commands:           messaging.Requester{Bus: bus, Hub: hub, Timeout: cfg.RequestTimeout},
		Views:              viewSvc,
		Ready: func(ctx context.Context) error {
			if !r.IsRunning() {
				return fmt.Errorf("the gateway's router is not running")
			}
			if err := replies.Ready(ctx); err != nil {
				return err
			}
			if ready != nil {
				return ready(ctx)
			}
			return nil
		},
		Logger: d.Logger.With("service", "gateway"),
	})
	// The operator dashboard at / is a client of the API, in process.
	dash := dashboard.New(api, dashboard.Config{
		Logger:        d.Logger.With("service", "gateway", "component", "dashboard"),
		SecureCookies: cfg.DashboardSecureCookies,
		LowStock:      cfg.DashboardLowStock,
		Now:           d.Now,
	})
	s.Handler = d.Tracing.HTTPHandler("gateway", dashboard.Mount(dash, api), routeTemplate)
	return s, nil
}

// routeTemplate names a gateway request's route for metrics and spans without
// its ids, so that the label space stays small (/orders/{id}/cancel,
// /ui/orders/{id}): the template of the API's or the dashboard's own route
// table (as dashboard.Mount shares the paths out), "other" for a path neither serves.
func routeTemplate(r *http.Request) string {
	if t, ok := dashboard.RouteTemplate(r); ok {
		return t
	}
	if t, ok := httpapi.RouteTemplate(r); ok {
		return t
	}
	return "other"
}
