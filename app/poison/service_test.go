package poison_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app/poison"
	"github.com/orderflow/orderflow/infra/memory"
	"github.com/orderflow/orderflow/messages"
)

var t0 = time.Date(2026, time.May, 4, 10, 0, 0, 0, time.UTC)

// republisher records what is requeued, failing while err is set.
type republisher struct {
	mu   sync.Mutex
	sent []poison.Message
	err  error
}

func (r *republisher) Republish(_ context.Context, m poison.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.sent = append(r.sent, m)
	return nil
}

func (r *republisher) failWith(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *republisher) all() []poison.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]poison.Message(nil), r.sent...)
}

func newService(t *testing.T) (*poison.Service, *republisher) {
	t.Helper()
	pub := &republisher{}
	return poison.NewService("inventory", memory.NewPoisonStore(), pub, func() time.Time { return t0 }), pub
}

// poisoned is a message as the poison middleware publishes it.
func poisoned(uuid, orderID string, at time.Time) poison.Poisoned {
	return poison.Poisoned{
		UUID:    uuid,
		Payload: []byte(`{"order_id":"` + orderID + `"}`),
		Metadata: map[string]string{
			"name":                            "OrderPlaced",
			messages.MetadataPartitionKey:     orderID,
			messages.MetadataCorrelationID:    "corr-1",
			messages.MetadataPoisonReason:     "unknown: boom",
			messages.MetadataPoisonHandler:    "inventory.order_events",
			messages.MetadataPoisonTopic:      messages.TopicOrderEvents,
			messages.MetadataPoisonSubscriber: "sub",
			messages.MetadataPoisonService:    "inventory",
			messages.MetadataPoisonedAt:       at.Format(time.RFC3339Nano),
			messages.MetadataPoisonUUID:       "original-" + orderID,
		},
	}
}

func TestRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     poison.Poisoned
		wantID string
		check  func(t *testing.T, e poison.Entry)
	}{
		{
			name:   "a message of our middleware",
			in:     poisoned("inventory-u1", "order-1", t0.Add(-time.Minute)),
			wantID: "inventory-u1",
			check: func(t *testing.T, e poison.Entry) {
				assert.Equal(t, "inventory", e.Service)
				assert.Equal(t, "inventory.order_events", e.Handler)
				assert.Equal(t, messages.TopicOrderEvents, e.Topic)
				assert.Equal(t, "order-1", e.OrderID)
				assert.Equal(t, "unknown: boom", e.Reason)
				assert.JSONEq(t, `{"order_id":"order-1"}`, string(e.Payload))
				assert.Equal(t, "OrderPlaced", e.Metadata["name"])
				assert.Equal(t, t0.Add(-time.Minute), e.PoisonedAt)
				assert.Equal(t, poison.StatusPoisoned, e.Status)
			},
		},
		{
			name: "a message of Watermill's middleware: original UUID, no time",
			in: poison.Poisoned{UUID: "u2", Payload: []byte("x"), Metadata: map[string]string{
				messages.MetadataPoisonReason: "r", messages.MetadataPoisonTopic: "t",
			}},
			wantID: "inventory-u2",
			check: func(t *testing.T, e poison.Entry) {
				assert.Equal(t, t0, e.PoisonedAt, "the time it was recorded")
				assert.Equal(t, "t", e.Topic)
			},
		},
		{
			name:   "another service's prefix is not ours",
			in:     poisoned("orders-u3", "order-3", t0),
			wantID: "inventory-orders-u3",
		},
		{
			name: "metadata that is not UTF-8 is kept as text",
			in: poison.Poisoned{UUID: "inventory-u4", Metadata: map[string]string{
				"bad\xff": "v\xfe", messages.MetadataPoisonTopic: "t",
			}},
			wantID: "inventory-u4",
			check: func(t *testing.T, e poison.Entry) {
				assert.Equal(t, "v\uFFFD", e.Metadata["bad\uFFFD"])
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc, _ := newService(t)

			e, err := svc.Record(t.Context(), tc.in)

			require.NoError(t, err)
			assert.Equal(t, tc.wantID, e.ID)
			got, err := svc.Get(t.Context(), tc.wantID)
			require.NoError(t, err)
			assert.Equal(t, e, got)
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestRecordWithoutUUIDIsInvalid(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	_, err := svc.Record(t.Context(), poison.Poisoned{Payload: []byte("x")})
	require.ErrorIs(t, err, messages.ErrInvalid)
}

func TestRecordTwiceIsOneEntry(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	in := poisoned("inventory-u1", "order-1", t0)
	_, err := svc.Record(t.Context(), in)
	require.NoError(t, err)
	_, err = svc.Requeue(t.Context(), "inventory-u1")
	require.NoError(t, err)

	_, err = svc.Record(t.Context(), in)

	require.NoError(t, err)
	page, err := svc.List(t.Context(), poison.List{})
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	assert.Equal(t, poison.StatusRequeued, page.Entries[0].Status, "the redelivered poison message must not undo the requeue")
}

func TestRequeue(t *testing.T) {
	t.Parallel()
	svc, pub := newService(t)
	_, err := svc.Record(t.Context(), poisoned("inventory-u1", "order-1", t0.Add(-time.Hour)))
	require.NoError(t, err)

	e, err := svc.Requeue(t.Context(), "inventory-u1")

	require.NoError(t, err)
	assert.Equal(t, poison.StatusRequeued, e.Status)
	assert.Equal(t, t0, e.RequeuedAt)
	sent := pub.all()
	require.Len(t, sent, 1)
	assert.Equal(t, poison.Message{
		UUID:    "original-order-1",
		Topic:   messages.TopicOrderEvents,
		Payload: []byte(`{"order_id":"order-1"}`),
		Metadata: map[string]string{
			"name": "OrderPlaced", messages.MetadataPartitionKey: "order-1", messages.MetadataCorrelationID: "corr-1",
		},
	}, sent[0], "the payload and metadata, without what the poisoning added")

	_, err = svc.Requeue(t.Context(), "inventory-u1")
	require.ErrorIs(t, err, poison.ErrNotPoisoned, "a second requeue is a no")
	assert.Len(t, pub.all(), 1, "and publishes nothing")
}

func TestRequeueRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, svc *poison.Service)
		id    string
		want  error
	}{
		{"missing", func(*testing.T, *poison.Service) {}, "inventory-nope", poison.ErrNotFound},
		{"discarded", func(t *testing.T, svc *poison.Service) {
			_, err := svc.Record(t.Context(), poisoned("inventory-u1", "o", t0))
			require.NoError(t, err)
			_, err = svc.Discard(t.Context(), "inventory-u1")
			require.NoError(t, err)
		}, "inventory-u1", poison.ErrNotPoisoned},
		{"no original topic", func(t *testing.T, svc *poison.Service) {
			_, err := svc.Record(t.Context(), poison.Poisoned{UUID: "inventory-u1", Payload: []byte("x")})
			require.NoError(t, err)
		}, "inventory-u1", poison.ErrNoTopic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc, pub := newService(t)
			tc.setup(t, svc)

			_, err := svc.Requeue(t.Context(), tc.id)

			require.ErrorIs(t, err, tc.want)
			assert.Empty(t, pub.all())
		})
	}
}

func TestRequeueWhosePublishFailsStaysPoisoned(t *testing.T) {
	t.Parallel()
	svc, pub := newService(t)
	_, err := svc.Record(t.Context(), poisoned("inventory-u1", "order-1", t0))
	require.NoError(t, err)
	errDown := errors.New("broker down")
	pub.failWith(errDown)

	_, err = svc.Requeue(t.Context(), "inventory-u1")

	require.ErrorIs(t, err, errDown)
	e, err := svc.Get(t.Context(), "inventory-u1")
	require.NoError(t, err)
	assert.Equal(t, poison.StatusPoisoned, e.Status)

	pub.failWith(nil)
	e, err = svc.Requeue(t.Context(), "inventory-u1")
	require.NoError(t, err, "it can be requeued once the broker is back")
	assert.Equal(t, poison.StatusRequeued, e.Status)
}

func TestRequeueAll(t *testing.T) {
	t.Parallel()
	svc, pub := newService(t)
	const n = 230 // more than one page of the store
	for i := range n {
		_, err := svc.Record(t.Context(), poisoned(fmt.Sprintf("inventory-u%03d", i), fmt.Sprintf("order-%d", i), t0.Add(time.Duration(i)*time.Millisecond)))
		require.NoError(t, err)
	}
	_, err := svc.Discard(t.Context(), "inventory-u007")
	require.NoError(t, err)
	_, err = svc.Requeue(t.Context(), "inventory-u008")
	require.NoError(t, err)

	count, err := svc.RequeueAll(t.Context())

	require.NoError(t, err)
	assert.Equal(t, n-2, count)
	assert.Len(t, pub.all(), n-1)
	page, err := svc.List(t.Context(), poison.List{Status: string(poison.StatusPoisoned)})
	require.NoError(t, err)
	assert.Empty(t, page.Entries)

	again, err := svc.RequeueAll(t.Context())
	require.NoError(t, err)
	assert.Zero(t, again, "nothing is requeued twice")
}

func TestRequeueAllStopsAtAFailedPublishAndGoesOnLater(t *testing.T) {
	t.Parallel()
	svc, pub := newService(t)
	for i := range 3 {
		_, err := svc.Record(t.Context(), poisoned(fmt.Sprintf("inventory-u%d", i), "o", t0.Add(time.Duration(i)*time.Second)))
		require.NoError(t, err)
	}
	errDown := errors.New("broker down")
	pub.failWith(errDown)
	_, err := svc.RequeueAll(t.Context())
	require.ErrorIs(t, err, errDown)

	pub.failWith(nil)
	count, err := svc.RequeueAll(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 3, count)
}

func TestDiscard(t *testing.T) {
	t.Parallel()
	svc, pub := newService(t)
	_, err := svc.Record(t.Context(), poisoned("inventory-u1", "o", t0))
	require.NoError(t, err)
	_, err = svc.Record(t.Context(), poisoned("inventory-u2", "o", t0))
	require.NoError(t, err)
	_, err = svc.Requeue(t.Context(), "inventory-u2")
	require.NoError(t, err)

	e, err := svc.Discard(t.Context(), "inventory-u1")
	require.NoError(t, err)
	assert.Equal(t, poison.StatusDiscarded, e.Status)
	assert.Equal(t, t0, e.DiscardedAt)
	again, err := svc.Discard(t.Context(), "inventory-u1")
	require.NoError(t, err, "discarding twice is no error")
	assert.Equal(t, e, again)
	got, err := svc.Get(t.Context(), "inventory-u1")
	require.NoError(t, err, "the record is kept")
	assert.JSONEq(t, `{"order_id":"o"}`, string(got.Payload))

	_, err = svc.Discard(t.Context(), "inventory-u2")
	require.ErrorIs(t, err, poison.ErrNotPoisoned, "a requeued entry cannot be discarded")
	_, err = svc.Discard(t.Context(), "inventory-nope")
	require.ErrorIs(t, err, poison.ErrNotFound)
	assert.Len(t, pub.all(), 1)
}

func TestList(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	for i := range 5 {
		_, err := svc.Record(t.Context(), poisoned(fmt.Sprintf("inventory-u%d", i), "o", t0.Add(time.Duration(i)*time.Second)))
		require.NoError(t, err)
	}
	_, err := svc.Discard(t.Context(), "inventory-u3")
	require.NoError(t, err)

	var ids []string
	cursor := ""
	for range 10 {
		page, err := svc.List(t.Context(), poison.List{Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		for _, e := range page.Entries {
			ids = append(ids, e.ID)
		}
		cursor = page.NextCursor
		if cursor == "" {
			break
		}
	}
	assert.Equal(t, []string{"inventory-u4", "inventory-u3", "inventory-u2", "inventory-u1", "inventory-u0"}, ids, "newest first")

	page, err := svc.List(t.Context(), poison.List{Status: string(poison.StatusDiscarded)})
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	assert.Equal(t, "inventory-u3", page.Entries[0].ID)

	_, err = svc.List(t.Context(), poison.List{Status: "LOST"})
	require.ErrorIs(t, err, poison.ErrBadStatus)
	for _, bad := range []string{"!!", "bm9jb2xvbg", "YWJjOmlk"} {
		_, err = svc.List(t.Context(), poison.List{Cursor: bad})
		require.ErrorIs(t, err, poison.ErrBadCursor, bad)
	}
}
