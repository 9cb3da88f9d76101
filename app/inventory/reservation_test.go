package inventory_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/messages"
)

var (
	twoLines = []inventory.Line{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}
	failures = []messages.LineFailure{{SKU: "B", Reason: messages.ReasonInsufficientStock, Requested: 1}}
)

// "" stands for a reservation never seen; "released first" for one released
// before its reservation began (a tombstone without lines).
const (
	neverSeen     inventory.ReservationStatus = ""
	releasedFirst inventory.ReservationStatus = "released first"
)

var allReservationStatuses = []inventory.ReservationStatus{
	neverSeen, inventory.Reserving, inventory.Reserved, inventory.Failed, inventory.Released, releasedFirst, inventory.Committed,
}

// reservationIn returns a reservation in the given state, reached through the
// domain's own decisions.
func reservationIn(t *testing.T, status inventory.ReservationStatus) inventory.Reservation {
	t.Helper()
	r := inventory.Reservation{OrderID: "order-1"}
	want := status
	switch status {
	case neverSeen:
		return r
	case releasedFirst:
		r.Release(t0, "corr-release")
		require.Empty(t, r.Lines)
		want = inventory.Released
	case inventory.Reserving:
		require.True(t, r.Begin(twoLines))
	case inventory.Reserved:
		require.True(t, r.Begin(twoLines))
		r.Succeed(t0, "corr-reserve")
	case inventory.Failed:
		require.True(t, r.Begin(twoLines))
		r.Fail(failures, t0, "corr-reserve")
	case inventory.Released:
		require.True(t, r.Begin(twoLines))
		r.Succeed(t0, "corr-reserve")
		r.Release(t0.Add(time.Minute), "corr-release")
	case inventory.Committed:
		require.True(t, r.Begin(twoLines))
		r.Succeed(t0, "corr-reserve")
		r.Commit(t0.Add(time.Minute), "corr-commit")
	default:
		t.Fatalf("reservationIn: unknown status %s", status)
	}
	require.Equal(t, want, r.Status)
	return r
}

func TestReservation_Begin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		from      inventory.ReservationStatus
		want      bool
		wantLines []inventory.Line
		changes   bool
	}{
		{"a new reservation begins", neverSeen, true, twoLines, true},
		{"one under way goes on", inventory.Reserving, true, twoLines, false},
		{"a reserved one is decided", inventory.Reserved, false, twoLines, false},
		{"a failed one is decided", inventory.Failed, false, twoLines, false},
		{"a released one is decided", inventory.Released, false, twoLines, false},
		{"a committed one is decided", inventory.Committed, false, twoLines, false},
		// The release came first: the lines are kept, so that holds a racing
		// attempt may place can be found and released.
		{"one released first keeps the lines", releasedFirst, false, twoLines, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := reservationIn(t, tt.from)
			before := r.Clone()

			got := r.Begin(twoLines)

			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantLines, r.Lines)
			if !tt.changes {
				assert.Equal(t, before, r)
				return
			}
			assert.Equal(t, before.Revision+1, r.Revision)
			assert.Equal(t, before.History, r.History, "beginning is no decision: nothing to publish")
			if tt.from == neverSeen {
				assert.Equal(t, inventory.Reserving, r.Status)
			} else {
				assert.Equal(t, before.Status, r.Status)
			}
		})
	}
}

func TestReservation_Begin_keepsItsOwnLines(t *testing.T) {
	t.Parallel()
	lines := []inventory.Line{{SKU: "A", Quantity: 1}}
	r := inventory.Reservation{OrderID: "order-1"}
	r.Begin(lines)

	lines[0].Quantity = 99

	assert.Equal(t, 1, r.Lines[0].Quantity)
}

func TestReservation_decisions(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Hour)
	type decision struct {
		name string
		do   func(r *inventory.Reservation)
	}
	succeed := decision{"Succeed", func(r *inventory.Reservation) { r.Succeed(now, "corr-new") }}
	fail := decision{"Fail", func(r *inventory.Reservation) { r.Fail(failures, now, "corr-new") }}
	release := decision{"Release", func(r *inventory.Reservation) { r.Release(now, "corr-new") }}
	commit := decision{"Commit", func(r *inventory.Reservation) { r.Commit(now, "corr-new") }}

	const (
		none      = inventory.ReservationStatus("")
		reserving = inventory.Reserving
		reserved  = inventory.Reserved
		failed    = inventory.Failed
		released  = inventory.Released
		committed = inventory.Committed
	)
	tests := []struct {
		name string
		from inventory.ReservationStatus
		do   decision
		want inventory.ReservationStatus // none: nothing changes
	}{
		{"succeed a reservation under way", reserving, succeed, reserved},
		{"succeed one never seen", neverSeen, succeed, none},
		{"succeed again", reserved, succeed, none},
		{"succeed a failed one", failed, succeed, none},
		{"succeed a released one", released, succeed, none},
		{"succeed one released first", releasedFirst, succeed, none},
		{"succeed a committed one", committed, succeed, none},

		{"fail a reservation under way", reserving, fail, failed},
		{"fail one never seen", neverSeen, fail, none},
		{"fail a reserved one", reserved, fail, none},
		{"fail again", failed, fail, none},
		{"fail a released one", released, fail, none},
		{"fail one released first", releasedFirst, fail, none},
		{"fail a committed one", committed, fail, none},

		{"release one never seen leaves a tombstone", neverSeen, release, released},
		{"release a reservation under way", reserving, release, released},
		{"release a reserved one", reserved, release, released},
		{"release a failed one", failed, release, none},
		{"release again", released, release, none},
		{"release one released first again", releasedFirst, release, none},
		{"release a committed one", committed, release, none},

		{"commit a reserved one", reserved, commit, committed},
		{"commit one never seen", neverSeen, commit, none},
		{"commit a reservation under way", reserving, commit, none},
		{"commit a failed one", failed, commit, none},
		{"commit a released one", released, commit, none},
		{"commit one released first", releasedFirst, commit, none},
		{"commit again", committed, commit, none},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.do.name+" from "+string(tt.from)] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := reservationIn(t, tt.from)
			before := r.Clone()

			tt.do.do(&r)

			if tt.want == none {
				assert.Equal(t, before, r, "no decision over a decision")
				return
			}
			assert.Equal(t, tt.want, r.Status)
			assert.Equal(t, before.Revision+1, r.Revision)
			assert.Equal(t, before.Lines, r.Lines)
			require.Len(t, r.History, len(before.History)+1)
			assert.Equal(t, inventory.Change{Status: tt.want, At: now, CorrelationID: "corr-new"}, r.History[len(r.History)-1])
			if tt.want == failed {
				assert.Equal(t, failures, r.Failures)
			} else {
				assert.Equal(t, before.Failures, r.Failures)
			}
		})
	}
	for _, d := range []decision{succeed, fail, release, commit} {
		for _, s := range allReservationStatuses {
			assert.True(t, covered[d.name+" from "+string(s)], "no case for %s from %q", d.name, s)
		}
	}
}

// A release that comes before the reservation must win: the late reservation
// records its lines (so the holds of a racing attempt can be released) but
// decides nothing and keeps no hold.
func TestReservation_releaseBeforeReserve(t *testing.T) {
	t.Parallel()
	r := inventory.Reservation{OrderID: "order-1"}

	r.Release(t0, "corr-cancel")
	began := r.Begin(twoLines)
	r.Succeed(t0.Add(time.Minute), "corr-reserve")

	assert.False(t, began)
	assert.Equal(t, inventory.Released, r.Status)
	assert.Equal(t, twoLines, r.Lines)
	assert.False(t, r.KeepsHolds())
	assert.Equal(t, []inventory.Change{{Status: inventory.Released, At: t0, CorrelationID: "corr-cancel"}}, r.History)
}

func TestReservation_KeepsHolds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from inventory.ReservationStatus
		want bool
	}{
		{neverSeen, false},
		{inventory.Reserving, true},
		{inventory.Reserved, true},
		{inventory.Failed, false},
		{inventory.Released, false},
		{releasedFirst, false},
		{inventory.Committed, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.from), func(t *testing.T) {
			t.Parallel()
			r := reservationIn(t, tt.from)
			assert.Equal(t, tt.want, r.KeepsHolds())
		})
	}
}

func TestReservation_UnpublishedAndMarkPublished(t *testing.T) {
	t.Parallel()
	r := reservationIn(t, inventory.Reserved)
	rev := r.Revision
	require.Len(t, r.Unpublished(), 1)

	r.MarkPublished(1)
	assert.Empty(t, r.Unpublished())
	assert.Equal(t, rev+1, r.Revision)

	r.MarkPublished(1)
	assert.Equal(t, rev+1, r.Revision, "marking what is marked changes nothing")

	r.Release(t0.Add(time.Hour), "corr-release")
	r.MarkPublished(1)
	assert.Equal(t, []inventory.Change{{Status: inventory.Released, At: t0.Add(time.Hour), CorrelationID: "corr-release"}}, r.Unpublished())
	r.MarkPublished(2)
	assert.Empty(t, r.Unpublished())
}

func TestReservation_CloneIsDeep(t *testing.T) {
	t.Parallel()
	r := reservationIn(t, inventory.Failed)
	want := r.Clone()

	c := r.Clone()
	c.Lines[0].Quantity = 99
	c.Failures[0].Available = 99
	c.History[0].Published = true
	c.History = append(c.History, inventory.Change{Status: inventory.Released})

	assert.Equal(t, want, r)
}
