package wiring_test

import (
	"strings"
	"testing"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
)

func TestConfig_relayAndSweeperDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := env.ParseAsWithOptions[wiring.Config](env.Options{Environment: map[string]string{}})
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())

	assert.Equal(t, time.Second, cfg.Process.OutboxRelayInterval)
	assert.Equal(t, 2*time.Second, cfg.Process.OutboxRelayAfter)
	assert.Equal(t, 30*time.Second, cfg.Orders.SagaStuckAfter, "the sweeper is on by default")
	assert.Equal(t, 5*time.Second, cfg.Orders.SagaSweepInterval)
}

func TestConfig_relayAndSweeperValidation(t *testing.T) {
	t.Parallel()
	valid, err := env.ParseAsWithOptions[wiring.Config](env.Options{Environment: map[string]string{}})
	require.NoError(t, err)
	tests := []struct {
		name   string
		change func(c *wiring.Config)
		ok     bool
	}{
		{"the defaults", func(*wiring.Config) {}, true},
		{"relay off", func(c *wiring.Config) { c.Process.OutboxRelayInterval = 0 }, true},
		{"relay without grace period", func(c *wiring.Config) { c.Process.OutboxRelayAfter = 0 }, true},
		{"negative relay interval", func(c *wiring.Config) { c.Process.OutboxRelayInterval = -time.Second }, false},
		{"negative relay grace period", func(c *wiring.Config) { c.Process.OutboxRelayAfter = -time.Second }, false},
		{"sweeper off", func(c *wiring.Config) { c.Orders.SagaStuckAfter, c.Orders.SagaSweepInterval = 0, 0 }, true},
		{"negative stuck-after", func(c *wiring.Config) { c.Orders.SagaStuckAfter = -time.Second }, false},
		{"sweeper on without interval", func(c *wiring.Config) { c.Orders.SagaSweepInterval = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tt.change(&cfg)
			err := cfg.Validate()
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
		})
	}
}

// MONGODB_URI and MONGODB_DATABASE_PREFIX, checked without a MongoDB.
func TestConfig_MongoDB(t *testing.T) {
	t.Parallel()
	valid := wiring.Config{
		Process:  wiring.ProcessConfig{ShutdownTimeout: time.Second},
		Gateway:  wiring.GatewayConfig{RequestTimeout: time.Second},
		Delivery: wiring.DeliveryConfig{Courier: "manual", CourierDispatchAfter: time.Second, CourierDeliverAfter: time.Second},
	}
	tests := []struct {
		name   string
		uri    string
		prefix string
		ok     bool
	}{
		{"in memory", "", "orderflow_", true},
		{"mongodb", "mongodb://db:27017/", "orderflow_", true},
		{"srv", "mongodb+srv://app:pw@cluster0.example.net/", "orderflow_", true},
		{"no prefix", "mongodb://db:27017/", "", true},
		{"not a MongoDB URI", "http://app:pw@db:27017/", "orderflow_", false},
		{"a dot in the prefix", "mongodb://db:27017/", "order.flow_", false},
		{"a slash in the prefix", "mongodb://db:27017/", "a/b", false},
		{"a prefix too long for a database name", "mongodb://db:27017/", strings.Repeat("p", 55), false},
		{"the longest prefix", "mongodb://db:27017/", strings.Repeat("p", 54), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			cfg.Process.MongoDBURI, cfg.Process.MongoDBDatabasePrefix = tt.uri, tt.prefix
			err := cfg.Validate()
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "pw", "the URI's credentials must not be echoed")
		})
	}
}

// A service's main exits 1 with the reason on stderr when its configuration is
// bad, before it starts anything.
func TestMain_badConfigurationExitsOne(t *testing.T) {
	t.Setenv("LOG_LEVEL", "loud")
	var stderr strings.Builder
	assert.Equal(t, 1, wiring.Main("orders", nil, &stderr))
	assert.Contains(t, stderr.String(), "orders: ")
	assert.Contains(t, stderr.String(), "LOG_LEVEL")
}
