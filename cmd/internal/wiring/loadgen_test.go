package wiring_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/load"
	"github.com/orderflow/orderflow/cmd/internal/wiring"
)

// The load generator against the whole system in-process: what it counts is
// what the system did, to the unit of stock.
func TestLoadGenerator_againstTheSystem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*load.Config)
	}{
		{"closed model with cancellations", func(c *load.Config) { c.Clients, c.CancelShare = 8, 0.3 }},
		{"open model, two lines per order", func(c *load.Config) {
			c.Model, c.Rate, c.Items = load.ModelOpen, 200, 2
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t)
			const stock = 100_000
			cfg := load.DefaultConfig()
			cfg.URL, cfg.Token, cfg.Progress = h.URL, wiring.DemoOperatorKey, 0
			cfg.Duration, cfg.SKUs, cfg.Stock = 300*time.Millisecond, "4", stock
			tc.change(&cfg)
			res, err := load.Run(t.Context(), cfg, nil)
			require.NoError(t, err)

			require.Positive(t, res.Placed)
			assert.Empty(t, res.Errors)
			assert.Equal(t, res.Sent, res.Placed)
			assert.Equal(t, res.Placed, res.Confirmed+res.Cancelled+res.CancelRefused, "every order confirmed or cancelled; none rejected: %+v", res)
			assert.Equal(t, res.Confirmed, res.Latency["post_to_confirmed"].Count)
			if cfg.Model == load.ModelOpen {
				assert.Equal(t, int64(60), res.Sent, "200/s for 300 ms")
			}
			// The stock reserved is the units of the orders it saw CONFIRMED
			// (cancelled ones released theirs), once the cancellations are through.
			skus, err := cfg.SKUList()
			require.NoError(t, err)
			want := int(res.Confirmed) * cfg.Items * cfg.Quantity
			require.Eventually(t, func() bool {
				reserved := 0
				for _, sku := range skus {
					l := h.Stock(sku)
					reserved += l.Reserved
				}
				return reserved == want
			}, h.Within, 5*time.Millisecond, "%d units reserved, the generator saw %d", want, res.Confirmed)
			for _, sku := range skus {
				assert.Equal(t, stock, h.Stock(sku).OnHand, fmt.Sprintf("%s: set first by the generator", sku))
			}
		})
	}
}
