// Package jwtauth verifies JWT bearer tokens from an identity provider
// against its JWKS, with github.com/lestrrat-go/jwx (no hand-written crypto):
// the keys are fetched and cached, and fetched again when a token names a key
// id the cache does not have (key rotation).
package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/time/rate"
)

// ErrInvalid is returned for a token that is not accepted: malformed, signed
// by no key of the JWKS or with an algorithm not allowed, expired, for
// another issuer or audience, or without a usable role.
var ErrInvalid = errors.New("invalid token")

// Config says which tokens to accept.
type Config struct {
	Issuer   string
	Audience string
	JWKSURL  string
	// RoleClaim and CustomerClaim name the claims holding the role and the customer id.
	RoleClaim     string
	CustomerClaim string
	// HTTPClient fetches the JWKS (nil: jwx's default, with timeouts).
	HTTPClient *http.Client
	// Now is the clock expiry is checked on (nil: time.Now).
	Now func() time.Time
	// RefreshEvery bounds how often an unknown key id makes the JWKS be
	// fetched again (default 10s), so that forged key ids cannot flood the
	// identity provider.
	RefreshEvery time.Duration
}

// Claims is what a valid token says about its holder.
type Claims struct {
	Subject    string
	Role       string
	CustomerID string
}

// allowedAlgorithms are the asymmetric signatures accepted: never "none",
// never HMAC (which would let anyone holding the public key sign).
var allowedAlgorithms = map[jwa.SignatureAlgorithm]bool{
	jwa.RS256(): true, jwa.RS384(): true, jwa.RS512(): true,
	jwa.PS256(): true, jwa.PS384(): true, jwa.PS512(): true,
	jwa.ES256(): true, jwa.ES384(): true, jwa.ES512(): true,
	jwa.EdDSA(): true,
}

// maxTokenBytes bounds what is parsed.
const maxTokenBytes = 8 << 10

// firstFetchWait bounds how long a request waits for the JWKS's first fetch.
const firstFetchWait = 3 * time.Second

// clockSkew is the leeway on exp and nbf for clocks a little apart.
const clockSkew = 30 * time.Second

// Verifier verifies tokens.
type Verifier struct {
	cfg     Config
	cache   *jwk.Cache
	refresh *rate.Limiter
}

// New returns a Verifier whose JWKS cache lives until ctx is done. It does
// not wait for the first fetch: until the keys are had, tokens are answered
// with an error that is not ErrInvalid (the API's 503).
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" || cfg.JWKSURL == "" {
		return nil, errors.New("jwtauth: issuer, audience and JWKS URL are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshEvery <= 0 {
		cfg.RefreshEvery = 10 * time.Second
	}
	cache, err := jwk.NewCache(ctx, httprc.NewClient())
	if err != nil {
		return nil, fmt.Errorf("jwtauth: %w", err)
	}
	opts := []jwk.RegisterOption{jwk.WithWaitReady(false), jwk.WithMinInterval(5 * time.Minute)}
	if cfg.HTTPClient != nil {
		opts = append(opts, jwk.WithHTTPClient(cfg.HTTPClient))
	}
	if err := cache.Register(ctx, cfg.JWKSURL, opts...); err != nil {
		return nil, fmt.Errorf("jwtauth: JWKS %s: %w", cfg.JWKSURL, err)
	}
	return &Verifier{cfg: cfg, cache: cache, refresh: rate.NewLimiter(rate.Every(cfg.RefreshEvery), 1)}, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Verify checks the token and returns its claims; an error wrapping
// ErrInvalid refuses it, any other error means the keys could not be had.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	if len(token) > maxTokenBytes {
		return Claims{}, invalid("longer than %d bytes", maxTokenBytes)
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		return Claims{}, invalid("not a JWS: %v", err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return Claims{}, invalid("%d signatures", len(sigs))
	}
	alg, ok := sigs[0].ProtectedHeaders().Algorithm()
	if !ok || !allowedAlgorithms[alg] {
		return Claims{}, invalid("algorithm %v is not accepted", alg)
	}
	kid, _ := sigs[0].ProtectedHeaders().KeyID()

	set, err := v.keys(ctx, kid)
	if err != nil {
		return Claims{}, err
	}
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true)),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithClock(jwt.ClockFunc(v.cfg.Now)),
		jwt.WithAcceptableSkew(clockSkew),
	)
	if err != nil {
		return Claims{}, invalid("%v", err)
	}
	var c Claims
	c.Subject, _ = tok.Subject()
	if err := tok.Get(v.cfg.RoleClaim, &c.Role); err != nil || c.Role == "" {
		return Claims{}, invalid("no %s claim", v.cfg.RoleClaim)
	}
	if err := tok.Get(v.cfg.CustomerClaim, &c.CustomerID); err != nil {
		c.CustomerID = ""
	}
	return c, nil
}

// keys returns the JWKS, fetched again first when it lacks the token's key
// id (the provider rotated its keys) and the last forced fetch is not too recent.
func (v *Verifier) keys(ctx context.Context, kid string) (jwk.Set, error) {
	set, err := v.cache.Lookup(ctx, v.cfg.JWKSURL)
	if err != nil {
		// Not fetched yet (or never could be): wait a little for the first fetch.
		waitCtx, cancel := context.WithTimeout(ctx, firstFetchWait)
		ready := v.cache.Ready(waitCtx, v.cfg.JWKSURL)
		cancel()
		if !ready {
			return nil, fmt.Errorf("jwtauth: the JWKS at %s is not available", v.cfg.JWKSURL)
		}
		if set, err = v.cache.Lookup(ctx, v.cfg.JWKSURL); err != nil {
			return nil, fmt.Errorf("jwtauth: the JWKS at %s: %w", v.cfg.JWKSURL, err)
		}
	}
	if _, known := set.LookupKeyID(kid); known || kid == "" || !v.refresh.Allow() {
		// An unknown kid past the refetch budget: verification refuses the token.
		return set, nil
	}
	fresh, err := v.cache.Refresh(ctx, v.cfg.JWKSURL)
	if err != nil {
		return set, nil
	}
	return fresh, nil
}
