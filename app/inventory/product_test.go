package inventory_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/messages"
)

var t0 = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

// stocked returns an existing product with onHand units and nothing held.
func stocked(t *testing.T, onHand int) inventory.Product {
	t.Helper()
	p := inventory.Product{SKU: "SKU-1"}
	require.NoError(t, p.SetOnHand(onHand, t0))
	require.False(t, p.IsNew())
	return p
}

func TestProduct_Hold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		onHand       int
		held         map[string]int // holds placed before
		order        string
		qty          int
		wantErr      error
		wantReserved int
	}{
		{"some of the stock", 10, nil, "order-1", 3, nil, 3},
		{"all of the stock", 10, nil, "order-1", 10, nil, 10},
		{"all that is left", 10, map[string]int{"order-0": 4}, "order-1", 6, nil, 10},
		{"more than the stock", 10, nil, "order-1", 11, inventory.ErrInsufficientStock, 0},
		{"more than is left", 10, map[string]int{"order-0": 4}, "order-1", 7, inventory.ErrInsufficientStock, 4},
		{"from an empty product", 0, nil, "order-1", 1, inventory.ErrInsufficientStock, 0},
		{"again for the same order counts once", 10, map[string]int{"order-1": 3}, "order-1", 3, nil, 3},
		{"again for the same order with another quantity counts once", 10, map[string]int{"order-1": 3}, "order-1", 5, nil, 3},
		{"again for an order holding everything", 10, map[string]int{"order-1": 10}, "order-1", 10, nil, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := stocked(t, tt.onHand)
			for order, qty := range tt.held {
				require.NoError(t, p.Hold(order, qty, t0))
			}
			before := p.Clone()
			now := t0.Add(time.Hour)

			err := p.Hold(tt.order, tt.qty, now)

			assert.Equal(t, tt.wantReserved, p.Reserved)
			assert.Equal(t, tt.onHand-tt.wantReserved, p.Available())
			assertConsistent(t, p)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Equal(t, before, p, "a refused hold changes nothing")
				return
			}
			require.NoError(t, err)
			if tt.wantReserved == before.Reserved {
				assert.Equal(t, before, p, "a repeated hold changes nothing")
				return
			}
			assert.Equal(t, tt.qty, p.Holds[tt.order])
			assert.Equal(t, before.Revision+1, p.Revision)
			assert.Equal(t, now, p.UpdatedAt)
		})
	}
}

func TestProduct_ReleaseAndCommitAreIdempotentPerOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		act          func(p *inventory.Product, order string)
		wantOnHand   int
		wantReserved int
	}{
		{"release", func(p *inventory.Product, order string) { p.Release(order, t0.Add(time.Hour)) }, 10, 4},
		{"commit", func(p *inventory.Product, order string) { p.Commit(order, t0.Add(time.Hour)) }, 7, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := stocked(t, 10)
			require.NoError(t, p.Hold("order-1", 3, t0))
			require.NoError(t, p.Hold("order-2", 4, t0))
			rev := p.Revision

			tt.act(&p, "order-1")

			assert.Equal(t, tt.wantOnHand, p.OnHand)
			assert.Equal(t, tt.wantReserved, p.Reserved)
			assert.Equal(t, map[string]int{"order-2": 4}, p.Holds)
			assert.Equal(t, rev+1, p.Revision)
			assert.Equal(t, t0.Add(time.Hour), p.UpdatedAt)
			assertConsistent(t, p)

			after := p.Clone()
			tt.act(&p, "order-1")
			tt.act(&p, "order-never-held")
			assert.Equal(t, after, p, "a repeated %s, or one for an order that holds nothing, changes nothing", tt.name)
		})
	}
}

func TestProduct_SetOnHand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		reserved int
		set      int
		wantErr  error
	}{
		{"more", 4, 20, nil},
		{"less, above the reserved", 4, 5, nil},
		{"down to the reserved", 4, 4, nil},
		{"to zero with nothing reserved", 0, 0, nil},
		{"the maximum", 0, messages.MaxOnHand, nil},
		{"below the reserved", 4, 3, inventory.ErrBelowReserved},
		{"to zero with something reserved", 1, 0, inventory.ErrBelowReserved},
		{"negative", 0, -1, inventory.ErrInvalidStock},
		{"above the maximum", 0, messages.MaxOnHand + 1, inventory.ErrInvalidStock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := stocked(t, 10)
			if tt.reserved > 0 {
				require.NoError(t, p.Hold("order-1", tt.reserved, t0))
			}
			before := p.Clone()

			err := p.SetOnHand(tt.set, t0.Add(time.Hour))

			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Equal(t, before, p)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.set, p.OnHand)
			assert.Equal(t, tt.reserved, p.Reserved)
			assert.GreaterOrEqual(t, p.Available(), 0)
			assert.Equal(t, before.Revision+1, p.Revision)
		})
	}
}

func TestProduct_SetOnHand_invalidIsPoison(t *testing.T) {
	t.Parallel()
	p := stocked(t, 10)
	assert.ErrorIs(t, p.SetOnHand(-1, t0), messages.ErrInvalid)
}

func TestProduct_SetOnHand_unchangedIsNoChange(t *testing.T) {
	t.Parallel()
	p := stocked(t, 10)
	before := p.Clone()

	require.NoError(t, p.SetOnHand(10, t0.Add(time.Hour)))

	assert.Equal(t, before, p)
}

func TestProduct_SetOnHand_createsAProductWithNoStock(t *testing.T) {
	t.Parallel()
	p := inventory.Product{SKU: "SKU-1"}

	require.NoError(t, p.SetOnHand(0, t0))

	assert.False(t, p.IsNew(), "a SKU set to zero exists")
	assert.Equal(t, 0, p.Available())
}

// After any sequence of holds, releases, commits and stock changes, Reserved is
// the sum of the holds and Available never goes below zero.
func TestProduct_invariantsHoldAfterAnySequence(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 2025))
			p := stocked(t, 50)
			order := func() string { return fmt.Sprintf("order-%d", rng.IntN(8)) }
			for step := range 500 {
				now := t0.Add(time.Duration(step) * time.Second)
				before := p.Clone()
				var err error
				var op string
				switch rng.IntN(4) {
				case 0:
					o, qty := order(), 1+rng.IntN(20)
					op = fmt.Sprintf("Hold(%s, %d)", o, qty)
					err = p.Hold(o, qty, now)
					if err != nil {
						require.ErrorIs(t, err, inventory.ErrInsufficientStock, op)
						require.Greater(t, qty, before.Available(), op)
					}
				case 1:
					o := order()
					op = fmt.Sprintf("Release(%s)", o)
					p.Release(o, now)
				case 2:
					o := order()
					op = fmt.Sprintf("Commit(%s)", o)
					p.Commit(o, now)
					require.Equal(t, before.OnHand-before.Holds[o], p.OnHand, op)
				case 3:
					n := rng.IntN(80)
					op = fmt.Sprintf("SetOnHand(%d)", n)
					err = p.SetOnHand(n, now)
					if err != nil {
						require.ErrorIs(t, err, inventory.ErrBelowReserved, op)
						require.Less(t, n, before.Reserved, op)
					}
				}
				if err != nil {
					require.Equal(t, before, p, "refused %s changed the product", op)
				}
				if !assertConsistent(t, p) {
					t.Fatalf("after step %d, %s", step, op)
				}
			}
		})
	}
}

// assertConsistent checks Reserved == sum of Holds, and that no count is negative.
func assertConsistent(t *testing.T, p inventory.Product) bool {
	t.Helper()
	sum := 0
	for _, q := range p.Holds {
		sum += q
	}
	return assert.Equal(t, sum, p.Reserved, "Reserved is the sum of the holds") &&
		assert.GreaterOrEqual(t, p.Available(), 0, "Available") &&
		assert.GreaterOrEqual(t, p.Reserved, 0, "Reserved")
}

func TestProduct_CloneIsDeep(t *testing.T) {
	t.Parallel()
	p := stocked(t, 10)
	require.NoError(t, p.Hold("order-1", 3, t0))
	want := p.Clone()

	c := p.Clone()
	c.Holds["order-1"] = 9
	c.Holds["order-2"] = 1

	assert.Equal(t, want, p)
}

func TestProduct_Level(t *testing.T) {
	t.Parallel()
	p := stocked(t, 10)
	require.NoError(t, p.Hold("order-1", 3, t0))

	assert.Equal(t, messages.StockLevel{SKU: "SKU-1", OnHand: 10, Reserved: 3, Available: 7, Revision: p.Revision}, p.Level())
	assert.Equal(t, int64(2), p.Revision, "set, then held")
}

func TestProduct_HoldRefusedForLackOfStockSaysWhatIsAvailable(t *testing.T) {
	t.Parallel()
	p := stocked(t, 10)
	require.NoError(t, p.Hold("order-0", 4, t0))

	err := p.Hold("order-1", 7, t0)

	var short *inventory.InsufficientStockError
	require.ErrorAs(t, err, &short)
	assert.Equal(t, inventory.InsufficientStockError{SKU: "SKU-1", Requested: 7, Available: 6}, *short)
	require.ErrorIs(t, err, inventory.ErrInsufficientStock)
}

func TestProduct_HoldInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		orderID string
		qty     int
	}{
		{"no order id", "", 1},
		{"order id with a dot", "a.b", 1},
		{"order id with a dollar", "$a", 1},
		{"order id too long", strings.Repeat("a", inventory.MaxOrderIDLength+1), 1},
		{"quantity 0", "order-1", 0},
		{"negative quantity", "order-1", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := stocked(t, 10)
			before := p.Clone()

			err := p.Hold(tt.orderID, tt.qty, t0.Add(time.Hour))

			require.ErrorIs(t, err, inventory.ErrInvalidStock)
			require.ErrorIs(t, err, messages.ErrInvalid)
			assert.Equal(t, before, p)
		})
	}
}

func TestValidOrderID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want bool
	}{
		{"0b7e9c1e-3f0a-4c59-9d1a-6f2f1c3a9b10", true},
		{"order_1-A", true},
		{"7", true},
		{strings.Repeat("a", inventory.MaxOrderIDLength), true},
		{"", false},
		{strings.Repeat("a", inventory.MaxOrderIDLength+1), false},
		{"a.b", false},
		{"$a", false},
		{"a b", false},
		{"ordér", false},
		{"a\x00", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, inventory.ValidOrderID(tt.id), "%q", tt.id)
		if tt.want {
			assert.NoError(t, inventory.ValidateOrderID(tt.id), "%q", tt.id)
		} else {
			assert.ErrorIs(t, inventory.ValidateOrderID(tt.id), messages.ErrInvalid, "%q", tt.id)
		}
	}
}
