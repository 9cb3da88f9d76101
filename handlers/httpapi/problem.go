package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/orderflow/orderflow/messages"
)

// problem is an RFC 9457 problem details body; Errors names each offending field.
type problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []fieldError `json:"errors,omitempty"`
}

// fieldError names one offending field with a JSON-path-like name ("items[2].quantity").
type fieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, title, detail string, errs ...fieldError) {
	if detail == "" {
		// A service's answer may come without a detail; the body always has one.
		detail = title
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{
		Type:     "about:blank",
		Title:    title,
		Status:   status,
		Detail:   detail,
		Instance: r.URL.Path,
		Errors:   errs,
	})
}

// badRequest answers 400 naming the offending fields; the detail repeats them
// so a reader of the detail alone knows what to fix.
func badRequest(w http.ResponseWriter, r *http.Request, errs ...fieldError) {
	detail := "invalid request"
	if len(errs) > 0 {
		detail = errs[0].Field + ": " + errs[0].Detail
		if len(errs) > 1 {
			detail += " (and more, see errors)"
		}
	}
	writeProblem(w, r, http.StatusBadRequest, "Bad Request", detail, errs...)
}

// commandFailed answers for a command that got no answer: 503, never a 400,
// always with a Retry-After.
func (a *api) commandFailed(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Retry-After", "1")
	if errors.Is(err, messages.ErrNoReply) {
		writeProblem(w, r, http.StatusServiceUnavailable, "Service Unavailable", "the service did not answer in time; retry later")
		return
	}
	if errors.Is(err, messages.ErrNotSent) {
		a.logger.WarnContext(r.Context(), "command not sent", "error", err)
	} else {
		a.logger.ErrorContext(r.Context(), "command failed", "error", err)
	}
	writeProblem(w, r, http.StatusServiceUnavailable, "Service Unavailable", "the command could not be sent; retry later")
}

// viewFailed answers for a query the view could not answer: 503 with a Retry-After.
func (a *api) viewFailed(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Retry-After", "1")
	a.logger.WarnContext(r.Context(), "the view cannot be read", "error", err)
	writeProblem(w, r, http.StatusServiceUnavailable, "Service Unavailable", "the view cannot be read right now; retry later")
}
