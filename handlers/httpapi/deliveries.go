package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/messages"
)

type shipmentResponse struct {
	OrderID string                `json:"order_id"`
	Status  string                `json:"status"`
	History []statusEntryResponse `json:"history"`
}

type failRequest struct {
	Reason json.RawMessage `json:"reason"`
}

func (a *api) getDelivery(w http.ResponseWriter, r *http.Request) {
	id, ok := orderID(r)
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "Not Found", "no shipment for this order")
		return
	}
	sh, err := a.views.Shipment(r.Context(), id)
	if err != nil {
		a.viewAnswerFailed(w, r, err, "no shipment for this order (yet)")
		return
	}
	writeJSON(w, http.StatusOK, shipmentResponse{OrderID: sh.OrderID, Status: sh.Status, History: toHistory(sh.History)})
}

// courierStep serves POST /deliveries/{id}/{dispatch,deliver,fail}.
func (a *api) courierStep(step string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := orderID(r)
		if !ok {
			writeProblem(w, r, http.StatusNotFound, "Not Found", "no shipment for this order")
			return
		}
		var cmd any
		switch step {
		case "dispatch":
			if a.decodeOrRefuse(w, r, &struct{}{}, true) {
				return
			}
			cmd = messages.DispatchShipment{OrderID: id}
		case "deliver":
			if a.decodeOrRefuse(w, r, &struct{}{}, true) {
				return
			}
			cmd = messages.DeliverShipment{OrderID: id}
		case "fail":
			var req failRequest
			if a.decodeOrRefuse(w, r, &req, false) {
				return
			}
			reason, present, err := rawString(req.Reason)
			switch {
			case err != nil:
				badRequest(w, r, fieldError{"reason", err.Error()})
				return
			case !present || reason == "":
				badRequest(w, r, fieldError{"reason", "is required and must not be empty"})
				return
			case messages.CheckReason(reason) != "":
				badRequest(w, r, fieldError{"reason", messages.CheckReason(reason)})
				return
			}
			cmd = messages.FailShipment{OrderID: id, Reason: reason}
		}
		var res messages.ShipmentCommandResult
		if err := a.commands.Request(r.Context(), cmd, &res); err != nil {
			a.commandFailed(w, r, err)
			return
		}
		if res.Shipment != nil {
			ctx, cancel := mergeContext(r)
			err := a.views.MergeShipment(ctx, *res.Shipment, view.Source{TraceID: messages.TraceID(r.Context())})
			cancel()
			if err != nil {
				a.logger.WarnContext(r.Context(), "could not merge a shipment into the view; its events will", "order_id", id, "error", err)
			}
		}
		switch res.Outcome {
		case messages.OutcomeNotFound:
			writeProblem(w, r, http.StatusNotFound, "Not Found", "no shipment for this order (yet)")
		case messages.OutcomeConflict:
			writeProblem(w, r, http.StatusConflict, "Conflict", res.Detail)
		case messages.OutcomeInvalid:
			badRequest(w, r, fieldError{"reason", res.Detail})
		default:
			writeJSON(w, http.StatusAccepted, shipmentAccepted{OrderID: id, Status: res.Status})
		}
	}
}

type shipmentAccepted struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
}
