package inventory_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/messages"
)

func TestStockChangesRecordWhoMadeThem(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := messages.WithCorrelationID(t.Context(), "corr-7")

	_, err := f.svc.SetStock(ctx, "A", 10, "operator:key-1a2b3c4d")
	require.NoError(t, err)
	_, err = f.svc.SetStock(ctx, "A", 10, "operator:key-99999999")
	require.NoError(t, err)
	_, err = f.svc.SetStock(t.Context(), "A", 3, "operator:jwt:ops-1")
	require.NoError(t, err)

	h := f.product(t, "A").History
	require.Len(t, h, 2, "setting what is there records nothing")
	assert.Equal(t, inventory.StockChange{At: h[0].At, OnHand: 10, By: "operator:key-1a2b3c4d", CorrelationID: "corr-7"}, h[0])
	assert.Equal(t, 3, h[1].OnHand)
	assert.Equal(t, "operator:jwt:ops-1", h[1].By)

	require.NoError(t, f.svc.SeedStock(t.Context(), map[string]int{"B": 5}))
	assert.Equal(t, "seed", f.product(t, "B").History[0].By)
}

func TestStockHistoryIsBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for i := range inventory.MaxStockHistory + 10 {
		_, err := f.svc.SetStock(t.Context(), "A", i+1, fmt.Sprintf("operator:%d", i))
		require.NoError(t, err)
	}
	h := f.product(t, "A").History
	require.Len(t, h, inventory.MaxStockHistory)
	assert.Equal(t, "operator:10", h[0].By, "the oldest changes go first")
	assert.Equal(t, inventory.MaxStockHistory+10, h[len(h)-1].OnHand)
}
