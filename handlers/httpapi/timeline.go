package httpapi

import (
	"net/http"
)

type timelineStepResponse struct {
	Step          string `json:"step"`
	Service       string `json:"service"`
	SKU           string `json:"sku,omitempty"`
	At            string `json:"at"`
	CorrelationID string `json:"correlation_id"`
	TraceID       string `json:"trace_id"`
	Detail        string `json:"detail,omitempty"`
}

type timelineResponse struct {
	OrderID string                 `json:"order_id"`
	Status  string                 `json:"status"`
	Steps   []timelineStepResponse `json:"steps"`
}

// getTimeline serves GET /orders/{id}/timeline: every step of the order, in
// causal order, whichever service took it, from the view.
func (a *api) getTimeline(w http.ResponseWriter, r *http.Request) {
	o, ok := a.viewOrder(w, r)
	if !ok {
		return
	}
	out := timelineResponse{OrderID: o.ID, Status: o.Status, Steps: make([]timelineStepResponse, len(o.Timeline))}
	for i, s := range o.Timeline {
		out.Steps[i] = timelineStepResponse{Step: s.Step, Service: s.Service, SKU: s.SKU, At: s.At.UTC().Format(timeFormat),
			CorrelationID: s.CorrelationID, TraceID: s.TraceID, Detail: s.Detail}
	}
	writeJSON(w, http.StatusOK, out)
}
