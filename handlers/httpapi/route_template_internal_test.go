package httpapi

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every route of the API's table gets its own template, whichever method it
// is asked with, so that a new route needs no second edit for its metrics.
func TestRouteTemplateOfEveryRoute(t *testing.T) {
	t.Parallel()
	variable := regexp.MustCompile(`\{[^}]+\}`)
	var templates []string
	err := (&api{}).routes().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		template, err := route.GetPathTemplate()
		require.NoError(t, err)
		methods, err := route.GetMethods()
		require.NoError(t, err)
		path := variable.ReplaceAllString(template, "x-1")
		for _, method := range append(methods, http.MethodPatch) {
			got, ok := RouteTemplate(httptest.NewRequest(method, path, nil))
			assert.True(t, ok, "%s %s", method, path)
			assert.Equal(t, template, got, "%s %s", method, path)
		}
		templates = append(templates, template)
		return nil
	})
	require.NoError(t, err)
	// The walk saw the table: the test cannot pass on an empty one.
	assert.Contains(t, templates, "/orders/{id}/cancel")
	assert.Contains(t, templates, "/admin/poison/{id}/requeue")
}

func TestRouteTemplateOfAPathNotServed(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/", "/nope", "/orders/", "/orders/x-1/refund", "/orders/x-1/cancel/again", "/ui/login", "/metrics"} {
		got, ok := RouteTemplate(httptest.NewRequest(http.MethodGet, path, nil))
		assert.False(t, ok, path)
		assert.Empty(t, got, path)
	}
}
