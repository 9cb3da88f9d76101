//go:build integration

package mongo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/app/orders"
	mongostore "github.com/orderflow/orderflow/infra/mongo"
)

// An Update writes first on a guess of what is stored (what this repository
// last read or wrote, else nothing) and reads only when the guess fails. Two
// repositories on one database stand for two processes: each one's guess goes
// stale when the other writes, and then it must decide on what is stored.
func TestUpdateWritesOnAGuessOnlyWhenTheGuessIsWhatIsStored(t *testing.T) {
	t.Parallel()
	db, counted, counter := countedDatabase(t)
	mine := mongostore.NewOrderRepository(counted)
	theirs := mongostore.NewOrderRepository(db)
	ctx := t.Context()
	now := time.Now()
	errNo := errors.New("a business no")

	// commands runs an update on mine and returns the commands it sent.
	commands := func(fn func(*orders.Order) error) (orders.Order, map[string]int64, error) {
		before := counter.Snapshot()
		o, err := mine.Update(ctx, "order-1", fn)
		got := map[string]int64{}
		for k, n := range counter.Since(before) {
			got[k.Command] += n
		}
		return o, got, err
	}

	// A new order: inserted without a read.
	o, cmds, err := commands(func(o *orders.Order) error {
		return o.Place("cust", []orders.Item{{SKU: "SKU-1", Quantity: 1}}, now, "corr")
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"insert": 1}, cmds, "placing a new order")
	assert.Equal(t, int64(1), o.Revision)

	// The next change, on what it wrote: one replace, no read.
	o, cmds, err = commands(func(o *orders.Order) error { o.MarkPublished(len(o.History)); return nil })
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"update": 1}, cmds, "a change of what this repository wrote last")
	assert.Equal(t, int64(2), o.Revision)

	// A change that changes nothing on the guess writes nothing: the answer
	// comes from a read.
	var sawNew []bool
	_, cmds, err = commands(func(o *orders.Order) error { sawNew = append(sawNew, o.IsNew()); return nil })
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"find": 1}, cmds, "no change on the guess: decided on a read")
	assert.Equal(t, []bool{false, false}, sawNew)

	// A repository that remembers nothing of it (another process, a restart)
	// guesses there is none: the insert fails on the duplicate _id, and the
	// placing runs again on the read order (a redelivered PlaceOrder).
	restarted := mongostore.NewOrderRepository(counted)
	sawNew = nil
	before := counter.Snapshot()
	o, err = restarted.Update(ctx, "order-1", func(o *orders.Order) error {
		sawNew = append(sawNew, o.IsNew())
		if o.IsNew() {
			return o.Place("cust", []orders.Item{{SKU: "SKU-1", Quantity: 1}}, now, "corr")
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false}, sawNew)
	assert.Equal(t, int64(2), o.Revision, "the stored order, unchanged")
	assert.Len(t, counter.Since(before), 2, "an insert that fails, then a read")

	// Another process changes it: the guess is stale; the replace matches
	// nothing, and fn runs again on what the other one stored.
	_, err = theirs.Update(ctx, "order-1", func(o *orders.Order) error { o.Confirm(now, "corr-2"); return nil })
	require.NoError(t, err)
	var seen []orders.Status
	o, cmds, err = commands(func(o *orders.Order) error {
		seen = append(seen, o.Status)
		o.MarkShipmentScheduled()
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"update": 2, "find": 1}, cmds, "a stale guess: a wasted replace, a read, a replace")
	assert.Equal(t, []orders.Status{orders.StatusPending, orders.StatusConfirmed}, seen)
	assert.Equal(t, orders.StatusConfirmed, o.Status)
	assert.True(t, o.ShipmentScheduled)
	stored, err := theirs.Get(ctx, "order-1")
	require.NoError(t, err)
	assert.Equal(t, o, stored, "what Update returns is what is stored")

	// A "no" on the guess is never the answer: it is asked again on a read.
	_, err = theirs.Update(ctx, "order-1", func(o *orders.Order) error { o.MarkStockSettled(); return nil })
	require.NoError(t, err)
	var settled []bool
	_, cmds, err = commands(func(o *orders.Order) error {
		settled = append(settled, o.StockSettled)
		if !o.StockSettled {
			return errNo
		}
		return nil
	})
	require.NoError(t, err, "the stored order is settled: no error")
	assert.Equal(t, []bool{false, true}, settled)
	assert.Equal(t, map[string]int64{"find": 1}, cmds)
}

// Settling a hold this repository placed needs no read of it: the update is
// conditioned on the quantity it held. Settled elsewhere meanwhile, the update
// matches nothing and the read finds no hold: no change, counted once.
func TestSettleKnowsTheHoldsItPlaced(t *testing.T) {
	t.Parallel()
	db, counted, counter := countedDatabase(t)
	mine := mongostore.NewProductRepository(counted)
	theirs := mongostore.NewProductRepository(db)
	ctx := t.Context()
	now := time.Now()
	_, err := theirs.Update(ctx, "SKU-1", func(p *inventory.Product) error { return p.SetOnHand(10, now) })
	require.NoError(t, err)
	commands := func(do func() error) map[string]int64 {
		before := counter.Snapshot()
		require.NoError(t, do())
		got := map[string]int64{}
		for k, n := range counter.Since(before) {
			got[k.Command] += n
		}
		return got
	}

	assert.Equal(t, map[string]int64{"update": 1}, commands(func() error { return mine.Hold(ctx, "SKU-1", "order-1", 3, now) }))
	assert.Equal(t, map[string]int64{"update": 1}, commands(func() error { return mine.Commit(ctx, "SKU-1", "order-1", now) }), "a known hold: no read")

	require.NoError(t, mine.Hold(ctx, "SKU-1", "order-2", 2, now))
	require.NoError(t, theirs.Release(ctx, "SKU-1", "order-2", now))
	assert.Equal(t, map[string]int64{"update": 1, "find": 1}, commands(func() error { return mine.Commit(ctx, "SKU-1", "order-2", now) }),
		"settled elsewhere: the update misses, the read finds no hold")

	p, err := theirs.Get(ctx, "SKU-1")
	require.NoError(t, err)
	assert.Equal(t, []int{7, 0, 7}, []int{p.OnHand, p.Reserved, p.Available()}, "on hand, reserved, available: committed 3 once, released 2, committed nothing more")
	assert.Empty(t, p.Holds)
}
