package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/orderflow/orderflow/handlers/httpapi"
)

// The demo API keys, used in the embedded mode when no credentials are
// configured, so that the quick start works as written. They are public:
// a deployment configures its own (API_KEYS, API_KEYS_FILE or JWT_*).
const (
	DemoCustomerKey = "demo-customer-c-1"
	DemoOperatorKey = "demo-operator-key"
	DemoCourierKey  = "demo-courier-key"
	// DemoCustomer is the customer of DemoCustomerKey.
	DemoCustomer = "c-1"
)

// DemoAPIKeys is the API_KEYS of the demo keys.
const DemoAPIKeys = DemoCustomerKey + "=customer:" + DemoCustomer + "," + DemoOperatorKey + "=operator," + DemoCourierKey + "=courier"

// errNoCredentials says what to set when a deployment configures no credentials.
var errNoCredentials = errors.New("no credentials configured: set API_KEYS (or API_KEYS_FILE), or JWT_ISSUER, JWT_AUDIENCE and JWT_JWKS_URL; " +
	"AUTH=off turns authentication off for local experiments")

// Authenticator builds who is who from the configuration: static keys and
// JWTs as configured; with neither, the demo keys when embedded (one process
// on GoChannel) and an error otherwise; AUTH=off lets everyone in as an operator.
func (c GatewayConfig) Authenticator(ctx context.Context, embedded bool, logger *slog.Logger) (httpapi.Authenticator, error) {
	if c.Auth == "off" {
		logger.Warn("AUTH=off: authentication is off, every request is an operator; for local experiments only")
		return httpapi.AllowAll, nil
	}
	var all httpapi.Authenticators
	keys := c.APIKeys
	if c.APIKeysFile != "" {
		raw, err := os.ReadFile(c.APIKeysFile)
		if err != nil {
			return nil, fmt.Errorf("API_KEYS_FILE: %w", err)
		}
		keys += "\n" + string(raw)
	}
	if strings.TrimSpace(keys) != "" {
		static, err := httpapi.ParseAPIKeys(keys)
		if err != nil {
			return nil, fmt.Errorf("API_KEYS: %w", err)
		}
		if static.Len() > 0 {
			all = append(all, static)
			logger.Info("API keys configured", "keys", static.Len())
		}
	}
	if c.JWTIssuer != "" {
		jwt, err := c.jwtAuthenticator(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, jwt)
		logger.Info("JWT bearer tokens accepted", "issuer", c.JWTIssuer, "audience", c.JWTAudience, "jwks_url", c.JWTJWKSURL)
	}
	if len(all) > 0 {
		return all, nil
	}
	if !embedded {
		return nil, errNoCredentials
	}
	demo, err := httpapi.ParseAPIKeys(DemoAPIKeys)
	if err != nil {
		return nil, err
	}
	logger.Warn("no credentials configured: using the public DEMO API keys (see README); configure API_KEYS or JWT_* for anything but a demo",
		"customer_"+DemoCustomer, DemoCustomerKey, "operator", DemoOperatorKey, "courier", DemoCourierKey)
	return demo, nil
}
