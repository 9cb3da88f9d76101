package orders_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/messages"
)

var t0 = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

func items(n int) []orders.Item {
	out := make([]orders.Item, n)
	for i := range out {
		out[i] = orders.Item{SKU: fmt.Sprintf("SKU-%03d", i), Quantity: 1}
	}
	return out
}

func TestOrder_Place(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		customerID string
		items      []orders.Item
		valid      bool
	}{
		{"one item", "cust-1", items(1), true},
		{"a hundred items", "cust-1", items(messages.MaxItems), true},
		{"customer id of the maximum length", strings.Repeat("c", messages.MaxCustomerIDLength), items(1), true},
		{"SKU of every allowed character", "cust-1", []orders.Item{{SKU: "az-AZ_09.x", Quantity: 1}}, true},
		{"SKU of the maximum length", "cust-1", []orders.Item{{SKU: strings.Repeat("s", messages.MaxSKULength), Quantity: 1}}, true},
		{"quantity 1", "cust-1", []orders.Item{{SKU: "A", Quantity: messages.MinQuantity}}, true},
		{"quantity 10000", "cust-1", []orders.Item{{SKU: "A", Quantity: messages.MaxQuantity}}, true},
		{"no customer id", "", items(1), false},
		{"customer id too long", strings.Repeat("c", messages.MaxCustomerIDLength+1), items(1), false},
		{"no items", "cust-1", nil, false},
		{"empty items", "cust-1", []orders.Item{}, false},
		{"101 items", "cust-1", items(messages.MaxItems + 1), false},
		{"empty SKU", "cust-1", []orders.Item{{SKU: "", Quantity: 1}}, false},
		{"SKU too long", "cust-1", []orders.Item{{SKU: strings.Repeat("s", messages.MaxSKULength+1), Quantity: 1}}, false},
		{"SKU with a slash", "cust-1", []orders.Item{{SKU: "a/b", Quantity: 1}}, false},
		{"SKU with a space", "cust-1", []orders.Item{{SKU: "a b", Quantity: 1}}, false},
		{"SKU with a dollar", "cust-1", []orders.Item{{SKU: "$a", Quantity: 1}}, false},
		{"SKU with a non-ASCII letter", "cust-1", []orders.Item{{SKU: "café", Quantity: 1}}, false},
		{"duplicate SKU", "cust-1", []orders.Item{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 1}, {SKU: "A", Quantity: 2}}, false},
		{"quantity 0", "cust-1", []orders.Item{{SKU: "A", Quantity: 0}}, false},
		{"negative quantity", "cust-1", []orders.Item{{SKU: "A", Quantity: -1}}, false},
		{"quantity 10001", "cust-1", []orders.Item{{SKU: "A", Quantity: messages.MaxQuantity + 1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := orders.Order{ID: "order-1"}

			err := o.Place(tt.customerID, tt.items, t0, "corr-1")

			if !tt.valid {
				require.ErrorIs(t, err, orders.ErrInvalidOrder)
				require.ErrorIs(t, err, messages.ErrInvalid, "an invalid order is poison, not retried")
				assert.Equal(t, orders.Order{ID: "order-1"}, o, "a refused order must stay unplaced")
				assert.ErrorIs(t, orders.ValidateItems(tt.customerID, tt.items), orders.ErrInvalidOrder)
				return
			}
			require.NoError(t, err)
			assert.NoError(t, orders.ValidateItems(tt.customerID, tt.items))
			assert.Equal(t, orders.Order{
				ID:         "order-1",
				CustomerID: tt.customerID,
				Items:      tt.items,
				Status:     orders.StatusPending,
				History:    []orders.Change{{Status: orders.StatusPending, At: t0, CorrelationID: "corr-1"}},
				CreatedAt:  t0,
				UpdatedAt:  t0,
				// A PENDING order waits for the reservation's outcome.
				AwaitingSince: t0,
				Revision:      1,
			}, o)
			assert.False(t, o.IsNew())
		})
	}
}

func TestOrder_Place_keepsItsOwnItems(t *testing.T) {
	t.Parallel()
	in := []orders.Item{{SKU: "A", Quantity: 1}}
	o := orders.Order{ID: "order-1"}
	require.NoError(t, o.Place("cust-1", in, t0, "corr-1"))

	in[0].Quantity = 99

	assert.Equal(t, 1, o.Items[0].Quantity)
}

func TestOrder_Place_twiceIsRefused(t *testing.T) {
	t.Parallel()
	o := placed(t)
	before := o.Clone()

	err := o.Place("cust-2", items(2), t0.Add(time.Hour), "corr-2")

	require.Error(t, err)
	assert.Equal(t, before, o)
}

// placed returns a PENDING order placed at t0.
func placed(t *testing.T) orders.Order {
	t.Helper()
	o := orders.Order{ID: "order-1"}
	require.NoError(t, o.Place("cust-1", []orders.Item{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}, t0, "corr-place"))
	return o
}

// orderIn returns an order in the given status, reached through the domain's
// own transitions, one minute apart.
func orderIn(t *testing.T, status orders.Status) orders.Order {
	t.Helper()
	o := placed(t)
	step := t0.Add(time.Minute)
	switch status {
	case orders.StatusPending:
	case orders.StatusConfirmed:
		o.Confirm(step, "corr-confirm")
	case orders.StatusRejected:
		o.Reject("out of stock", step, "corr-reject")
	case orders.StatusCancelled:
		require.NoError(t, o.Cancel("changed my mind", step, "corr-cancel"))
	case orders.StatusShipped:
		o.Confirm(step, "corr-confirm")
		o.MarkShipped(step.Add(time.Minute), "corr-ship")
	case orders.StatusDelivered:
		o.Confirm(step, "corr-confirm")
		o.MarkShipped(step.Add(time.Minute), "corr-ship")
		o.MarkDelivered(step.Add(time.Minute), step.Add(2*time.Minute), "corr-deliver")
	case orders.StatusDeliveryFailed:
		o.Confirm(step, "corr-confirm")
		o.MarkShipped(step.Add(time.Minute), "corr-ship")
		o.MarkDeliveryFailed("nobody home", step.Add(time.Minute), step.Add(2*time.Minute), "corr-fail")
	default:
		t.Fatalf("orderIn: unknown status %s", status)
	}
	require.Equal(t, status, o.Status)
	return o
}

var allStatuses = []orders.Status{
	orders.StatusPending, orders.StatusConfirmed, orders.StatusRejected, orders.StatusCancelled,
	orders.StatusShipped, orders.StatusDelivered, orders.StatusDeliveryFailed,
}

func TestOrder_transitions(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Hour)
	dispatchedAt := t0.Add(50 * time.Minute)
	type action struct {
		name   string
		do     func(o *orders.Order) error
		reason string
	}
	confirm := action{"Confirm", func(o *orders.Order) error { o.Confirm(now, "corr-new"); return nil }, ""}
	reject := action{"Reject", func(o *orders.Order) error { o.Reject("no stock", now, "corr-new"); return nil }, "no stock"}
	cancel := action{"Cancel", func(o *orders.Order) error { return o.Cancel("changed my mind", now, "corr-new") }, "changed my mind"}
	ship := action{"MarkShipped", func(o *orders.Order) error { o.MarkShipped(dispatchedAt, "corr-new"); return nil }, ""}
	deliver := action{"MarkDelivered", func(o *orders.Order) error { o.MarkDelivered(dispatchedAt, now, "corr-new"); return nil }, ""}
	fail := action{"MarkDeliveryFailed", func(o *orders.Order) error {
		o.MarkDeliveryFailed("nobody home", dispatchedAt, now, "corr-new")
		return nil
	}, "nobody home"}

	const (
		P  = orders.StatusPending
		C  = orders.StatusConfirmed
		R  = orders.StatusRejected
		X  = orders.StatusCancelled
		S  = orders.StatusShipped
		D  = orders.StatusDelivered
		DF = orders.StatusDeliveryFailed
	)
	tests := []struct {
		name    string
		from    orders.Status
		act     action
		records []orders.Status // the changes appended, in order; none: nothing changes
		wantErr error
	}{
		{"confirm a pending order", P, confirm, []orders.Status{C}, nil},
		{"confirm again", C, confirm, nil, nil},
		{"confirm a rejected order", R, confirm, nil, nil},
		{"confirm a cancelled order", X, confirm, nil, nil},
		{"confirm a shipped order", S, confirm, nil, nil},
		{"confirm a delivered order", D, confirm, nil, nil},
		{"confirm an order whose delivery failed", DF, confirm, nil, nil},

		{"reject a pending order", P, reject, []orders.Status{R}, nil},
		{"reject a confirmed order", C, reject, nil, nil},
		{"reject again", R, reject, nil, nil},
		{"reject a cancelled order", X, reject, nil, nil},
		{"reject a shipped order", S, reject, nil, nil},
		{"reject a delivered order", D, reject, nil, nil},
		{"reject an order whose delivery failed", DF, reject, nil, nil},

		{"cancel a pending order", P, cancel, []orders.Status{X}, nil},
		{"cancel a confirmed order", C, cancel, []orders.Status{X}, nil},
		{"cancel again", X, cancel, nil, nil},
		{"cancel a rejected order", R, cancel, nil, orders.ErrNotCancellable},
		{"cancel a shipped order", S, cancel, nil, orders.ErrNotCancellable},
		{"cancel a delivered order", D, cancel, nil, orders.ErrNotCancellable},
		{"cancel an order whose delivery failed", DF, cancel, nil, orders.ErrNotCancellable},

		{"ship a confirmed order", C, ship, []orders.Status{S}, nil},
		{"ship a pending order", P, ship, nil, nil},
		{"ship a rejected order", R, ship, nil, nil},
		{"ship a cancelled order", X, ship, nil, nil},
		{"ship again", S, ship, nil, nil},
		{"ship a delivered order", D, ship, nil, nil},
		{"ship an order whose delivery failed", DF, ship, nil, nil},

		{"deliver a shipped order", S, deliver, []orders.Status{D}, nil},
		{"deliver a confirmed order records the missed dispatch first", C, deliver, []orders.Status{S, D}, nil},
		{"deliver a pending order", P, deliver, nil, nil},
		{"deliver a rejected order", R, deliver, nil, nil},
		{"deliver a cancelled order", X, deliver, nil, nil},
		{"deliver again", D, deliver, nil, nil},
		{"deliver an order whose delivery failed", DF, deliver, nil, nil},

		{"fail a shipped order", S, fail, []orders.Status{DF}, nil},
		{"fail a confirmed order records the missed dispatch first", C, fail, []orders.Status{S, DF}, nil},
		{"fail a pending order", P, fail, nil, nil},
		{"fail a rejected order", R, fail, nil, nil},
		{"fail a cancelled order", X, fail, nil, nil},
		{"fail a delivered order", D, fail, nil, nil},
		{"fail again", DF, fail, nil, nil},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.act.name+" from "+string(tt.from)] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := orderIn(t, tt.from)
			before := o.Clone()

			err := tt.act.do(&o)

			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			if len(tt.records) == 0 {
				assert.Equal(t, before, o, "a refused, late or repeated transition must change nothing")
				return
			}
			require.Len(t, o.History, len(before.History)+len(tt.records))
			assert.Equal(t, before.History, o.History[:len(before.History)], "history is append-only")
			for i, want := range tt.records {
				c := o.History[len(before.History)+i]
				assert.Equal(t, want, c.Status)
				assert.Equal(t, "corr-new", c.CorrelationID)
				assert.False(t, c.Published)
				if want == S {
					assert.Equal(t, dispatchedAt, c.At, "the dispatch is recorded when it happened")
					assert.Empty(t, c.Reason)
				} else {
					assert.Equal(t, now, c.At)
					assert.Equal(t, tt.act.reason, c.Reason)
				}
			}
			last := tt.records[len(tt.records)-1]
			assert.Equal(t, last, o.Status)
			assert.Equal(t, before.Revision+int64(len(tt.records)), o.Revision)
			if tt.act.reason != "" {
				assert.Equal(t, tt.act.reason, o.Reason)
			} else {
				assert.Equal(t, before.Reason, o.Reason)
			}
			assert.Equal(t, before.CreatedAt, o.CreatedAt)
			assert.Equal(t, before.Items, o.Items)
		})
	}
	for _, a := range []action{confirm, reject, cancel, ship, deliver, fail} {
		for _, s := range allStatuses {
			assert.True(t, covered[a.name+" from "+string(s)], "no case for %s from %s", a.name, s)
		}
	}
}

func TestOrder_Cancel_refusalNamesTheStatus(t *testing.T) {
	t.Parallel()
	o := orderIn(t, orders.StatusShipped)

	err := o.Cancel("too late", t0.Add(time.Hour), "corr")

	require.ErrorIs(t, err, orders.ErrNotCancellable)
	assert.Contains(t, err.Error(), string(orders.StatusShipped))
}

func TestOrder_MarkDelivered_beforeMarkShipped(t *testing.T) {
	t.Parallel()
	o := orderIn(t, orders.StatusConfirmed)
	dispatchedAt, deliveredAt := t0.Add(time.Hour), t0.Add(2*time.Hour)

	o.MarkDelivered(dispatchedAt, deliveredAt, "corr-deliver")
	o.MarkShipped(dispatchedAt, "corr-ship") // the dispatch arrives late
	rev := o.Revision
	o.MarkDelivered(dispatchedAt, deliveredAt, "corr-deliver") // and the delivery again
	o.MarkDeliveryFailed("lost", dispatchedAt, deliveredAt, "corr-fail")

	assert.Equal(t, orders.StatusDelivered, o.Status)
	assert.Equal(t, rev, o.Revision, "late and repeated events change nothing")
	assert.Equal(t, []orders.Change{
		{Status: orders.StatusPending, At: t0, CorrelationID: "corr-place"},
		{Status: orders.StatusConfirmed, At: t0.Add(time.Minute), CorrelationID: "corr-confirm"},
		{Status: orders.StatusShipped, At: dispatchedAt, CorrelationID: "corr-deliver"},
		{Status: orders.StatusDelivered, At: deliveredAt, CorrelationID: "corr-deliver"},
	}, o.History)
	assert.Equal(t, deliveredAt, o.UpdatedAt)
}

func TestOrder_UpdatedAtNeverGoesBack(t *testing.T) {
	t.Parallel()
	o := orderIn(t, orders.StatusConfirmed)
	confirmedAt := o.UpdatedAt

	// A delivery timestamped before the confirmation was stored (clock skew).
	o.MarkDelivered(t0.Add(-2*time.Hour), t0.Add(-time.Hour), "corr")

	assert.Equal(t, orders.StatusDelivered, o.Status)
	assert.Equal(t, confirmedAt, o.UpdatedAt)
}

func TestOrder_UnpublishedAndMarkPublished(t *testing.T) {
	t.Parallel()
	o := orderIn(t, orders.StatusConfirmed)
	rev := o.Revision
	require.Equal(t, []orders.Status{orders.StatusPending, orders.StatusConfirmed}, statuses(o.Unpublished()))

	o.MarkPublished(1)
	assert.Equal(t, []orders.Status{orders.StatusConfirmed}, statuses(o.Unpublished()))
	assert.Equal(t, rev+1, o.Revision, "marking is a change to store")
	assert.True(t, o.History[0].Published)

	o.MarkPublished(1)
	o.MarkPublished(0)
	assert.Equal(t, rev+1, o.Revision, "marking what is marked changes nothing")

	require.NoError(t, o.Cancel("changed my mind", t0.Add(time.Hour), "corr-cancel"))
	o.MarkPublished(2) // what a publisher saw before the cancellation
	assert.Equal(t, []orders.Status{orders.StatusCancelled}, statuses(o.Unpublished()), "a change made after publishing stays unpublished")

	o.MarkPublished(100)
	assert.Empty(t, o.Unpublished())
	for _, c := range o.History {
		assert.True(t, c.Published)
	}
}

func TestOrder_SameAs(t *testing.T) {
	t.Parallel()
	o := placed(t) // cust-1: A×2, B×1
	tests := []struct {
		name       string
		customerID string
		items      []orders.Item
		want       bool
	}{
		{"same contents", "cust-1", []orders.Item{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}, true},
		{"other customer", "cust-2", []orders.Item{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}, false},
		{"other quantity", "cust-1", []orders.Item{{SKU: "A", Quantity: 3}, {SKU: "B", Quantity: 1}}, false},
		{"other SKU", "cust-1", []orders.Item{{SKU: "A", Quantity: 2}, {SKU: "C", Quantity: 1}}, false},
		{"an item less", "cust-1", []orders.Item{{SKU: "A", Quantity: 2}}, false},
		{"an item more", "cust-1", []orders.Item{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}, {SKU: "C", Quantity: 1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, o.SameAs(tt.customerID, tt.items))
		})
	}
}

func TestOrder_CloneIsDeep(t *testing.T) {
	t.Parallel()
	o := orderIn(t, orders.StatusConfirmed)
	want := o.Clone()

	c := o.Clone()
	c.Items[0].Quantity = 99
	c.Items = append(c.Items, orders.Item{SKU: "Z", Quantity: 1})
	c.History[0].Published = true
	c.History[1].Reason = "changed"
	c.History = append(c.History, orders.Change{Status: orders.StatusCancelled})

	assert.Equal(t, want, o)
	assert.Len(t, o.Items, 2)
	assert.Len(t, o.History, 2)
	assert.Equal(t, 2, o.Items[0].Quantity)
	assert.False(t, o.History[0].Published)
}

func TestValidStatus(t *testing.T) {
	t.Parallel()
	for _, s := range allStatuses {
		assert.True(t, orders.ValidStatus(string(s)), s)
	}
	for _, s := range []string{"", "pending", "SCHEDULED", "UNKNOWN"} {
		assert.False(t, orders.ValidStatus(s), s)
	}
}

func statuses(cs []orders.Change) []orders.Status {
	var out []orders.Status
	for _, c := range cs {
		out = append(out, c.Status)
	}
	return out
}
