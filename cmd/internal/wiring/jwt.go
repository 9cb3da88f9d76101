package wiring

import (
	"context"
	"errors"

	"github.com/orderflow/orderflow/handlers/httpapi"
)

func (c Config) jwtAuthenticator(context.Context) (httpapi.Authenticator, error) {
	return nil, errors.New("JWT_ISSUER: JWT bearer tokens are not supported yet")
}
