package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// orderPage is an order with its timeline, or its history while the gateway
// has no timeline endpoint.
type orderPage struct {
	Title    string
	CSRF     string
	Order    orderJSON
	Items    string
	Shipment string
	// Timeline is the steps of GET /orders/{id}/timeline; HasTimeline is
	// false when the endpoint is not there (404) or failed (TimelineNote says).
	HasTimeline  bool
	Timeline     []timelineStep
	TimelineNote string
	History      []historyRow
}

type historyRow struct {
	Status, At, Reason, CorrelationID string
}

// timelineStep is one step of the timeline; the keys the dashboard knows are
// shown in their columns, any others in Other.
type timelineStep struct {
	At, Service, Step, Detail, CorrelationID, TraceID string
	Other                                             string
}

func (d *dashboard) orderPage(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	if !validToken(id) || len(id) > 128 {
		d.render(w, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: "There is no order with this id."})
		return
	}
	path := "/orders/" + url.PathEscape(id)
	var o orderJSON
	res := d.call(r, s.token, http.MethodGet, path, nil, &o)
	switch {
	case res.status == http.StatusUnauthorized:
		d.expired(w, r)
		return
	case res.status == http.StatusNotFound:
		d.render(w, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: "There is no order with this id."})
		return
	case !res.ok():
		d.render(w, http.StatusServiceUnavailable, "error", errorPage{Title: "Order unavailable", Message: "The order could not be read: " + res.describe()})
		return
	}
	p := orderPage{Title: "Order " + o.OrderID, CSRF: s.csrf, Order: o, Items: itemsText(o.Items)}
	for _, h := range o.History {
		p.History = append(p.History, historyRow(h))
	}
	var ship struct {
		Status string `json:"status"`
	}
	if sr := d.call(r, s.token, http.MethodGet, path+"/delivery", nil, &ship); sr.ok() {
		p.Shipment = ship.Status
	} else if sr.status == http.StatusNotFound {
		p.Shipment = "none yet"
	} else {
		p.Shipment = "unknown: " + sr.describe()
	}
	tr := d.call(r, s.token, http.MethodGet, path+"/timeline", nil, nil)
	switch {
	case tr.ok():
		steps, err := parseTimeline(tr.body)
		if err != nil {
			p.TimelineNote = "The timeline could not be read (" + err.Error() + "); the order's own history follows."
		} else {
			p.HasTimeline, p.Timeline = true, steps
		}
	case tr.status == http.StatusNotFound:
		p.TimelineNote = "This gateway has no timeline across services for this order yet; the order's own history follows."
	default:
		p.TimelineNote = "The timeline is unavailable right now (" + tr.describe() + "); the order's own history follows."
	}
	d.render(w, http.StatusOK, "order", p)
}

// parseTimeline reads a timeline answer without holding it to one schema:
// the steps are the first array of objects in the answer (or the answer
// itself when it is an array), and each step's well-known keys are picked
// out under their usual names.
func parseTimeline(body []byte) ([]timelineStep, error) {
	var raw []map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return nil, fmt.Errorf("not JSON")
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		// Prefer the usual names, then any array of objects.
		sort.SliceStable(keys, func(i, j int) bool { return usual(keys[i]) && !usual(keys[j]) })
		for _, k := range keys {
			if bytes.HasPrefix(bytes.TrimSpace(obj[k]), []byte("[")) && json.Unmarshal(obj[k], &raw) == nil {
				break
			}
			raw = nil
		}
	}
	pick := func(m map[string]any, names ...string) string {
		for _, n := range names {
			if v, ok := m[n]; ok && v != nil {
				delete(m, n)
				if s, ok := v.(string); ok {
					return s
				}
				b, _ := json.Marshal(v)
				return string(b)
			}
		}
		return ""
	}
	steps := make([]timelineStep, 0, len(raw))
	for _, m := range raw {
		st := timelineStep{
			At:            pick(m, "at", "time", "timestamp", "occurred_at"),
			Service:       pick(m, "service", "source"),
			Step:          pick(m, "step", "type", "kind", "event", "name", "status"),
			Detail:        pick(m, "detail", "reason", "description", "message"),
			CorrelationID: pick(m, "correlation_id"),
			TraceID:       pick(m, "trace_id"),
		}
		var other []string
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			other = append(other, k+"="+pick(m, k))
		}
		st.Other = strings.Join(other, " ")
		steps = append(steps, st)
	}
	return steps, nil
}

func usual(k string) bool { return k == "steps" || k == "timeline" || k == "events" || k == "entries" }
