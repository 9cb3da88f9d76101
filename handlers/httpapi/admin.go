package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/orderflow/orderflow/messages"
)

// The admin endpoints act on the services' poison queues. The gateway keeps
// nothing: each request is a PoisonAdmin command to the service that owns the
// queue, named by the service parameter or by the entry id's prefix.

// maxEntryIDLength bounds the {id} of an entry: longer ones name none.
const maxEntryIDLength = 200

// Payload formats of a poison entry's response.
const (
	payloadJSON   = "json"
	payloadText   = "text"
	payloadBase64 = "base64"
)

type poisonEntryResponse struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	Handler string `json:"handler"`
	Topic   string `json:"topic"`
	OrderID string `json:"order_id,omitempty"`
	Reason  string `json:"reason"`
	// Payload is the message's payload: the JSON value itself when it is JSON,
	// else a string of its text, or of its base64 when it is not UTF-8 text.
	Payload       json.RawMessage `json:"payload"`
	PayloadFormat string          `json:"payload_format"`
	// PayloadTruncated marks a payload cut short in a list; GET the entry for all of it.
	PayloadTruncated bool              `json:"payload_truncated,omitempty"`
	Metadata         map[string]string `json:"metadata"`
	PoisonedAt       string            `json:"poisoned_at"`
	Status           string            `json:"status"`
	RequeuedAt       string            `json:"requeued_at,omitempty"`
	DiscardedAt      string            `json:"discarded_at,omitempty"`
}

type poisonListResponse struct {
	Entries    []poisonEntryResponse `json:"entries"`
	NextCursor string                `json:"next_cursor,omitempty"`
}

type requeueAllResponse struct {
	Service  string `json:"service"`
	Requeued int    `json:"requeued"`
}

func toPoisonEntryResponse(e messages.PoisonEntry) poisonEntryResponse {
	out := poisonEntryResponse{
		ID: e.ID, Service: e.Service, Handler: e.Handler, Topic: e.Topic, OrderID: e.OrderID, Reason: e.Reason,
		Metadata: e.Metadata, PoisonedAt: e.PoisonedAt.UTC().Format(timeFormat), Status: e.Status,
		PayloadTruncated: e.PayloadTruncated,
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	if !e.RequeuedAt.IsZero() {
		out.RequeuedAt = e.RequeuedAt.UTC().Format(timeFormat)
	}
	if !e.DiscardedAt.IsZero() {
		out.DiscardedAt = e.DiscardedAt.UTC().Format(timeFormat)
	}
	var text string
	switch {
	case len(e.Payload) > 0 && json.Valid(e.Payload):
		out.Payload, out.PayloadFormat = json.RawMessage(e.Payload), payloadJSON
		return out
	case utf8.Valid(e.Payload):
		text, out.PayloadFormat = string(e.Payload), payloadText
	default:
		text, out.PayloadFormat = base64.StdEncoding.EncodeToString(e.Payload), payloadBase64
	}
	out.Payload, _ = json.Marshal(text) // a string always marshals
	return out
}

// poisonService reads the service query parameter: required, one of the services with a poison queue.
func poisonService(r *http.Request) (string, *fieldError) {
	s := r.URL.Query().Get("service")
	if _, err := messages.PoisonAdminTopic(s); err != nil {
		return "", &fieldError{"service", "is required: one of " + strings.Join(messages.PoisonServices(), ", ")}
	}
	return s, nil
}

// entryID reads the {id} of an entry and the service that owns it.
func entryID(r *http.Request) (id, service string, ok bool) {
	id = mux.Vars(r)["id"]
	if !validToken(id, maxEntryIDLength) {
		return "", "", false
	}
	service, ok = messages.PoisonOwner(id)
	return id, service, ok
}

func (a *api) listPoison(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var errs []fieldError
	service, fe := poisonService(r)
	if fe != nil {
		errs = append(errs, *fe)
	}
	cmd := messages.PoisonAdmin{Service: service, Action: messages.PoisonActionList, Status: q.Get("status"), Cursor: q.Get("cursor"), Limit: messages.DefaultListLimit}
	switch cmd.Status {
	case "", messages.PoisonStatusPoisoned, messages.PoisonStatusRequeued, messages.PoisonStatusDiscarded:
	default:
		errs = append(errs, fieldError{"status", "must be one of POISONED, REQUEUED, DISCARDED"})
	}
	var pageErrs []fieldError
	cmd.Limit, pageErrs = pageParams(q, cmd.Cursor)
	errs = append(errs, pageErrs...)
	if len(errs) > 0 {
		badRequest(w, r, errs...)
		return
	}
	var res messages.PoisonAdminResult
	if err := a.commands.Request(r.Context(), cmd, &res); err != nil {
		a.commandFailed(w, r, err)
		return
	}
	if res.Outcome == messages.OutcomeInvalid {
		badRequest(w, r, fieldError{"cursor", "is not a cursor this API handed out"})
		return
	}
	out := poisonListResponse{Entries: make([]poisonEntryResponse, len(res.Entries)), NextCursor: res.NextCursor}
	for i, e := range res.Entries {
		out.Entries[i] = toPoisonEntryResponse(e)
	}
	writeJSON(w, http.StatusOK, out)
}

// poisonEntryAction serves the endpoints about one entry: get (200), requeue
// (202) and discard (204).
func (a *api) poisonEntryAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, service, ok := entryID(r)
		if !ok {
			writeProblem(w, r, http.StatusNotFound, "Not Found", "no poison queue entry with this id")
			return
		}
		if action == messages.PoisonActionRequeue && a.decodeOrRefuse(w, r, &struct{}{}, true) {
			return
		}
		var res messages.PoisonAdminResult
		if err := a.commands.Request(r.Context(), messages.PoisonAdmin{Service: service, Action: action, EntryID: id}, &res); err != nil {
			a.commandFailed(w, r, err)
			return
		}
		switch {
		case res.Outcome == messages.OutcomeNotFound:
			writeProblem(w, r, http.StatusNotFound, "Not Found", "no poison queue entry with this id")
		case res.Outcome == messages.OutcomeConflict:
			writeProblem(w, r, http.StatusConflict, "Conflict", res.Detail)
		case res.Outcome != messages.OutcomeOK || res.Entry == nil:
			a.logger.ErrorContext(r.Context(), "unexpected poison admin answer", "outcome", res.Outcome, "detail", res.Detail)
			w.Header().Set("Retry-After", "1")
			writeProblem(w, r, http.StatusServiceUnavailable, "Service Unavailable", "the service gave an answer the gateway does not understand")
		case action == messages.PoisonActionDiscard:
			w.WriteHeader(http.StatusNoContent)
		case action == messages.PoisonActionRequeue:
			writeJSON(w, http.StatusAccepted, toPoisonEntryResponse(*res.Entry))
		default:
			writeJSON(w, http.StatusOK, toPoisonEntryResponse(*res.Entry))
		}
	}
}

func (a *api) requeueAllPoison(w http.ResponseWriter, r *http.Request) {
	service, fe := poisonService(r)
	if fe != nil {
		badRequest(w, r, *fe)
		return
	}
	if a.decodeOrRefuse(w, r, &struct{}{}, true) {
		return
	}
	var res messages.PoisonAdminResult
	if err := a.commands.Request(r.Context(), messages.PoisonAdmin{Service: service, Action: messages.PoisonActionRequeueAll}, &res); err != nil {
		a.commandFailed(w, r, err)
		return
	}
	if res.Outcome != messages.OutcomeOK {
		a.logger.ErrorContext(r.Context(), "unexpected poison admin answer", "outcome", res.Outcome, "detail", res.Detail)
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, http.StatusServiceUnavailable, "Service Unavailable", "the service gave an answer the gateway does not understand")
		return
	}
	writeJSON(w, http.StatusAccepted, requeueAllResponse{Service: service, Requeued: res.Requeued})
}
