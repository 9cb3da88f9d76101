package wiring_test

import (
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

	assert.Equal(t, time.Second, cfg.OutboxRelayInterval)
	assert.Equal(t, 2*time.Second, cfg.OutboxRelayAfter)
	assert.Equal(t, 30*time.Second, cfg.SagaStuckAfter, "the sweeper is on by default")
	assert.Equal(t, 5*time.Second, cfg.SagaSweepInterval)
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
		{"relay off", func(c *wiring.Config) { c.OutboxRelayInterval = 0 }, true},
		{"relay without grace period", func(c *wiring.Config) { c.OutboxRelayAfter = 0 }, true},
		{"negative relay interval", func(c *wiring.Config) { c.OutboxRelayInterval = -time.Second }, false},
		{"negative relay grace period", func(c *wiring.Config) { c.OutboxRelayAfter = -time.Second }, false},
		{"sweeper off", func(c *wiring.Config) { c.SagaStuckAfter, c.SagaSweepInterval = 0, 0 }, true},
		{"negative stuck-after", func(c *wiring.Config) { c.SagaStuckAfter = -time.Second }, false},
		{"sweeper on without interval", func(c *wiring.Config) { c.SagaSweepInterval = 0 }, false},
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
