package httpapi_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBodiesMustBeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType string
		want              int
	}{
		{"text/plain, a browser's simple POST", "text/plain", http.StatusUnsupportedMediaType},
		{"a form", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"multipart", "multipart/form-data; boundary=x", http.StatusUnsupportedMediaType},
		{"no content type", "-", http.StatusUnsupportedMediaType},
		{"garbage", "json", http.StatusUnsupportedMediaType},
		{"application/json", "application/json", http.StatusAccepted},
		{"with a charset", "application/json; charset=utf-8", http.StatusAccepted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), nil)
			req := newHTTPRequest(t, s.srv.URL, request{Method: http.MethodPost, Path: "/orders", Body: validOrder})
			if tc.contentType == "-" {
				req.Header.Del("Content-Type")
			} else {
				req.Header.Set("Content-Type", tc.contentType)
			}
			res, err := s.srv.Client().Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(res.Body)
			require.NoError(t, res.Body.Close())
			require.Equal(t, tc.want, res.StatusCode, "body: %s", body)
			if tc.want == http.StatusUnsupportedMediaType {
				assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
				assert.Empty(t, s.fake.Sent(), "a refused request sends nothing")
			}
		})
	}
	t.Run("spec", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, newFakeRequester(), nil)
		res := s.do(t, request{Method: http.MethodPut, Path: "/inventory/SKU-1", Body: `{"on_hand":1}`, Header: map[string]string{"Content-Type": "text/plain"}})
		require.Equal(t, http.StatusUnsupportedMediaType, res.Status)
		res.problem(t)
	})
}

func TestInvalidUTF8IsRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body, field string
	}{
		{"customer_id", http.MethodPost, "/orders", "{\"customer_id\":\"c-\xff1\",\"items\":[{\"sku\":\"SKU-1\",\"quantity\":1}]}", "customer_id"},
		{"an item's sku", http.MethodPost, "/orders", "{\"customer_id\":\"c-1\",\"items\":[{\"sku\":\"SKU-1\",\"quantity\":1},{\"sku\":\"S\xc3\",\"quantity\":1}]}", "items[1].sku"},
		{"a key", http.MethodPost, "/orders", "{\"customer_id\":\"c-1\",\"\xfe\":1}", "body"},
		{"cancel reason", http.MethodPost, "/orders/o-1/cancel", "{\"reason\":\"late\xed\xa0\x80\"}", "reason"},
		{"fail reason", http.MethodPost, "/deliveries/o-1/fail", "{\"reason\":\"\xff\"}", "reason"},
		{"outside any string", http.MethodPut, "/inventory/SKU-1", "{\"on_hand\":1\xff}", "body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), nil)
			res := s.do(t, request{Method: tc.method, Path: tc.path, Body: tc.body})
			require.Equal(t, http.StatusBadRequest, res.Status, "body: %s", res.Body)
			p := res.problem(t)
			assert.Equal(t, []string{tc.field}, p.fields())
			assert.Contains(t, p.Detail, "UTF-8")
			assert.Empty(t, s.fake.Sent(), "a refused request sends nothing")
		})
	}
}

func TestBodiesMustBeObjects(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/orders/o-1/cancel", "/deliveries/o-1/dispatch", "/deliveries/o-1/deliver", "/deliveries/o-1/fail", "/orders"} {
		for _, body := range []string{"null", "[]", `"x"`, "1", "true"} {
			t.Run(path+" "+body, func(t *testing.T) {
				t.Parallel()
				s := newServer(t, newFakeRequester(), nil)
				res := s.do(t, request{Method: http.MethodPost, Path: path, Body: body})
				require.Equal(t, http.StatusBadRequest, res.Status, "body: %s", res.Body)
				assert.Equal(t, []string{"body"}, res.problem(t).fields())
				assert.Empty(t, s.fake.Sent())
			})
		}
	}
}

func TestHeadWhereverGet(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/orders", "/orders/o-1", "/orders/o-1/delivery", "/inventory", "/inventory/SKU-1", "/healthz", "/readyz", "/openapi.yaml"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), nil)
			get := newHTTPRequest(t, s.srv.URL, request{Method: http.MethodGet, Path: path})
			head := newHTTPRequest(t, s.srv.URL, request{Method: http.MethodHead, Path: path})
			gres, err := s.srv.Client().Do(get)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, gres.Body)
			require.NoError(t, gres.Body.Close())
			hres, err := s.srv.Client().Do(head)
			require.NoError(t, err)
			body, err := io.ReadAll(hres.Body)
			require.NoError(t, err)
			require.NoError(t, hres.Body.Close())
			assert.Equal(t, http.StatusOK, hres.StatusCode)
			assert.Equal(t, gres.StatusCode, hres.StatusCode)
			assert.Equal(t, gres.Header.Get("Content-Type"), hres.Header.Get("Content-Type"))
			assert.Empty(t, body)
		})
	}
	t.Run("needs a token like GET", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, newFakeRequester(), nil)
		head := newHTTPRequest(t, s.srv.URL, request{Method: http.MethodHead, Path: "/orders", Header: map[string]string{"Authorization": ""}})
		res, err := s.srv.Client().Do(head)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
		assert.Empty(t, s.fake.Sent())
	})
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	s := newServer(t, newFakeRequester(), nil)
	for _, req := range []request{
		{Method: http.MethodGet, Path: "/orders/o-1"},
		{Method: http.MethodGet, Path: "/orders/o-1", Header: map[string]string{"Authorization": ""}},
		{Method: http.MethodPost, Path: "/orders", Body: `{`},
		{Method: http.MethodGet, Path: "/nowhere"},
		{Method: http.MethodGet, Path: "/healthz"},
	} {
		res := s.do(t, req)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), "%s %s", req.Method, req.Path)
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), "%s %s", req.Method, req.Path)
	}
}
