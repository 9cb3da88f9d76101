package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Role is what a principal may do; the policy table (policy.go) maps each
// route to the roles it admits.
type Role string

// The roles of the API.
const (
	// RoleCustomer places, reads, lists and cancels its own orders and reads stock.
	RoleCustomer Role = "customer"
	// RoleOperator may do everything, admin endpoints included.
	RoleOperator Role = "operator"
	// RoleCourier reads shipments and moves them along.
	RoleCourier Role = "courier"
)

// Roles lists every role, in the order the documentation shows them.
var Roles = []Role{RoleCustomer, RoleOperator, RoleCourier}

// Principal is who made a request, as its credentials say.
type Principal struct {
	// ID names the principal in logs, audit lines and idempotency scopes: never
	// the token itself ("customer:c-1", "operator:key-1a2b3c4d", "jwt:<sub>").
	ID   string
	Role Role
	// CustomerID is the customer a customer principal is (empty for other roles).
	CustomerID string
}

// ErrUnauthenticated is what an Authenticator returns for credentials it does
// not accept; the API answers 401 without saying more.
var ErrUnauthenticated = errors.New("invalid credentials")

// Authenticator turns a bearer token into a principal. It returns an error
// wrapping ErrUnauthenticated for a token it refuses; any other error is
// answered 503 (the identity provider's keys could not be had).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, token string) (Principal, error)

// Authenticate implements Authenticator.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, token string) (Principal, error) {
	return f(ctx, token)
}

// Authenticators tries each authenticator in turn (static keys, then JWT):
// the first that accepts the token wins.
type Authenticators []Authenticator

// Authenticate implements Authenticator.
func (as Authenticators) Authenticate(ctx context.Context, token string) (Principal, error) {
	var errs []error
	for _, a := range as {
		p, err := a.Authenticate(ctx, token)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return Principal{}, ErrUnauthenticated
	}
	for _, err := range errs {
		if !errors.Is(err, ErrUnauthenticated) {
			return Principal{}, err
		}
	}
	return Principal{}, ErrUnauthenticated
}

// AllowAll is the authenticator of AUTH=off: every request, with or without
// a token, is an operator.
var AllowAll Authenticator = allowAll{}

type allowAll struct{}

func (allowAll) Authenticate(context.Context, string) (Principal, error) {
	return Principal{ID: "anonymous (AUTH=off)", Role: RoleOperator}, nil
}

// StaticKeys authenticates static API keys. Tokens are kept only as SHA-256
// digests and compared in constant time, each against every key, so neither
// the comparison nor the number of keys tried reveals a prefix.
type StaticKeys struct {
	keys []staticKey
}

type staticKey struct {
	digest    [sha256.Size]byte
	principal Principal
}

// MinKeyLength is the shortest API key accepted, so that a key cannot be guessed.
const MinKeyLength = 16

// ParseAPIKeys reads a comma- or newline-separated list of TOKEN=ROLE and
// TOKEN=customer:CUSTOMER_ID entries (the API_KEYS format; blank lines and
// lines starting with # are skipped). Errors never quote a token.
func ParseAPIKeys(s string) (*StaticKeys, error) {
	k := &StaticKeys{}
	seen := map[[sha256.Size]byte]bool{}
	n := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, entry := range strings.Split(line, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			n++
			token, who, ok := strings.Cut(entry, "=")
			token = strings.TrimSpace(token)
			if !ok || token == "" {
				return nil, fmt.Errorf("API key entry %d: want TOKEN=ROLE or TOKEN=customer:CUSTOMER_ID", n)
			}
			if len(token) < MinKeyLength || !validToken(token, 4096) {
				return nil, fmt.Errorf("API key entry %d: the token must be %d to 4096 printable ASCII characters", n, MinKeyLength)
			}
			digest := sha256.Sum256([]byte(token))
			if seen[digest] {
				return nil, fmt.Errorf("API key entry %d: the same token appears twice", n)
			}
			seen[digest] = true
			p, err := principalOf(strings.TrimSpace(who), digest)
			if err != nil {
				return nil, fmt.Errorf("API key entry %d: %w", n, err)
			}
			k.keys = append(k.keys, staticKey{digest: digest, principal: p})
		}
	}
	return k, nil
}

func principalOf(who string, digest [sha256.Size]byte) (Principal, error) {
	fingerprint := "key-" + hex.EncodeToString(digest[:4])
	role, customer, isCustomer := strings.Cut(who, ":")
	switch {
	case isCustomer && Role(role) == RoleCustomer:
		if strings.TrimSpace(customer) == "" || !validToken(customer, 128) {
			return Principal{}, errors.New("the customer id must be 1 to 128 printable ASCII characters")
		}
		return Principal{ID: "customer:" + customer, Role: RoleCustomer, CustomerID: customer}, nil
	case !isCustomer && (Role(who) == RoleOperator || Role(who) == RoleCourier):
		return Principal{ID: who + ":" + fingerprint, Role: Role(who)}, nil
	case !isCustomer && Role(who) == RoleCustomer:
		return Principal{}, errors.New("a customer key names its customer: TOKEN=customer:CUSTOMER_ID")
	}
	return Principal{}, fmt.Errorf("unknown role %q: want operator, courier or customer:CUSTOMER_ID", who)
}

// Len is the number of keys.
func (k *StaticKeys) Len() int { return len(k.keys) }

// Authenticate implements Authenticator.
func (k *StaticKeys) Authenticate(_ context.Context, token string) (Principal, error) {
	digest := sha256.Sum256([]byte(token))
	found := -1
	for i := range k.keys {
		if subtle.ConstantTimeCompare(digest[:], k.keys[i].digest[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Principal{}, ErrUnauthenticated
	}
	return k.keys[found].principal, nil
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of an authenticated request.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// bearerToken reads "Authorization: Bearer <token>" (the scheme is case-insensitive, RFC 9110).
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// unauthorized answers 401 with the challenge RFC 6750 asks for.
func unauthorized(w http.ResponseWriter, r *http.Request, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="orderflow"`)
	writeProblem(w, r, http.StatusUnauthorized, "Unauthorized", detail)
}

func forbidden(w http.ResponseWriter, r *http.Request, detail string, errs ...fieldError) {
	writeProblem(w, r, http.StatusForbidden, "Forbidden", detail, errs...)
}
