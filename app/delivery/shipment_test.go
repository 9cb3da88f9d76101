package delivery_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/delivery"
	"github.com/orderflow/orderflow/messages"
)

var t0 = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

// "" stands for a shipment never seen; "tombstone" for one called off before
// it was scheduled.
const (
	neverSeen delivery.Status = ""
	tombstone delivery.Status = "tombstone"
)

var allShipmentStates = []delivery.Status{
	neverSeen, tombstone, delivery.StatusScheduled, delivery.StatusDispatched,
	delivery.StatusDelivered, delivery.StatusFailed, delivery.StatusCancelled,
}

// shipmentIn returns a shipment in the given state, reached through the
// domain's own transitions, one minute apart, with a step due after each.
func shipmentIn(t *testing.T, state delivery.Status) delivery.Shipment {
	t.Helper()
	s := delivery.Shipment{OrderID: "order-1"}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	switch state {
	case neverSeen:
		return s
	case tombstone:
		s.Cancel(at(0), "corr-cancel")
		require.True(t, s.Tombstone)
		return s
	}
	s.Schedule("cust-1", at(0), at(10), "corr-schedule")
	switch state {
	case delivery.StatusScheduled:
	case delivery.StatusDispatched:
		require.NoError(t, s.Dispatch(at(1), at(20), "corr-dispatch"))
	case delivery.StatusDelivered:
		require.NoError(t, s.Dispatch(at(1), at(20), "corr-dispatch"))
		require.NoError(t, s.Deliver(at(2), "corr-deliver"))
	case delivery.StatusFailed:
		require.NoError(t, s.Dispatch(at(1), at(20), "corr-dispatch"))
		require.NoError(t, s.Fail("nobody home", at(2), "corr-fail"))
	case delivery.StatusCancelled:
		s.Cancel(at(1), "corr-cancel")
	default:
		t.Fatalf("shipmentIn: unknown state %s", state)
	}
	require.Equal(t, state, s.Status)
	return s
}

func TestShipment_transitions(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Hour)
	next := t0.Add(2 * time.Hour)
	type action struct {
		name string
		do   func(s *delivery.Shipment) error
	}
	schedule := action{"Schedule", func(s *delivery.Shipment) error { s.Schedule("cust-2", now, next, "corr-new"); return nil }}
	dispatch := action{"Dispatch", func(s *delivery.Shipment) error { return s.Dispatch(now, next, "corr-new") }}
	deliver := action{"Deliver", func(s *delivery.Shipment) error { return s.Deliver(now, "corr-new") }}
	fail := action{"Fail", func(s *delivery.Shipment) error { return s.Fail("lost", now, "corr-new") }}
	cancel := action{"Cancel", func(s *delivery.Shipment) error { s.Cancel(now, "corr-new"); return nil }}

	const (
		sch = delivery.StatusScheduled
		dis = delivery.StatusDispatched
		del = delivery.StatusDelivered
		fld = delivery.StatusFailed
		can = delivery.StatusCancelled
	)
	tests := []struct {
		name     string
		from     delivery.Status
		act      action
		want     delivery.Status // the status recorded; "": nothing changes
		wantNext time.Time       // NextStepAt after the change
		wantErr  error
	}{
		{"schedule a new shipment", neverSeen, schedule, sch, next, nil},
		{"schedule again", sch, schedule, "", time.Time{}, nil},
		{"schedule after the order was cancelled first", tombstone, schedule, "", time.Time{}, nil},
		{"schedule a dispatched shipment", dis, schedule, "", time.Time{}, nil},
		{"schedule a delivered shipment", del, schedule, "", time.Time{}, nil},
		{"schedule a failed shipment", fld, schedule, "", time.Time{}, nil},
		{"schedule a cancelled shipment", can, schedule, "", time.Time{}, nil},

		{"dispatch a scheduled shipment", sch, dispatch, dis, next, nil},
		{"dispatch again", dis, dispatch, "", time.Time{}, nil},
		{"dispatch a shipment never seen", neverSeen, dispatch, "", time.Time{}, delivery.ErrNotAllowed},
		{"dispatch a tombstone", tombstone, dispatch, "", time.Time{}, delivery.ErrNotAllowed},
		{"dispatch a delivered shipment", del, dispatch, "", time.Time{}, delivery.ErrNotAllowed},
		{"dispatch a failed shipment", fld, dispatch, "", time.Time{}, delivery.ErrNotAllowed},
		{"dispatch a cancelled shipment", can, dispatch, "", time.Time{}, delivery.ErrNotAllowed},

		{"deliver a dispatched shipment", dis, deliver, del, time.Time{}, nil},
		{"deliver again", del, deliver, "", time.Time{}, nil},
		{"deliver a shipment never seen", neverSeen, deliver, "", time.Time{}, delivery.ErrNotAllowed},
		{"deliver a tombstone", tombstone, deliver, "", time.Time{}, delivery.ErrNotAllowed},
		{"deliver a scheduled shipment", sch, deliver, "", time.Time{}, delivery.ErrNotAllowed},
		{"deliver a failed shipment", fld, deliver, "", time.Time{}, delivery.ErrNotAllowed},
		{"deliver a cancelled shipment", can, deliver, "", time.Time{}, delivery.ErrNotAllowed},

		{"fail a dispatched shipment", dis, fail, fld, time.Time{}, nil},
		{"fail again", fld, fail, "", time.Time{}, nil},
		{"fail a shipment never seen", neverSeen, fail, "", time.Time{}, delivery.ErrNotAllowed},
		{"fail a tombstone", tombstone, fail, "", time.Time{}, delivery.ErrNotAllowed},
		{"fail a scheduled shipment", sch, fail, "", time.Time{}, delivery.ErrNotAllowed},
		{"fail a delivered shipment", del, fail, "", time.Time{}, delivery.ErrNotAllowed},
		{"fail a cancelled shipment", can, fail, "", time.Time{}, delivery.ErrNotAllowed},

		{"cancel a scheduled shipment", sch, cancel, can, time.Time{}, nil},
		{"cancel a dispatched shipment recalls it", dis, cancel, can, time.Time{}, nil},
		{"cancel again", can, cancel, "", time.Time{}, nil},
		{"cancel a tombstone again", tombstone, cancel, "", time.Time{}, nil},
		{"cancel a delivered shipment", del, cancel, "", time.Time{}, nil},
		{"cancel a failed shipment", fld, cancel, "", time.Time{}, nil},
		// cancel of a shipment never seen: TestShipment_cancelBeforeSchedule.
	}
	covered := map[string]bool{"Cancel from ": true}
	for _, tt := range tests {
		covered[tt.act.name+" from "+string(tt.from)] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := shipmentIn(t, tt.from)
			before := s.Clone()

			err := tt.act.do(&s)

			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			if tt.want == "" {
				assert.Equal(t, before, s, "a refused or repeated transition changes nothing")
				return
			}
			assert.Equal(t, tt.want, s.Status)
			assert.Equal(t, tt.wantNext, s.NextStepAt)
			assert.Equal(t, before.Revision+1, s.Revision)
			require.Len(t, s.History, len(before.History)+1)
			if len(before.History) > 0 {
				assert.Equal(t, before.History, s.History[:len(before.History)], "history is append-only")
			}
			c := s.History[len(s.History)-1]
			assert.Equal(t, tt.want, c.Status)
			assert.Equal(t, now, c.At)
			assert.Equal(t, "corr-new", c.CorrelationID)
			assert.False(t, c.Published)
			assert.True(t, s.Exists())
			switch tt.want {
			case dis:
				assert.Equal(t, now, s.DispatchedAt)
			case sch:
				assert.Equal(t, "cust-2", s.CustomerID)
			default:
				assert.Equal(t, before.DispatchedAt, s.DispatchedAt)
			}
			switch tt.want {
			case fld:
				assert.Equal(t, "lost", c.Reason)
			case can:
				assert.Equal(t, "order cancelled", c.Reason)
			default:
				assert.Empty(t, c.Reason)
			}
		})
	}
	for _, a := range []action{schedule, dispatch, deliver, fail, cancel} {
		for _, s := range allShipmentStates {
			assert.True(t, covered[a.name+" from "+string(s)], "no case for %s from %q", a.name, s)
		}
	}
}

func TestShipment_cancelBeforeSchedule(t *testing.T) {
	t.Parallel()
	s := delivery.Shipment{OrderID: "order-1"}

	s.Cancel(t0, "corr-cancel")

	assert.True(t, s.Tombstone)
	assert.Equal(t, delivery.StatusCancelled, s.Status)
	assert.False(t, s.IsNew(), "the tombstone must be stored")
	assert.False(t, s.Exists(), "the tombstone is not shown")
	assert.Empty(t, s.History, "nothing was scheduled, so nothing is announced")
	assert.True(t, s.NextStepAt.IsZero())

	before := s.Clone()
	s.Schedule("cust-1", t0.Add(time.Minute), t0.Add(time.Hour), "corr-confirm")
	assert.Equal(t, before, s, "a late confirmation schedules nothing")
}

func TestShipment_Fail_needsAReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		from   delivery.Status
		reason string
	}{
		{"no reason", delivery.StatusDispatched, ""},
		{"reason too long", delivery.StatusDispatched, strings.Repeat("r", messages.MaxReasonLength+1)},
		{"no reason on a failed shipment", delivery.StatusFailed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := shipmentIn(t, tt.from)
			before := s.Clone()

			err := s.Fail(tt.reason, t0.Add(time.Hour), "corr")

			require.ErrorIs(t, err, delivery.ErrInvalidReason)
			require.ErrorIs(t, err, messages.ErrInvalid)
			assert.Equal(t, before, s)
		})
	}

	s := shipmentIn(t, delivery.StatusDispatched)
	require.NoError(t, s.Fail(strings.Repeat("r", messages.MaxReasonLength), t0.Add(time.Hour), "corr"))
}

func TestShipment_UnpublishedAndMarkPublished(t *testing.T) {
	t.Parallel()
	s := shipmentIn(t, delivery.StatusDispatched)
	rev := s.Revision
	require.Len(t, s.Unpublished(), 2)

	s.MarkPublished(1)
	assert.Equal(t, delivery.StatusDispatched, s.Unpublished()[0].Status)
	assert.Len(t, s.Unpublished(), 1)
	assert.Equal(t, rev+1, s.Revision)

	s.MarkPublished(1)
	assert.Equal(t, rev+1, s.Revision, "marking what is marked changes nothing")

	s.MarkPublished(5)
	assert.Empty(t, s.Unpublished())
	assert.Equal(t, rev+2, s.Revision)
}

func TestShipment_CloneIsDeep(t *testing.T) {
	t.Parallel()
	s := shipmentIn(t, delivery.StatusDispatched)
	want := s.Clone()

	c := s.Clone()
	c.History[0].Published = true
	c.History = append(c.History, delivery.Change{Status: delivery.StatusDelivered})

	assert.Equal(t, want, s)
}

func TestShipment_ToMessage(t *testing.T) {
	t.Parallel()
	s := shipmentIn(t, delivery.StatusFailed)

	assert.Equal(t, messages.Shipment{OrderID: "order-1", Status: messages.ShipmentStatusFailed, History: []messages.StatusEntry{
		{Status: messages.ShipmentStatusScheduled, At: t0, CorrelationID: "corr-schedule"},
		{Status: messages.ShipmentStatusDispatched, At: t0.Add(time.Minute), CorrelationID: "corr-dispatch"},
		{Status: messages.ShipmentStatusFailed, At: t0.Add(2 * time.Minute), Reason: "nobody home", CorrelationID: "corr-fail"},
	}}, delivery.ToMessage(s))
}
