package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/orderflow/orderflow/messages"
)

// errNoStock is a reply to SetStock that says ok but carries no levels: a bug
// of the service, answered as unavailable rather than with a body off the contract.
var errNoStock = errors.New("reply without stock levels")

type setStockRequest struct {
	OnHand json.RawMessage `json:"on_hand"`
}

type stockListResponse struct {
	Stock []messages.StockLevel `json:"stock"`
}

func skuParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	sku := mux.Vars(r)["sku"]
	if !messages.ValidSKU(sku) {
		badRequest(w, r, fieldError{"sku", "must be 1 to 64 characters out of letters, digits, '-', '_' and '.'"})
		return "", false
	}
	return sku, true
}

func (a *api) setStock(w http.ResponseWriter, r *http.Request) {
	sku, ok := skuParam(w, r)
	if !ok {
		return
	}
	var req setStockRequest
	if a.decodeOrRefuse(w, r, &req, false) {
		return
	}
	onHand, present, err := rawInt(req.OnHand, 0, messages.MaxOnHand)
	if err != nil {
		badRequest(w, r, fieldError{"on_hand", err.Error()})
		return
	}
	if !present {
		badRequest(w, r, fieldError{"on_hand", "is required: an integer from 0 to 1000000000"})
		return
	}
	p, _ := PrincipalFrom(r.Context())
	var res messages.StockResult
	if err := a.commands.Request(r.Context(), messages.SetStock{SKU: sku, OnHand: onHand, By: p.ID}, &res); err != nil {
		a.commandFailed(w, r, err)
		return
	}
	switch {
	case res.Outcome == messages.OutcomeConflict:
		writeProblem(w, r, http.StatusConflict, "Conflict", res.Detail, fieldError{"on_hand", "is below the reserved stock"})
	case res.Outcome == messages.OutcomeInvalid:
		badRequest(w, r, fieldError{"on_hand", res.Detail})
	case res.Stock == nil:
		a.commandFailed(w, r, errNoStock)
	default:
		writeJSON(w, http.StatusOK, res.Stock)
	}
}

func (a *api) getStock(w http.ResponseWriter, r *http.Request) {
	sku, ok := skuParam(w, r)
	if !ok {
		return
	}
	var res messages.StockResult
	if err := a.commands.Request(r.Context(), messages.GetStock{SKU: sku}, &res); err != nil {
		a.commandFailed(w, r, err)
		return
	}
	if res.Outcome != messages.OutcomeOK || res.Stock == nil {
		writeProblem(w, r, http.StatusNotFound, "Not Found", "no stock is recorded for this SKU")
		return
	}
	writeJSON(w, http.StatusOK, res.Stock)
}

func (a *api) listStock(w http.ResponseWriter, r *http.Request) {
	var res messages.ListStockResult
	if err := a.commands.Request(r.Context(), messages.ListStock{}, &res); err != nil {
		a.commandFailed(w, r, err)
		return
	}
	if res.Stock == nil {
		res.Stock = []messages.StockLevel{}
	}
	writeJSON(w, http.StatusOK, stockListResponse{Stock: res.Stock})
}
