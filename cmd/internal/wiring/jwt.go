package wiring

import (
	"context"
	"errors"
	"fmt"

	"github.com/orderflow/orderflow/handlers/httpapi"
	"github.com/orderflow/orderflow/infra/jwtauth"
)

// jwtAuthenticator accepts the identity provider's JWTs; its JWKS cache lives until ctx is done.
func (c GatewayConfig) jwtAuthenticator(ctx context.Context) (httpapi.Authenticator, error) {
	v, err := jwtauth.New(ctx, jwtauth.Config{
		Issuer: c.JWTIssuer, Audience: c.JWTAudience, JWKSURL: c.JWTJWKSURL,
		RoleClaim: c.JWTRoleClaim, CustomerClaim: c.JWTCustomerClaim,
	})
	if err != nil {
		return nil, fmt.Errorf("JWT_JWKS_URL: %w", err)
	}
	return JWTAuthenticator(v), nil
}

// JWTAuthenticator turns a verified token's claims into a principal: a
// customer needs a customer id; a token with another role is refused.
func JWTAuthenticator(v *jwtauth.Verifier) httpapi.Authenticator {
	return httpapi.AuthenticatorFunc(func(ctx context.Context, token string) (httpapi.Principal, error) {
		c, err := v.Verify(ctx, token)
		if errors.Is(err, jwtauth.ErrInvalid) {
			return httpapi.Principal{}, fmt.Errorf("%w: %w", httpapi.ErrUnauthenticated, err)
		}
		if err != nil {
			return httpapi.Principal{}, err
		}
		switch role := httpapi.Role(c.Role); role {
		case httpapi.RoleCustomer:
			if c.CustomerID == "" || len(c.CustomerID) > 128 {
				return httpapi.Principal{}, fmt.Errorf("%w: a customer token without a usable customer id", httpapi.ErrUnauthenticated)
			}
			return httpapi.Principal{ID: "customer:" + c.CustomerID, Role: role, CustomerID: c.CustomerID}, nil
		case httpapi.RoleOperator, httpapi.RoleCourier:
			if c.Subject == "" {
				return httpapi.Principal{}, fmt.Errorf("%w: a token without a subject", httpapi.ErrUnauthenticated)
			}
			return httpapi.Principal{ID: string(role) + ":jwt:" + c.Subject, Role: role}, nil
		}
		return httpapi.Principal{}, fmt.Errorf("%w: unknown role %q", httpapi.ErrUnauthenticated, c.Role)
	})
}
