package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/messages"
)

const cannedEntryID = "inventory-5f0c2b1e-9a4d-4d7e-8f3a-2b6c1d0e9f87"

// cannedEntry is a poisoned OrderPlaced of the inventory service.
func cannedEntry(id string) messages.PoisonEntry {
	service, _ := messages.PoisonOwner(id)
	return messages.PoisonEntry{
		ID: id, Service: service, Handler: service + ".order_events", Topic: messages.TopicOrderEvents, OrderID: "order-1",
		Reason:  "unknown: cannot handle this order",
		Payload: []byte(`{"order_id":"order-1","items":[{"sku":"SKU-1","quantity":2}]}`),
		Metadata: map[string]string{
			"name": "OrderPlaced", messages.MetadataPartitionKey: "order-1", messages.MetadataPoisonReason: "unknown: cannot handle this order",
		},
		PoisonedAt: cannedTime,
		Status:     messages.PoisonStatusPoisoned,
	}
}

// answerPoisonAdmin answers PoisonAdmin as a healthy service would.
func answerPoisonAdmin(_ context.Context, c messages.PoisonAdmin) (messages.PoisonAdminResult, error) {
	switch c.Action {
	case messages.PoisonActionList:
		return messages.PoisonAdminResult{Outcome: messages.OutcomeOK, Entries: []messages.PoisonEntry{cannedEntry(cannedEntryID)}, NextCursor: "bmV4dA"}, nil
	case messages.PoisonActionRequeueAll:
		return messages.PoisonAdminResult{Outcome: messages.OutcomeOK, Requeued: 3}, nil
	case messages.PoisonActionRequeue:
		e := cannedEntry(c.EntryID)
		e.Status, e.RequeuedAt = messages.PoisonStatusRequeued, cannedTime.Add(1e9)
		return messages.PoisonAdminResult{Outcome: messages.OutcomeOK, Entry: &e}, nil
	case messages.PoisonActionDiscard:
		e := cannedEntry(c.EntryID)
		e.Status, e.DiscardedAt = messages.PoisonStatusDiscarded, cannedTime.Add(1e9)
		return messages.PoisonAdminResult{Outcome: messages.OutcomeOK, Entry: &e}, nil
	}
	e := cannedEntry(c.EntryID)
	return messages.PoisonAdminResult{Outcome: messages.OutcomeOK, Entry: &e}, nil
}

func TestListPoison(t *testing.T) {
	t.Parallel()
	s := newServer(t, newFakeRequester(), nil)

	res := s.do(t, request{Method: http.MethodGet, Path: "/admin/poison?service=inventory&status=POISONED&limit=5&cursor=abc"})

	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.NoError(t, res.SpecErr)
	var body struct {
		Entries []struct {
			ID            string            `json:"id"`
			Service       string            `json:"service"`
			Handler       string            `json:"handler"`
			Topic         string            `json:"topic"`
			OrderID       string            `json:"order_id"`
			Reason        string            `json:"reason"`
			Payload       json.RawMessage   `json:"payload"`
			PayloadFormat string            `json:"payload_format"`
			Metadata      map[string]string `json:"metadata"`
			PoisonedAt    string            `json:"poisoned_at"`
			Status        string            `json:"status"`
		} `json:"entries"`
		NextCursor string `json:"next_cursor"`
	}
	res.decode(t, &body)
	require.Len(t, body.Entries, 1)
	e := body.Entries[0]
	assert.Equal(t, cannedEntryID, e.ID)
	assert.Equal(t, "inventory", e.Service)
	assert.Equal(t, "inventory.order_events", e.Handler)
	assert.Equal(t, messages.TopicOrderEvents, e.Topic)
	assert.Equal(t, "order-1", e.OrderID)
	assert.Equal(t, "unknown: cannot handle this order", e.Reason)
	assert.JSONEq(t, `{"order_id":"order-1","items":[{"sku":"SKU-1","quantity":2}]}`, string(e.Payload), "a JSON payload is a JSON value")
	assert.Equal(t, "json", e.PayloadFormat)
	assert.Equal(t, "OrderPlaced", e.Metadata["name"])
	assert.Equal(t, "2026-03-01T12:30:00.123456789Z", e.PoisonedAt)
	assert.Equal(t, messages.PoisonStatusPoisoned, e.Status)
	assert.Equal(t, "bmV4dA", body.NextCursor)
	assert.Equal(t, []messages.PoisonAdmin{{Service: "inventory", Action: messages.PoisonActionList, Status: "POISONED", Limit: 5, Cursor: "abc"}},
		sentOf[messages.PoisonAdmin](s.fake))
}

func TestListPoisonDefaultsAndEmptyPage(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	answer(fake, func(context.Context, messages.PoisonAdmin) (messages.PoisonAdminResult, error) {
		return messages.PoisonAdminResult{Outcome: messages.OutcomeOK}, nil
	})
	s := newServer(t, fake, nil)

	res := s.do(t, request{Method: http.MethodGet, Path: "/admin/poison?service=orders"})

	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	assert.JSONEq(t, `{"entries":[]}`, string(res.Body))
	assert.Equal(t, []messages.PoisonAdmin{{Service: "orders", Action: messages.PoisonActionList, Limit: messages.DefaultListLimit}},
		sentOf[messages.PoisonAdmin](fake))
}

func TestPoisonPayloadFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		payload    []byte
		wantFormat string
		want       string // the JSON of payload
	}{
		{"JSON object", []byte(`{"a":1}`), "json", `{"a":1}`},
		{"JSON string", []byte(`"hello"`), "json", `"hello"`},
		{"text", []byte(`not json {`), "text", `"not json {"`},
		{"empty", []byte{}, "text", `""`},
		{"binary", []byte{0xff, 0x00, 0xfe}, "base64", `"` + base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0xfe}) + `"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeRequester()
			answer(fake, func(_ context.Context, c messages.PoisonAdmin) (messages.PoisonAdminResult, error) {
				e := cannedEntry(c.EntryID)
				e.Payload = tc.payload
				return messages.PoisonAdminResult{Outcome: messages.OutcomeOK, Entry: &e}, nil
			})
			s := newServer(t, fake, nil)

			res := s.do(t, request{Method: http.MethodGet, Path: "/admin/poison/" + cannedEntryID})

			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			var body struct {
				Payload       json.RawMessage `json:"payload"`
				PayloadFormat string          `json:"payload_format"`
			}
			res.decode(t, &body)
			assert.Equal(t, tc.wantFormat, body.PayloadFormat)
			assert.JSONEq(t, tc.want, string(body.Payload))
		})
	}
}

func TestPoisonAdminRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantFields []string
	}{
		{"list without service", http.MethodGet, "/admin/poison", "", []string{"service"}},
		{"list of an unknown service", http.MethodGet, "/admin/poison?service=gateway", "", []string{"service"}},
		{"list with a bad status", http.MethodGet, "/admin/poison?service=orders&status=LOST", "", []string{"status"}},
		{"list with limit 0", http.MethodGet, "/admin/poison?service=orders&limit=0", "", []string{"limit"}},
		{"list with limit 101", http.MethodGet, "/admin/poison?service=orders&limit=101", "", []string{"limit"}},
		{"list with limit x", http.MethodGet, "/admin/poison?service=orders&limit=x", "", []string{"limit"}},
		{"list with a long cursor", http.MethodGet, "/admin/poison?service=orders&cursor=" + strings.Repeat("c", 513), "", []string{"cursor"}},
		{"list with everything wrong", http.MethodGet, "/admin/poison?status=x&limit=-1", "", []string{"service", "status", "limit"}},
		{"requeue all without service", http.MethodPost, "/admin/poison/requeue", "", []string{"service"}},
		{"requeue all with a body", http.MethodPost, "/admin/poison/requeue?service=orders", `{"all":true}`, []string{"all"}},
		{"requeue with a body", http.MethodPost, "/admin/poison/" + cannedEntryID + "/requeue", `{"force":true}`, []string{"force"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, newFakeRequester(), nil)

			res := s.do(t, request{Method: tc.method, Path: tc.path, Body: tc.body})

			require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
			assert.Subset(t, res.problem(t).fields(), tc.wantFields)
			assert.Empty(t, s.fake.Sent(), "a refused request sends nothing")
		})
	}
}

func TestListPoisonBadCursorFromTheService(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	answer(fake, func(context.Context, messages.PoisonAdmin) (messages.PoisonAdminResult, error) {
		return messages.PoisonAdminResult{Outcome: messages.OutcomeInvalid, Detail: "malformed cursor"}, nil
	})
	s := newServer(t, fake, nil)

	res := s.do(t, request{Method: http.MethodGet, Path: "/admin/poison?service=delivery&cursor=zzz"})

	require.Equal(t, http.StatusBadRequest, res.Status)
	assert.Equal(t, []string{"cursor"}, res.problem(t).fields())
}

func TestPoisonEntryEndpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		outcome    string // "" answers as a healthy service
		wantStatus int
		wantAction string // "" when nothing may be sent
		wantBody   string // a status the body must show, when not empty
	}{
		{"get", http.MethodGet, "/admin/poison/" + cannedEntryID, "", http.StatusOK, messages.PoisonActionGet, messages.PoisonStatusPoisoned},
		{"get unknown", http.MethodGet, "/admin/poison/" + cannedEntryID, messages.OutcomeNotFound, http.StatusNotFound, messages.PoisonActionGet, ""},
		{"requeue", http.MethodPost, "/admin/poison/" + cannedEntryID + "/requeue", "", http.StatusAccepted, messages.PoisonActionRequeue, messages.PoisonStatusRequeued},
		{"requeue unknown", http.MethodPost, "/admin/poison/" + cannedEntryID + "/requeue", messages.OutcomeNotFound, http.StatusNotFound, messages.PoisonActionRequeue, ""},
		{"requeue not poisoned", http.MethodPost, "/admin/poison/" + cannedEntryID + "/requeue", messages.OutcomeConflict, http.StatusConflict, messages.PoisonActionRequeue, ""},
		{"discard", http.MethodDelete, "/admin/poison/" + cannedEntryID, "", http.StatusNoContent, messages.PoisonActionDiscard, ""},
		{"discard unknown", http.MethodDelete, "/admin/poison/" + cannedEntryID, messages.OutcomeNotFound, http.StatusNotFound, messages.PoisonActionDiscard, ""},
		{"discard requeued", http.MethodDelete, "/admin/poison/" + cannedEntryID, messages.OutcomeConflict, http.StatusConflict, messages.PoisonActionDiscard, ""},
		{"id of no service", http.MethodGet, "/admin/poison/gateway-123", "", http.StatusNotFound, "", ""},
		{"id without a prefix", http.MethodGet, "/admin/poison/5f0c2b1e", "", http.StatusNotFound, "", ""},
		{"id too long", http.MethodDelete, "/admin/poison/orders-" + strings.Repeat("x", 200), "", http.StatusNotFound, "", ""},
		{"requeue of an id of no service", http.MethodPost, "/admin/poison/nobody-1/requeue", "", http.StatusNotFound, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeRequester()
			if tc.outcome != "" {
				answer(fake, func(context.Context, messages.PoisonAdmin) (messages.PoisonAdminResult, error) {
					return messages.PoisonAdminResult{Outcome: tc.outcome, Detail: "it is REQUEUED"}, nil
				})
			}
			s := newServer(t, fake, nil)

			res := s.do(t, request{Method: tc.method, Path: tc.path})

			require.Equal(t, tc.wantStatus, res.Status, string(res.Body))
			require.NoError(t, res.SpecErr)
			sent := sentOf[messages.PoisonAdmin](fake)
			if tc.wantAction == "" {
				assert.Empty(t, sent)
				return
			}
			require.Len(t, sent, 1)
			assert.Equal(t, messages.PoisonAdmin{Service: "inventory", Action: tc.wantAction, EntryID: cannedEntryID}, sent[0],
				"the id's prefix names the service that is asked")
			if tc.wantStatus == http.StatusNoContent {
				assert.Empty(t, res.Body)
			}
			if tc.wantBody != "" {
				var body struct {
					ID     string `json:"id"`
					Status string `json:"status"`
				}
				res.decode(t, &body)
				assert.Equal(t, cannedEntryID, body.ID)
				assert.Equal(t, tc.wantBody, body.Status)
			}
		})
	}
}

func TestRequeueAllPoison(t *testing.T) {
	t.Parallel()
	s := newServer(t, newFakeRequester(), nil)

	res := s.do(t, request{Method: http.MethodPost, Path: "/admin/poison/requeue?service=delivery"})

	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	assert.JSONEq(t, `{"service":"delivery","requeued":3}`, string(res.Body))
	assert.Equal(t, []messages.PoisonAdmin{{Service: "delivery", Action: messages.PoisonActionRequeueAll}}, sentOf[messages.PoisonAdmin](s.fake))
}

func TestPoisonAdminWithoutAnswerIsServiceUnavailable(t *testing.T) {
	t.Parallel()
	for _, req := range []request{
		{Method: http.MethodGet, Path: "/admin/poison?service=orders"},
		{Method: http.MethodGet, Path: "/admin/poison/orders-1"},
		{Method: http.MethodPost, Path: "/admin/poison/orders-1/requeue"},
		{Method: http.MethodDelete, Path: "/admin/poison/orders-1"},
		{Method: http.MethodPost, Path: "/admin/poison/requeue?service=orders"},
	} {
		t.Run(req.Method+" "+req.Path, func(t *testing.T) {
			t.Parallel()
			fake := newFakeRequester()
			fail[messages.PoisonAdmin](fake, fmt.Errorf("%w: PoisonAdmin", messages.ErrNoReply))
			s := newServer(t, fake, nil)

			res := s.do(t, req)

			require.Equal(t, http.StatusServiceUnavailable, res.Status)
			assert.NotEmpty(t, res.Header.Get("Retry-After"))
		})
	}
}

func TestListPoisonShowsATruncatedPayloadAsSuch(t *testing.T) {
	t.Parallel()
	fake := newFakeRequester()
	answer(fake, func(_ context.Context, c messages.PoisonAdmin) (messages.PoisonAdminResult, error) {
		e := cannedEntry(cannedEntryID)
		e.Payload, e.PayloadTruncated = e.Payload[:10], true
		return messages.PoisonAdminResult{Outcome: messages.OutcomeOK, Entries: []messages.PoisonEntry{e}}, nil
	})
	s := newServer(t, fake, nil)

	res := s.do(t, request{Method: http.MethodGet, Path: "/admin/poison?service=inventory"})

	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var body struct {
		Entries []struct {
			Payload          json.RawMessage `json:"payload"`
			PayloadFormat    string          `json:"payload_format"`
			PayloadTruncated bool            `json:"payload_truncated"`
		} `json:"entries"`
	}
	res.decode(t, &body)
	require.Len(t, body.Entries, 1)
	assert.True(t, body.Entries[0].PayloadTruncated)
	assert.Equal(t, "text", body.Entries[0].PayloadFormat)
	assert.JSONEq(t, `"{\"order_id"`, string(body.Entries[0].Payload))
}
