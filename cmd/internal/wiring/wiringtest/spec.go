package wiringtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/handlers/httpapi"
)

// specRouter finds the operation of a request in openapi.yaml, as the gateway serves it.
var specRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPISpec())
	if err != nil {
		return nil, err
	}
	return gorillamux.NewRouter(doc)
})

// CheckAgainstSpec fails the test when a response of the running system does
// not match openapi.yaml: an undocumented status, a missing header, a body off
// its schema. Paths the document does not have are left to the handler tests.
func CheckAgainstSpec(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	router, err := specRouter()
	require.NoError(t, err)
	route, params, err := router.FindRoute(req)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		return
	}
	require.NoError(t, err)
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	require.NoError(t, err, "the answer to %s %s does not match openapi.yaml: %d %s", req.Method, req.URL.RequestURI(), status, body)
}
