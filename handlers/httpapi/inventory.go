package httpapi

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/orderflow/orderflow/messages"
)

// errNoStock is a reply to SetStock that says ok but carries no levels: a bug
// of the service, answered as unavailable rather than with a body off the contract.
var errNoStock = errors.New("reply without stock levels")

type setStockRequest struct {
	OnHand json.RawMessage `json:"on_hand"`
}

type stockResponse struct {
	SKU       string `json:"sku"`
	OnHand    int    `json:"on_hand"`
	Reserved  int    `json:"reserved"`
	Available int    `json:"available"`
}

func toStockResponse(l messages.StockLevel) stockResponse {
	return stockResponse{SKU: l.SKU, OnHand: l.OnHand, Reserved: l.Reserved, Available: l.Available}
}

type stockListResponse struct {
	Stock []stockResponse `json:"stock"`
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
	onHand, present, err := rawInt(req.OnHand, math.MinInt32, math.MaxInt32)
	switch {
	case err != nil || present && messages.CheckOnHand(onHand) != "":
		badRequest(w, r, fieldError{"on_hand", messages.OnHandDetail})
		return
	case !present:
		badRequest(w, r, fieldError{"on_hand", "is required: an integer from 0 to " + strconv.Itoa(messages.MaxOnHand)})
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
		// 200 only once GET /inventory/{sku} shows the change: merged into the
		// view (unless the view holds a later level already).
		if err := a.views.StockLevel(r.Context(), *res.Stock, time.Time{}); err != nil {
			a.viewFailed(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, toStockResponse(*res.Stock))
	}
}

func (a *api) getStock(w http.ResponseWriter, r *http.Request) {
	sku, ok := skuParam(w, r)
	if !ok {
		return
	}
	l, err := a.views.Stock(r.Context(), sku)
	if err != nil {
		a.viewAnswerFailed(w, r, err, "no stock is recorded for this SKU")
		return
	}
	writeJSON(w, http.StatusOK, toStockResponse(l.Message()))
}

func (a *api) listStock(w http.ResponseWriter, r *http.Request) {
	all, err := a.views.AllStock(r.Context())
	if err != nil {
		a.viewFailed(w, r, err)
		return
	}
	out := stockListResponse{Stock: make([]stockResponse, len(all))}
	for i, l := range all {
		out.Stock[i] = toStockResponse(l.Message())
	}
	writeJSON(w, http.StatusOK, out)
}
