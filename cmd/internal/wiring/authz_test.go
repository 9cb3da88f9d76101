package wiring_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/messages"
)

// TestRefusedCallsPublishNothing runs the refused cells of the authorization
// matrix against the real system and checks, on the recorded publisher, that
// none of them published anything but the lookup of an order's owner.
func TestRefusedCallsPublishNothing(t *testing.T) {
	t.Parallel()
	const tokenB = "customer-b-token-0001"
	h := start(t, withConfig(func(c *wiring.Config) { c.Gateway.APIKeys = wiring.DemoAPIKeys + "," + tokenB + "=customer:c-2" }))
	h.SetStock("SKU-Z", 10)
	id := h.PlaceOrder(wiring.DemoCustomer, []messages.Item{item("SKU-Z", 1)})
	h.WaitShipment(id, messages.ShipmentStatusScheduled)

	var (
		none    = []string{"Authorization", ""}
		bad     = []string{"Authorization", "Bearer not-a-key-of-this-api"}
		custA   = []string{"Authorization", "Bearer " + wiring.DemoCustomerKey}
		custB   = []string{"Authorization", "Bearer " + tokenB}
		courier = []string{"Authorization", "Bearer " + wiring.DemoCourierKey}
	)
	placeForA := map[string]any{"customer_id": wiring.DemoCustomer, "items": []messages.Item{item("SKU-Z", 1)}}
	routes := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/orders", placeForA},
		{http.MethodGet, "/orders", nil},
		{http.MethodGet, "/orders/" + id, nil},
		{http.MethodPost, "/orders/" + id + "/cancel", nil},
		{http.MethodGet, "/orders/" + id + "/delivery", nil},
		{http.MethodGet, "/inventory", nil},
		{http.MethodGet, "/inventory/SKU-Z", nil},
		{http.MethodPut, "/inventory/SKU-Z", map[string]int{"on_hand": 0}},
		{http.MethodPost, "/deliveries/" + id + "/dispatch", nil},
		{http.MethodPost, "/deliveries/" + id + "/deliver", nil},
		{http.MethodPost, "/deliveries/" + id + "/fail", map[string]string{"reason": "attacker says nobody home"}},
	}
	type cell struct {
		who    string
		header []string
		method string
		path   string
		body   any
		want   int
	}
	var cells []cell
	for _, r := range routes {
		cells = append(cells, cell{"no token", none, r.method, r.path, r.body, http.StatusUnauthorized},
			cell{"bad token", bad, r.method, r.path, r.body, http.StatusUnauthorized})
	}
	cells = append(cells,
		cell{"customer B", custB, http.MethodPost, "/orders", placeForA, http.StatusForbidden},
		cell{"customer B", custB, http.MethodGet, "/orders?customer_id=" + wiring.DemoCustomer, nil, http.StatusForbidden},
		cell{"customer B", custB, http.MethodGet, "/orders/" + id, nil, http.StatusNotFound},
		cell{"customer B", custB, http.MethodPost, "/orders/" + id + "/cancel", nil, http.StatusNotFound},
		cell{"customer B", custB, http.MethodGet, "/orders/" + id + "/delivery", nil, http.StatusNotFound},
		cell{"customer B", custB, http.MethodPut, "/inventory/SKU-Z", map[string]int{"on_hand": 0}, http.StatusForbidden},
		cell{"customer A", custA, http.MethodPut, "/inventory/SKU-Z", map[string]int{"on_hand": 0}, http.StatusForbidden},
		cell{"customer A", custA, http.MethodPost, "/deliveries/" + id + "/fail", map[string]string{"reason": "x"}, http.StatusForbidden},
		cell{"courier", courier, http.MethodGet, "/orders", nil, http.StatusForbidden},
		cell{"courier", courier, http.MethodGet, "/orders/" + id, nil, http.StatusForbidden},
		cell{"courier", courier, http.MethodPost, "/orders", placeForA, http.StatusForbidden},
		cell{"courier", courier, http.MethodPost, "/orders/" + id + "/cancel", nil, http.StatusForbidden},
		cell{"courier", courier, http.MethodPut, "/inventory/SKU-Z", map[string]int{"on_hand": 0}, http.StatusForbidden},
	)
	for _, c := range cells {
		before := len(h.Rec.All())
		status, _, body := h.Do(c.method, c.path, c.body, c.header...)
		require.Equal(t, c.want, status, "%s %s %s: %s", c.who, c.method, c.path, body)
		for _, r := range h.Rec.All()[before:] {
			// The stock levels are the inventory's loop's, of changes made before.
			// Even the lookup of the order is none: it is a query of the view.
			assert.Equal(t, "StockLevelChanged", r.Msg.Metadata.Get("name"), "%s %s %s published %s on %s", c.who, c.method, c.path, r.Msg.Metadata.Get("name"), r.Topic)
		}
	}
	o, _ := h.Order(id)
	assert.Equal(t, messages.OrderStatusConfirmed, o.Status, "no refused call moved the order")
	// The level of the order's hold reaches the view with the next round of
	// stock levels; no refused call changed it after that.
	h.WaitStock("SKU-Z", messages.StockLevel{OnHand: 10, Reserved: 1, Available: 9})
}
