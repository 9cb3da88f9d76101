// Package jwttest is an identity provider for tests: it serves a JWKS on a
// loopback httptest server and signs tokens with its keys, which tests may
// rotate.
package jwttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/require"
)

// Issuer is a test identity provider.
type Issuer struct {
	// URL is where the JWKS is served.
	URL string
	// Name and Audience are the iss and aud of the tokens Token signs.
	Name, Audience string

	mu      sync.Mutex
	omitAlg bool
	keys    map[string]jwk.Key // private, by kid
	fetches atomic.Int64
}

// NewIssuer starts an issuer with an RSA key "rsa-1" and an EC key "ec-1".
func NewIssuer(tb testing.TB) *Issuer {
	tb.Helper()
	i := &Issuer{Name: "https://idp.test/", Audience: "orderflow", keys: map[string]jwk.Key{}}
	i.AddKey(tb, "rsa-1", "rsa")
	i.AddKey(tb, "ec-1", "ec")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i.fetches.Add(1)
		i.mu.Lock()
		set := jwk.NewSet()
		for _, k := range i.keys {
			pub, err := k.PublicKey()
			if err != nil {
				continue
			}
			if i.omitAlg {
				_ = pub.Remove(jwk.AlgorithmKey)
			}
			_ = set.AddKey(pub)
		}
		i.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	tb.Cleanup(srv.Close)
	i.URL = srv.URL + "/.well-known/jwks.json"
	return i
}

// AddKey adds a key of kind "rsa" or "ec" (P-256) under kid.
func (i *Issuer) AddKey(tb testing.TB, kid, kind string) {
	tb.Helper()
	var raw any
	var alg jwa.SignatureAlgorithm
	switch kind {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(tb, err)
		raw, alg = k, jwa.RS256()
	case "ec":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(tb, err)
		raw, alg = k, jwa.ES256()
	default:
		tb.Fatalf("unknown key kind %q", kind)
	}
	key, err := jwk.Import(raw)
	require.NoError(tb, err)
	require.NoError(tb, key.Set(jwk.KeyIDKey, kid))
	require.NoError(tb, key.Set(jwk.AlgorithmKey, alg))
	i.mu.Lock()
	i.keys[kid] = key
	i.mu.Unlock()
}

// OmitAlg serves the keys without "alg", as some providers do.
func (i *Issuer) OmitAlg() {
	i.mu.Lock()
	i.omitAlg = true
	i.mu.Unlock()
}

// RemoveKey stops serving the key kid.
func (i *Issuer) RemoveKey(kid string) {
	i.mu.Lock()
	delete(i.keys, kid)
	i.mu.Unlock()
}

// Key returns the private key kid.
func (i *Issuer) Key(tb testing.TB, kid string) jwk.Key {
	tb.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	k, ok := i.keys[kid]
	require.True(tb, ok, "no key %s", kid)
	return k
}

// PublicKeyJSON is the public key kid as the JWKS serves it.
func (i *Issuer) PublicKeyJSON(tb testing.TB, kid string) []byte {
	tb.Helper()
	pub, err := i.Key(tb, kid).PublicKey()
	require.NoError(tb, err)
	raw, err := json.Marshal(pub)
	require.NoError(tb, err)
	return raw
}

// Fetches counts the JWKS requests served.
func (i *Issuer) Fetches() int64 { return i.fetches.Load() }

// Token signs claims (iss and aud are the issuer's unless claims set them)
// with the key kid, with its algorithm.
func (i *Issuer) Token(tb testing.TB, kid string, claims map[string]any) string {
	tb.Helper()
	key := i.Key(tb, kid)
	alg, ok := key.Algorithm()
	require.True(tb, ok)
	tok := jwt.New()
	require.NoError(tb, tok.Set(jwt.IssuerKey, i.Name))
	require.NoError(tb, tok.Set(jwt.AudienceKey, i.Audience))
	for k, v := range claims {
		require.NoError(tb, tok.Set(k, v))
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg.(jwa.SignatureAlgorithm), key))
	require.NoError(tb, err)
	return string(signed)
}
