package view_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	app "github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/handlers/view"
	"github.com/orderflow/orderflow/infra/memory"
	"github.com/orderflow/orderflow/messages"
)

func TestRetryHandler(t *testing.T) {
	t.Parallel()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	notice := func(t *testing.T, e messages.MessageRetried) *message.Message {
		t.Helper()
		b, err := json.Marshal(e)
		require.NoError(t, err)
		msg := message.NewMessage("n-1", b)
		msg.Metadata.Set(messages.MetadataCorrelationID, "corr-1")
		msg.Metadata.Set(messages.MetadataTraceParent, "00-"+traceID+"-00f067aa0ba902b7-01")
		return msg
	}
	e := messages.MessageRetried{Service: "inventory", Topic: messages.TopicOrderEvents, Handler: "inventory.order_events",
		MessageUUID: "m-1", OrderID: "o-1", Attempt: 1, Class: "unknown", Error: "odd", OccurredAt: at}
	for _, tc := range []struct {
		name      string
		msg       func(t *testing.T) *message.Message
		wantErr   error
		wantSteps int
	}{
		{name: "a notice is a step, with the correlation and trace IDs of its metadata", msg: func(t *testing.T) *message.Message { return notice(t, e) }, wantSteps: 1},
		{name: "a notice that is no JSON breaks its contract", msg: func(*testing.T) *message.Message { return message.NewMessage("n-2", []byte("nope")) }, wantErr: messages.ErrInvalid},
		{name: "a notice about no order is no step", msg: func(t *testing.T) *message.Message {
			other := e
			other.OrderID = ""
			return notice(t, other)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := memory.NewViewStore()
			svc := app.NewService(st, nil)
			h := view.RetryHandler(svc)
			msg := tc.msg(t)
			err := h(msg)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NoError(t, h(msg), "a redelivered notice")
			o, err := st.GetOrder(t.Context(), "o-1")
			if tc.wantSteps == 0 {
				require.ErrorIs(t, err, app.ErrNotFound, "nothing stored")
				return
			}
			require.NoError(t, err)
			require.Len(t, o.Timeline, tc.wantSteps)
			s := o.Timeline[0]
			assert.Equal(t, "retried", s.Step)
			assert.Equal(t, "inventory", s.Service)
			assert.Equal(t, at, s.At)
			assert.Equal(t, "corr-1", s.CorrelationID)
			assert.Equal(t, traceID, s.TraceID)
			assert.Contains(t, s.Detail, "attempt 1 (unknown)")
		})
	}
}
