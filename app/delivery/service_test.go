package delivery_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/apptest"
	"github.com/orderflow/orderflow/app/delivery"
	"github.com/orderflow/orderflow/infra/memory"
	"github.com/orderflow/orderflow/messages"
)

var autoCourier = delivery.Courier{Auto: true, DispatchAfter: 10 * time.Minute, DeliverAfter: 30 * time.Minute}

type fixture struct {
	svc    *delivery.Service
	repo   delivery.Repository
	events *apptest.Publisher
	clock  *apptest.Clock
}

func newFixture(courier delivery.Courier) *fixture {
	return newFixtureWith(memory.NewShipmentRepository(), courier)
}

func newFixtureWith(repo delivery.Repository, courier delivery.Courier) *fixture {
	f := &fixture{repo: repo, events: &apptest.Publisher{}, clock: apptest.NewClock(t0)}
	f.svc = delivery.NewService(f.repo, f.events, courier, f.clock.Now)
	return f
}

func (f *fixture) stored(t *testing.T, orderID string) delivery.Shipment {
	t.Helper()
	s, err := f.repo.Get(t.Context(), orderID)
	require.NoError(t, err)
	return s
}

func (f *fixture) advance(t *testing.T, at time.Time) int {
	t.Helper()
	f.clock.Set(at)
	moved, err := f.svc.AdvanceDue(t.Context(), 100)
	require.NoError(t, err)
	return moved
}

// A repeated OrderConfirmed schedules nothing new; it is answered with the
// shipment's latest step again (the orders service's saga sweeper asks so).
func TestScheduleShipment_schedulesOnceAndAnnouncesAgain(t *testing.T) {
	t.Parallel()
	f := newFixture(autoCourier)

	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-confirm"))
	f.clock.Set(t0.Add(time.Minute))
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-nudge"))

	scheduled := apptest.Published{Event: messages.ShipmentScheduled{OrderID: "order-1", OccurredAt: t0}, CorrelationID: "corr-confirm"}
	assert.Equal(t, []apptest.Published{scheduled, scheduled}, f.events.Published())
	assert.Len(t, f.stored(t, "order-1").History, 1, "scheduled once")
	s, err := f.svc.GetShipment(t.Context(), "order-1")
	require.NoError(t, err)
	assert.Equal(t, delivery.StatusScheduled, s.Status)
	assert.Equal(t, "cust-1", s.CustomerID)
	assert.Equal(t, t0.Add(autoCourier.DispatchAfter), s.NextStepAt)
	assert.Empty(t, s.Unpublished())
}

func TestScheduleShipment_invalid(t *testing.T) {
	t.Parallel()
	f := newFixture(autoCourier)

	require.ErrorIs(t, f.svc.ScheduleShipment(t.Context(), "", "cust-1", "corr"), messages.ErrInvalid)
	require.ErrorIs(t, f.svc.CancelShipment(t.Context(), "", "corr"), messages.ErrInvalid)
	assert.Empty(t, f.events.Published())
}

func TestScheduleShipment_redeliveryPublishesWhatACrashLeftUnpublished(t *testing.T) {
	t.Parallel()
	f := newFixture(autoCourier)
	f.events.FailNext(1)

	require.ErrorIs(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-confirm"), apptest.ErrBroker)
	saved := f.stored(t, "order-1")
	assert.Len(t, saved.Unpublished(), 1)
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-retry"))

	assert.Equal(t, []apptest.Published{{Event: messages.ShipmentScheduled{OrderID: "order-1", OccurredAt: t0}, CorrelationID: "corr-confirm"}}, f.events.Published())
}

// The order was cancelled before it was confirmed: the shipment is called off
// before it exists, and a late confirmation must not bring it to life.
func TestCancelShipment_beforeScheduleLeavesAHiddenTombstone(t *testing.T) {
	t.Parallel()
	f := newFixture(autoCourier)

	require.NoError(t, f.svc.CancelShipment(t.Context(), "order-1", "corr-cancel"))
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-confirm"))

	assert.Empty(t, f.events.Published())
	stored := f.stored(t, "order-1")
	assert.True(t, stored.Tombstone)
	assert.Equal(t, delivery.StatusCancelled, stored.Status)
	_, err := f.svc.GetShipment(t.Context(), "order-1")
	require.ErrorIs(t, err, delivery.ErrNotFound)
	_, err = f.svc.Dispatch(t.Context(), "order-1", "corr-courier")
	require.ErrorIs(t, err, delivery.ErrNotFound)
	assert.Zero(t, f.advance(t, t0.Add(24*time.Hour)))
	assert.Empty(t, f.events.Published())
}

func TestCancelShipment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		dispatched bool
	}{
		{"a scheduled shipment is called off", false},
		{"a dispatched shipment is recalled", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(autoCourier)
			require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-confirm"))
			if tt.dispatched {
				_, err := f.svc.Dispatch(t.Context(), "order-1", "corr-courier")
				require.NoError(t, err)
			}
			f.clock.Set(t0.Add(time.Minute))

			require.NoError(t, f.svc.CancelShipment(t.Context(), "order-1", "corr-cancel"))
			require.NoError(t, f.svc.CancelShipment(t.Context(), "order-1", "corr-cancel"))

			got := f.events.Published()
			assert.Equal(t, apptest.Published{Event: messages.ShipmentCancelled{OrderID: "order-1", OccurredAt: t0.Add(time.Minute)}, CorrelationID: "corr-cancel"}, got[len(got)-1])
			assert.Len(t, got, map[bool]int{false: 2, true: 3}[tt.dispatched], "cancelled once")
			s, err := f.svc.GetShipment(t.Context(), "order-1")
			require.NoError(t, err)
			assert.Equal(t, delivery.StatusCancelled, s.Status)
			assert.True(t, s.NextStepAt.IsZero(), "the courier has nothing left to do")

			assert.Zero(t, f.advance(t, t0.Add(24*time.Hour)))
			_, err = f.svc.Deliver(t.Context(), "order-1", "corr-courier")
			require.ErrorIs(t, err, delivery.ErrNotAllowed)
			assert.Len(t, f.events.Published(), len(got))
		})
	}
}

func TestCancelShipment_afterDeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(delivery.Courier{})
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-confirm"))
	_, err := f.svc.Dispatch(t.Context(), "order-1", "corr-courier")
	require.NoError(t, err)
	_, err = f.svc.Deliver(t.Context(), "order-1", "corr-courier")
	require.NoError(t, err)
	before := f.stored(t, "order-1")

	require.NoError(t, f.svc.CancelShipment(t.Context(), "order-1", "corr-cancel"))

	assert.Equal(t, before, f.stored(t, "order-1"))
	assert.Len(t, f.events.Published(), 3)
}

func TestCourier_commands(t *testing.T) {
	t.Parallel()
	f := newFixture(delivery.Courier{})
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-confirm"))
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-2", "cust-1", "corr-confirm-2"))
	dispatchedAt := t0.Add(time.Minute)

	_, err := f.svc.Deliver(t.Context(), "order-1", "corr-courier")
	require.ErrorIs(t, err, delivery.ErrNotAllowed, "deliver before dispatch")
	_, err = f.svc.Fail(t.Context(), "order-1", "lost", "corr-courier")
	require.ErrorIs(t, err, delivery.ErrNotAllowed, "fail before dispatch")

	f.clock.Set(dispatchedAt)
	s, err := f.svc.Dispatch(t.Context(), "order-1", "corr-courier")
	require.NoError(t, err)
	assert.Equal(t, delivery.StatusDispatched, s.Status)
	_, err = f.svc.Dispatch(t.Context(), "order-1", "corr-courier")
	require.NoError(t, err, "dispatching again is no error")
	_, err = f.svc.Dispatch(t.Context(), "order-2", "corr-courier-2")
	require.NoError(t, err)

	f.clock.Set(t0.Add(time.Hour))
	_, err = f.svc.Deliver(t.Context(), "order-1", "corr-courier")
	require.NoError(t, err)
	_, err = f.svc.Deliver(t.Context(), "order-1", "corr-courier")
	require.NoError(t, err, "delivering again is no error")
	_, err = f.svc.Fail(t.Context(), "order-1", "lost", "corr-courier")
	require.ErrorIs(t, err, delivery.ErrNotAllowed, "fail after delivery")

	_, err = f.svc.Fail(t.Context(), "order-2", "", "corr-courier-2")
	require.ErrorIs(t, err, delivery.ErrInvalidReason)
	_, err = f.svc.Fail(t.Context(), "order-2", "nobody home", "corr-courier-2")
	require.NoError(t, err)

	assert.Equal(t, []apptest.Published{
		{Event: messages.ShipmentScheduled{OrderID: "order-1", OccurredAt: t0}, CorrelationID: "corr-confirm"},
		{Event: messages.ShipmentScheduled{OrderID: "order-2", OccurredAt: t0}, CorrelationID: "corr-confirm-2"},
		{Event: messages.ShipmentDispatched{OrderID: "order-1", OccurredAt: dispatchedAt}, CorrelationID: "corr-courier"},
		{Event: messages.ShipmentDispatched{OrderID: "order-2", OccurredAt: dispatchedAt}, CorrelationID: "corr-courier-2"},
		{Event: messages.ShipmentDelivered{OrderID: "order-1", DispatchedAt: dispatchedAt, OccurredAt: t0.Add(time.Hour)}, CorrelationID: "corr-courier"},
		{Event: messages.ShipmentFailed{OrderID: "order-2", Reason: "nobody home", DispatchedAt: dispatchedAt, OccurredAt: t0.Add(time.Hour)}, CorrelationID: "corr-courier-2"},
	}, f.events.Published())
}

func TestCourier_unknownShipmentIsNotFound(t *testing.T) {
	t.Parallel()
	calls := []struct {
		name string
		call func(ctx context.Context, svc *delivery.Service) error
	}{
		{"Dispatch", func(ctx context.Context, svc *delivery.Service) error {
			_, err := svc.Dispatch(ctx, "nope", "corr")
			return err
		}},
		{"Deliver", func(ctx context.Context, svc *delivery.Service) error {
			_, err := svc.Deliver(ctx, "nope", "corr")
			return err
		}},
		{"Fail", func(ctx context.Context, svc *delivery.Service) error {
			_, err := svc.Fail(ctx, "nope", "lost", "corr")
			return err
		}},
		{"GetShipment", func(ctx context.Context, svc *delivery.Service) error {
			_, err := svc.GetShipment(ctx, "nope")
			return err
		}},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(autoCourier)

			require.ErrorIs(t, tt.call(t.Context(), f.svc), delivery.ErrNotFound)
			_, err := f.repo.Get(t.Context(), "nope")
			require.ErrorIs(t, err, delivery.ErrNotFound, "nothing is stored for an unknown shipment")
		})
	}
}

func TestAdvanceDue_movesShipmentsWhenTheirStepIsDue(t *testing.T) {
	t.Parallel()
	f := newFixture(autoCourier)
	ctx := messages.WithCorrelationID(t.Context(), "corr-confirm")
	require.NoError(t, f.svc.ScheduleShipment(ctx, "order-1", "cust-1", "corr-confirm"))
	dispatchAt := t0.Add(autoCourier.DispatchAfter)
	deliverAt := dispatchAt.Add(autoCourier.DeliverAfter)

	tests := []struct {
		name      string
		at        time.Time
		wantMoved int
		want      delivery.Status
	}{
		{"not before the dispatch is due", dispatchAt.Add(-time.Nanosecond), 0, delivery.StatusScheduled},
		{"dispatched when due", dispatchAt, 1, delivery.StatusDispatched},
		{"dispatched once", dispatchAt.Add(time.Minute), 0, delivery.StatusDispatched},
		{"not before the delivery is due", deliverAt.Add(-time.Nanosecond), 0, delivery.StatusDispatched},
		{"delivered when due", deliverAt, 1, delivery.StatusDelivered},
		{"delivered once", deliverAt.Add(24 * time.Hour), 0, delivery.StatusDelivered},
	}
	for _, tt := range tests { // in order: each step starts where the one before left off
		moved := f.advance(t, tt.at)
		assert.Equal(t, tt.wantMoved, moved, tt.name)
		assert.Equal(t, tt.want, f.stored(t, "order-1").Status, tt.name)
	}

	s := f.stored(t, "order-1")
	assert.Equal(t, dispatchAt, s.DispatchedAt)
	assert.True(t, s.NextStepAt.IsZero())
	assert.Equal(t, []apptest.Published{
		{Event: messages.ShipmentScheduled{OrderID: "order-1", OccurredAt: t0}, CorrelationID: "corr-confirm"},
		{Event: messages.ShipmentDispatched{OrderID: "order-1", OccurredAt: dispatchAt}, CorrelationID: "corr-confirm"},
		{Event: messages.ShipmentDelivered{OrderID: "order-1", DispatchedAt: dispatchAt, OccurredAt: deliverAt}, CorrelationID: "corr-confirm"},
	}, f.events.Published())
}

// The courier acts on behalf of the change that scheduled the shipment: its
// events carry that correlation ID, whatever came in between and whatever the
// context of the round says.
func TestAdvanceDue_eventsCarryTheCorrelationIDOfTheSchedule(t *testing.T) {
	t.Parallel()
	f := newFixture(autoCourier)
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-confirm-1"))
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-2", "cust-2", "corr-confirm-2"))
	// A manual dispatch of order-2 by the courier endpoint, under its own request.
	f.clock.Set(t0.Add(time.Minute))
	_, err := f.svc.Dispatch(t.Context(), "order-2", "corr-courier")
	require.NoError(t, err)

	ctx := messages.WithCorrelationID(t.Context(), "corr-of-the-round")
	for _, at := range []time.Duration{time.Hour, 2 * time.Hour} {
		f.clock.Set(t0.Add(at))
		_, err := f.svc.AdvanceDue(ctx, 100)
		require.NoError(t, err)
	}

	byOrder := map[string][]string{}
	for _, e := range f.events.Published() {
		var orderID string
		switch ev := e.Event.(type) {
		case messages.ShipmentDispatched:
			orderID = ev.OrderID
		case messages.ShipmentDelivered:
			orderID = ev.OrderID
		default:
			continue
		}
		byOrder[orderID] = append(byOrder[orderID], fmt.Sprintf("%T %s", e.Event, e.CorrelationID))
	}
	assert.Equal(t, []string{
		"messages.ShipmentDispatched corr-confirm-1",
		"messages.ShipmentDelivered corr-confirm-1",
	}, byOrder["order-1"])
	assert.Equal(t, []string{
		"messages.ShipmentDispatched corr-courier", // the courier endpoint's own request
		"messages.ShipmentDelivered corr-confirm-2",
	}, byOrder["order-2"])
}

func TestAdvanceDue_honoursTheLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(autoCourier)
	for i := range 3 {
		require.NoError(t, f.svc.ScheduleShipment(t.Context(), fmt.Sprintf("order-%d", i), "cust-1", "corr"))
	}
	f.clock.Set(t0.Add(autoCourier.DispatchAfter))

	first, err := f.svc.AdvanceDue(t.Context(), 2)
	require.NoError(t, err)
	second, err := f.svc.AdvanceDue(t.Context(), 2)
	require.NoError(t, err)
	third, err := f.svc.AdvanceDue(t.Context(), 2)
	require.NoError(t, err)

	assert.Equal(t, []int{2, 1, 0}, []int{first, second, third})
	for i := range 3 {
		assert.Equal(t, delivery.StatusDispatched, f.stored(t, fmt.Sprintf("order-%d", i)).Status)
	}
}

func TestAdvanceDue_manualCourierNeverMoves(t *testing.T) {
	t.Parallel()
	f := newFixture(delivery.Courier{DispatchAfter: time.Minute, DeliverAfter: time.Minute})
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr"))
	assert.True(t, f.stored(t, "order-1").NextStepAt.IsZero())

	assert.Zero(t, f.advance(t, t0.Add(24*time.Hour)))
	_, err := f.svc.Dispatch(t.Context(), "order-1", "corr")
	require.NoError(t, err)
	assert.True(t, f.stored(t, "order-1").NextStepAt.IsZero())
	assert.Zero(t, f.advance(t, t0.Add(48*time.Hour)))

	assert.Equal(t, delivery.StatusDispatched, f.stored(t, "order-1").Status)
}

// staleList is a Repository whose ListDue lets another courier instance take
// every due step between the listing and the update.
type staleList struct {
	delivery.Repository
	other *delivery.Service
}

func (r *staleList) ListDue(ctx context.Context, now time.Time, limit int) ([]delivery.Shipment, error) {
	due, err := r.Repository.ListDue(ctx, now, limit)
	if err != nil {
		return nil, err
	}
	if _, err := r.other.AdvanceDue(ctx, limit); err != nil {
		return nil, err
	}
	return due, nil
}

// Two courier instances race for the same due shipments: each step is taken
// once, and only the instance that took it counts it.
func TestAdvanceDue_stepTakenByAnotherInstance(t *testing.T) {
	t.Parallel()
	repo := memory.NewShipmentRepository()
	other := newFixtureWith(repo, autoCourier)
	f := newFixtureWith(&staleList{Repository: repo, other: other.svc}, autoCourier)
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr"))
	dueAt := t0.Add(autoCourier.DispatchAfter)
	other.clock.Set(dueAt)

	moved := f.advance(t, dueAt)

	assert.Zero(t, moved, "the other instance moved it")
	assert.Equal(t, delivery.StatusDispatched, f.stored(t, "order-1").Status)
	assert.Len(t, other.events.Published(), 1, "dispatched once, by the other instance")
	assert.Len(t, f.events.Published(), 1, "only the schedule")
}

// The simulated courier saves a step, then its publish fails: no message will
// come again for it, the relay publishes it once the grace period is over.
func TestRelayUnpublished_publishesACourierStepWhosePublishFailed(t *testing.T) {
	t.Parallel()
	f := newFixture(autoCourier)
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-confirm"))
	dispatchAt := t0.Add(autoCourier.DispatchAfter)
	f.clock.Set(dispatchAt)
	f.events.FailNext(1)
	_, err := f.svc.AdvanceDue(t.Context(), 100)
	require.ErrorIs(t, err, apptest.ErrBroker)
	require.Equal(t, delivery.StatusDispatched, f.stored(t, "order-1").Status)

	n, err := f.svc.RelayUnpublished(t.Context(), 2*time.Second, 100)
	require.NoError(t, err)
	assert.Zero(t, n, "within the grace period")

	f.clock.Set(dispatchAt.Add(2 * time.Second))
	n, err = f.svc.RelayUnpublished(t.Context(), 2*time.Second, 100)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = f.svc.RelayUnpublished(t.Context(), 2*time.Second, 100)
	require.NoError(t, err)
	assert.Zero(t, n, "published once")

	got := f.events.Published()
	require.Len(t, got, 2)
	assert.Equal(t, apptest.Published{Event: messages.ShipmentDispatched{OrderID: "order-1", OccurredAt: dispatchAt}, CorrelationID: "corr-confirm"}, got[1])
	stored := f.stored(t, "order-1")
	assert.Empty(t, stored.Unpublished())
}

func TestScheduleShipment_duplicateAnnouncesTheLatestStep(t *testing.T) {
	t.Parallel()
	dispatchAt := t0.Add(time.Minute)
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture)
		want  []apptest.Published
	}{
		{"dispatched", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-confirm"))
			f.clock.Set(dispatchAt)
			_, err := f.svc.Dispatch(t.Context(), "order-1", "corr-courier")
			require.NoError(t, err)
		}, []apptest.Published{{Event: messages.ShipmentDispatched{OrderID: "order-1", OccurredAt: dispatchAt}, CorrelationID: "corr-courier"}}},
		{"delivered", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-confirm"))
			f.clock.Set(dispatchAt)
			_, err := f.svc.Dispatch(t.Context(), "order-1", "corr-courier")
			require.NoError(t, err)
			_, err = f.svc.Deliver(t.Context(), "order-1", "corr-courier")
			require.NoError(t, err)
		}, []apptest.Published{{Event: messages.ShipmentDelivered{OrderID: "order-1", DispatchedAt: dispatchAt, OccurredAt: dispatchAt}, CorrelationID: "corr-courier"}}},
		{"cancelled before it was scheduled: nothing to tell", func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.CancelShipment(t.Context(), "order-1", "corr-cancel"))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(delivery.Courier{})
			tt.setup(t, f)
			before := f.events.Published()
			history := f.stored(t, "order-1").History

			require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr-nudge"))

			assert.Equal(t, tt.want, nilIfEmpty(f.events.Published()[len(before):]))
			assert.Equal(t, history, f.stored(t, "order-1").History, "nothing scheduled again")
		})
	}
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// The courier asks the store when a step this service scheduled falls due:
// StepDue says so once per due time, on the service's clock.
func TestStepDue_saysWhenAStepItScheduledFallsDue(t *testing.T) {
	t.Parallel()
	f := newFixture(autoCourier)
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr"))
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-2", "cust-1", "corr"))
	dispatchAt := t0.Add(autoCourier.DispatchAfter)

	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"nothing due at first", t0, false},
		{"not a nanosecond early", dispatchAt.Add(-time.Nanosecond), false},
		{"due: both dispatches", dispatchAt, true},
		{"said once", dispatchAt.Add(time.Millisecond), false},
		{"the deliveries only once dispatched", dispatchAt.Add(autoCourier.DeliverAfter + time.Hour), false},
	}
	for _, tt := range tests { // in order
		f.clock.Set(tt.at)
		assert.Equal(t, tt.want, f.svc.StepDue(), tt.name)
	}

	f.clock.Set(dispatchAt)
	moved, err := f.svc.AdvanceDue(t.Context(), 100)
	require.NoError(t, err)
	require.Equal(t, 2, moved)
	f.clock.Set(dispatchAt.Add(autoCourier.DeliverAfter))
	assert.True(t, f.svc.StepDue(), "the deliveries the dispatches scheduled")
	assert.False(t, f.svc.StepDue())
}

func TestStepDue_manualCourierSchedulesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(delivery.Courier{})
	require.NoError(t, f.svc.ScheduleShipment(t.Context(), "order-1", "cust-1", "corr"))
	f.clock.Set(t0.Add(24 * time.Hour))
	assert.False(t, f.svc.StepDue())
}
