package poison_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/components/requestreply"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	app "github.com/orderflow/orderflow/app/poison"
	poisonhandlers "github.com/orderflow/orderflow/handlers/poison"
	"github.com/orderflow/orderflow/infra/memory"
	"github.com/orderflow/orderflow/messages"
)

// replies keeps the result of the last command handled.
type replies struct{ last any }

func (r *replies) ListenForNotifications(context.Context, requestreply.BackendListenForNotificationsParams) (<-chan requestreply.Reply[any], error) {
	return nil, nil
}

func (r *replies) OnCommandProcessed(_ context.Context, p requestreply.BackendOnCommandProcessedParams[any]) error {
	r.last = p.HandlerResult
	return p.HandleErr
}

type noPublish struct{}

func (noPublish) Republish(context.Context, app.Message) error { return nil }

func TestStoreHandlerRecordsAndListTruncatesBigPayloads(t *testing.T) {
	t.Parallel()
	svc := app.NewService("orders", memory.NewPoisonStore(), noPublish{}, nil)
	big := bytes.Repeat([]byte("x"), messages.MaxListedPayload+10)
	msg := message.NewMessage("orders-u1", big)
	msg.Metadata.Set(messages.MetadataPoisonTopic, messages.TopicInventoryEvents)
	msg.Metadata.Set(messages.MetadataPoisonedAt, time.Now().Format(time.RFC3339Nano))
	require.NoError(t, poisonhandlers.StoreHandler(svc)(msg))

	rep := &replies{}
	h := poisonhandlers.CommandHandlers(svc, rep)[0]
	assert.Equal(t, "orders.poison_admin", h.HandlerName())
	require.NoError(t, h.Handle(ctx(t), &messages.PoisonAdmin{Service: "orders", Action: messages.PoisonActionList}))
	list := roundTrip(t, rep.last)
	require.Len(t, list.Entries, 1)
	assert.Equal(t, "orders-u1", list.Entries[0].ID)
	assert.Len(t, list.Entries[0].Payload, messages.MaxListedPayload)
	assert.True(t, list.Entries[0].PayloadTruncated)

	require.NoError(t, h.Handle(ctx(t), &messages.PoisonAdmin{Service: "orders", Action: messages.PoisonActionGet, EntryID: "orders-u1"}))
	one := roundTrip(t, rep.last)
	require.NotNil(t, one.Entry)
	assert.Equal(t, big, one.Entry.Payload, "one entry carries all of its payload")
	assert.False(t, one.Entry.PayloadTruncated)
}

func TestAdminAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cmd     messages.PoisonAdmin
		outcome string
	}{
		{"get of an unknown entry", messages.PoisonAdmin{Service: "orders", Action: messages.PoisonActionGet, EntryID: "orders-x"}, messages.OutcomeNotFound},
		{"requeue of an unknown entry", messages.PoisonAdmin{Service: "orders", Action: messages.PoisonActionRequeue, EntryID: "orders-x"}, messages.OutcomeNotFound},
		{"discard of an unknown entry", messages.PoisonAdmin{Service: "orders", Action: messages.PoisonActionDiscard, EntryID: "orders-x"}, messages.OutcomeNotFound},
		{"an unknown action", messages.PoisonAdmin{Service: "orders", Action: "purge"}, messages.OutcomeInvalid},
		{"another service's command", messages.PoisonAdmin{Service: "inventory", Action: messages.PoisonActionList}, messages.OutcomeInvalid},
		{"a bad cursor", messages.PoisonAdmin{Service: "orders", Action: messages.PoisonActionList, Cursor: "!!"}, messages.OutcomeInvalid},
		{"a bad status", messages.PoisonAdmin{Service: "orders", Action: messages.PoisonActionList, Status: "LOST"}, messages.OutcomeInvalid},
		{"requeue all of nothing", messages.PoisonAdmin{Service: "orders", Action: messages.PoisonActionRequeueAll}, messages.OutcomeOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := app.NewService("orders", memory.NewPoisonStore(), noPublish{}, nil)
			rep := &replies{}
			h := poisonhandlers.CommandHandlers(svc, rep)[0]

			require.NoError(t, h.Handle(ctx(t), &tc.cmd))

			assert.Equal(t, tc.outcome, roundTrip(t, rep.last).Outcome)
		})
	}
}

// ctx is the context a cqrs processor hands a handler: with the command's message.
func ctx(t *testing.T) context.Context {
	return cqrs.CtxWithOriginalMessage(t.Context(), message.NewMessage("cmd-1", nil))
}

func roundTrip(t *testing.T, v any) messages.PoisonAdminResult {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var res messages.PoisonAdminResult
	require.NoError(t, json.Unmarshal(raw, &res))
	return res
}
