package jwtauth_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/infra/jwtauth"
	"github.com/orderflow/orderflow/infra/jwtauth/jwttest"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newVerifier(t *testing.T, idp *jwttest.Issuer) *jwtauth.Verifier {
	t.Helper()
	v, err := jwtauth.New(t.Context(), jwtauth.Config{
		Issuer: idp.Name, Audience: idp.Audience, JWKSURL: idp.URL,
		RoleClaim: "role", CustomerClaim: "customer_id",
		Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	return v
}

func valid(extra map[string]any) map[string]any {
	c := map[string]any{"sub": "user-1", "role": "customer", "customer_id": "c-1", "exp": now.Add(time.Hour), "iat": now}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// unsigned builds a token with alg none by hand: no library would sign one.
func unsigned(header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + "."
}

func TestVerify(t *testing.T) {
	t.Parallel()
	idp := jwttest.NewIssuer(t)
	other := jwttest.NewIssuer(t) // the same key ids, other keys
	v := newVerifier(t, idp)

	// HMAC with the public key as the secret: the classic algorithm confusion.
	hmacTok := jwt.New()
	for k, val := range valid(map[string]any{"iss": idp.Name, "aud": idp.Audience}) {
		require.NoError(t, hmacTok.Set(k, val))
	}
	hdr := jws.NewHeaders()
	require.NoError(t, hdr.Set(jws.KeyIDKey, "rsa-1"))
	confused, err := jwt.Sign(hmacTok, jwt.WithKey(jwa.HS256(), idp.PublicKeyJSON(t, "rsa-1"), jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)

	tests := []struct {
		name  string
		token string
		want  jwtauth.Claims
		ok    bool
	}{
		{name: "RSA", token: idp.Token(t, "rsa-1", valid(nil)), ok: true, want: jwtauth.Claims{Subject: "user-1", Role: "customer", CustomerID: "c-1"}},
		{name: "EC", token: idp.Token(t, "ec-1", valid(map[string]any{"role": "operator", "customer_id": nil})), ok: true, want: jwtauth.Claims{Subject: "user-1", Role: "operator"}},
		{name: "within the clock skew", token: idp.Token(t, "rsa-1", valid(map[string]any{"exp": now.Add(-10 * time.Second)})), ok: true, want: jwtauth.Claims{Subject: "user-1", Role: "customer", CustomerID: "c-1"}},
		{name: "expired", token: idp.Token(t, "rsa-1", valid(map[string]any{"exp": now.Add(-time.Hour)}))},
		{name: "not yet valid", token: idp.Token(t, "rsa-1", valid(map[string]any{"nbf": now.Add(time.Hour)}))},
		{name: "without exp", token: idp.Token(t, "rsa-1", map[string]any{"sub": "user-1", "role": "operator"})},
		{name: "wrong issuer", token: idp.Token(t, "rsa-1", valid(map[string]any{"iss": "https://evil.test/"}))},
		{name: "wrong audience", token: idp.Token(t, "rsa-1", valid(map[string]any{"aud": "another-api"}))},
		{name: "no role", token: idp.Token(t, "rsa-1", valid(map[string]any{"role": ""}))},
		{name: "signed by another key with the same kid", token: other.Token(t, "rsa-1", valid(nil))},
		{name: "alg none", token: unsigned(`{"alg":"none","kid":"rsa-1"}`, `{"sub":"user-1","role":"operator","iss":"`+idp.Name+`","aud":"`+idp.Audience+`","exp":9999999999}`)},
		{name: "alg none without kid", token: unsigned(`{"alg":"none"}`, `{"sub":"user-1","role":"operator","iss":"`+idp.Name+`","aud":"`+idp.Audience+`","exp":9999999999}`)},
		{name: "HMAC with the public key", token: string(confused)},
		{name: "tampered payload", token: tamper(idp.Token(t, "rsa-1", valid(nil)))},
		{name: "garbage", token: "not.a.jwt"},
		{name: "empty", token: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := v.Verify(t.Context(), tc.token)
			if !tc.ok {
				require.ErrorIs(t, err, jwtauth.ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c)
		})
	}
}

// tamper changes the token's payload and keeps its signature.
func tamper(tok string) string {
	parts := splitDots(tok)
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(string(payload[:len(payload)-1]) + `,"x":1}`)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func TestKeyRotationByKid(t *testing.T) {
	t.Parallel()
	idp := jwttest.NewIssuer(t)
	v := newVerifier(t, idp)
	_, err := v.Verify(t.Context(), idp.Token(t, "rsa-1", valid(nil)))
	require.NoError(t, err)

	// The provider rotates: a new key is published, tokens name it.
	idp.AddKey(t, "rsa-2", "rsa")
	fetches := idp.Fetches()
	_, err = v.Verify(t.Context(), idp.Token(t, "rsa-2", valid(nil)))
	require.NoError(t, err, "an unknown kid fetches the JWKS again")
	assert.Greater(t, idp.Fetches(), fetches)

	// Forged kids do not make every request fetch the JWKS.
	forged := jwttest.NewIssuer(t)
	forged.AddKey(t, "rsa-9", "rsa")
	fetches = idp.Fetches()
	for range 5 {
		_, err = v.Verify(t.Context(), forged.Token(t, "rsa-9", valid(nil)))
		require.ErrorIs(t, err, jwtauth.ErrInvalid)
	}
	assert.LessOrEqual(t, idp.Fetches()-fetches, int64(1), "refetches are rate limited")
}

func TestUnreachableJWKSIsNotAnInvalidToken(t *testing.T) {
	t.Parallel()
	idp := jwttest.NewIssuer(t)
	v, err := jwtauth.New(t.Context(), jwtauth.Config{Issuer: idp.Name, Audience: idp.Audience, JWKSURL: "http://127.0.0.1:1/jwks.json",
		RoleClaim: "role", CustomerClaim: "customer_id", Now: func() time.Time { return now }})
	require.NoError(t, err)
	_, err = v.Verify(t.Context(), idp.Token(t, "rsa-1", valid(nil)))
	require.Error(t, err)
	assert.NotErrorIs(t, err, jwtauth.ErrInvalid, "the keys could not be had: the caller answers 503, not 401")
}

func TestKeysWithoutAlg(t *testing.T) {
	t.Parallel()
	idp := jwttest.NewIssuer(t)
	idp.OmitAlg()
	v := newVerifier(t, idp)
	for _, kid := range []string{"rsa-1", "ec-1"} {
		_, err := v.Verify(t.Context(), idp.Token(t, kid, valid(nil)))
		require.NoError(t, err, "the algorithm is inferred from the key type: %s", kid)
	}
	tok := jwt.New()
	for k, val := range valid(map[string]any{"iss": idp.Name, "aud": idp.Audience}) {
		require.NoError(t, tok.Set(k, val))
	}
	hdr := jws.NewHeaders()
	require.NoError(t, hdr.Set(jws.KeyIDKey, "rsa-1"))
	confused, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), idp.PublicKeyJSON(t, "rsa-1"), jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	_, err = v.Verify(t.Context(), string(confused))
	require.ErrorIs(t, err, jwtauth.ErrInvalid, "never HMAC, even when the key does not say its algorithm")
}
