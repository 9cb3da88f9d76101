package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/messages"
)

// HeaderIdempotencyKey makes POST /orders safe to retry.
const HeaderIdempotencyKey = "Idempotency-Key"

// idempotencyNamespace derives order ids from idempotency keys, so a retried
// request names the same order and the orders service, idempotent by order id,
// stores it once, whichever gateway instance the retry reaches.
var idempotencyNamespace = uuid.MustParse("8f0e2f9c-52b8-4a6e-9d4c-6f0b7c1e4a11")

type placeOrderRequest struct {
	CustomerID json.RawMessage `json:"customer_id"`
	// Items are decoded one by one, so that an error names the item: "items[2].colour".
	Items []json.RawMessage `json:"items"`
}

type placeItemRequest struct {
	SKU      json.RawMessage `json:"sku"`
	Quantity json.RawMessage `json:"quantity"`
}

type orderAccepted struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
}

type orderResponse struct {
	OrderID    string                `json:"order_id"`
	CustomerID string                `json:"customer_id"`
	Items      []messages.Item       `json:"items"`
	Status     string                `json:"status"`
	Reason     string                `json:"reason,omitempty"`
	History    []statusEntryResponse `json:"history"`
	CreatedAt  string                `json:"created_at"`
	UpdatedAt  string                `json:"updated_at"`
}

type statusEntryResponse struct {
	Status        string `json:"status"`
	At            string `json:"at"`
	Reason        string `json:"reason,omitempty"`
	CorrelationID string `json:"correlation_id"`
}

type orderListResponse struct {
	Orders     []orderResponse `json:"orders"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func toOrderResponse(o messages.Order) orderResponse {
	return orderResponse{
		OrderID:    o.OrderID,
		CustomerID: o.CustomerID,
		Items:      o.Items,
		Status:     o.Status,
		Reason:     o.Reason,
		History:    toHistory(o.History),
		CreatedAt:  o.CreatedAt.UTC().Format(timeFormat),
		UpdatedAt:  o.UpdatedAt.UTC().Format(timeFormat),
	}
}

func toHistory(h []messages.StatusEntry) []statusEntryResponse {
	out := make([]statusEntryResponse, len(h))
	for i, e := range h {
		out[i] = statusEntryResponse{Status: e.Status, At: e.At.UTC().Format(timeFormat), Reason: e.Reason, CorrelationID: e.CorrelationID}
	}
	return out
}

// validatePlaceOrder checks every field and returns all that are wrong;
// ownCustomer is the customer_id when the body leaves it out (a customer
// placing its own order), or empty when it is required.
func validatePlaceOrder(req placeOrderRequest, ownCustomer string) (messages.PlaceOrder, []fieldError) {
	var errs []fieldError
	cmd := messages.PlaceOrder{}
	customerID, present, err := rawString(req.CustomerID)
	if !present && err == nil && ownCustomer != "" {
		customerID, present = ownCustomer, true
	}
	switch {
	case err != nil:
		errs = append(errs, fieldError{"customer_id", err.Error()})
	case !present || strings.TrimSpace(customerID) == "":
		errs = append(errs, fieldError{"customer_id", "is required and must not be empty"})
	case len(customerID) > messages.MaxCustomerIDLength:
		errs = append(errs, fieldError{"customer_id", fmt.Sprintf("must be at most %d characters", messages.MaxCustomerIDLength)})
	default:
		cmd.CustomerID = customerID
	}
	switch {
	case req.Items == nil:
		errs = append(errs, fieldError{"items", "is required: an order has at least one item"})
	case len(req.Items) == 0:
		errs = append(errs, fieldError{"items", "must not be empty: an order has at least one item"})
	case len(req.Items) > messages.MaxItems:
		errs = append(errs, fieldError{"items", fmt.Sprintf("must have at most %d items, not %d", messages.MaxItems, len(req.Items))})
	}
	seen := map[string]bool{}
	for i, raw := range req.Items {
		if len(req.Items) > messages.MaxItems {
			break
		}
		field := fmt.Sprintf("items[%d]", i)
		var it placeItemRequest
		if fe := decodeNested(raw, &it, field); fe != nil {
			errs = append(errs, *fe)
			continue
		}
		sku, present, err := rawString(it.SKU)
		switch {
		case err != nil:
			errs = append(errs, fieldError{field + ".sku", err.Error()})
		case !present || sku == "":
			errs = append(errs, fieldError{field + ".sku", "is required and must not be empty"})
		case len(sku) > messages.MaxSKULength:
			errs = append(errs, fieldError{field + ".sku", fmt.Sprintf("must be at most %d characters", messages.MaxSKULength)})
		case !messages.ValidSKU(sku):
			errs = append(errs, fieldError{field + ".sku", "may hold only letters, digits, '-', '_' and '.'"})
		case seen[sku]:
			errs = append(errs, fieldError{field + ".sku", "appears more than once; put the whole quantity on one item"})
		default:
			seen[sku] = true
		}
		qty, present, err := rawInt(it.Quantity, messages.MinQuantity, messages.MaxQuantity)
		switch {
		case err != nil:
			errs = append(errs, fieldError{field + ".quantity", err.Error()})
		case !present:
			errs = append(errs, fieldError{field + ".quantity", fmt.Sprintf("is required: an integer from %d to %d", messages.MinQuantity, messages.MaxQuantity)})
		}
		cmd.Items = append(cmd.Items, messages.Item{SKU: sku, Quantity: qty})
	}
	return cmd, errs
}

func (a *api) placeOrder(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get(HeaderIdempotencyKey)
	if _, given := r.Header[http.CanonicalHeaderKey(HeaderIdempotencyKey)]; given && !validToken(key, 255) {
		badRequest(w, r, fieldError{"Idempotency-Key", "must be 1 to 255 printable ASCII characters"})
		return
	}
	var req placeOrderRequest
	if a.decodeOrRefuse(w, r, &req, false) {
		return
	}
	p, _ := PrincipalFrom(r.Context())
	cmd, errs := validatePlaceOrder(req, p.CustomerID)
	if len(errs) > 0 {
		badRequest(w, r, errs...)
		return
	}
	customerID, ok := customerScope(w, r, "customer_id", cmd.CustomerID, true)
	if !ok {
		return
	}
	cmd.CustomerID = customerID
	// A customer's own orders are held to the caps on its open orders.
	cmd.Capped = p.Role == RoleCustomer
	if key != "" {
		// Scoped by principal and customer: nobody can take another's key first.
		cmd.OrderID = uuid.NewSHA1(idempotencyNamespace, []byte(p.ID+"\x00"+cmd.CustomerID+"\x00"+key)).String()
	} else {
		cmd.OrderID = uuid.Must(uuid.NewV7()).String()
	}
	var res messages.PlaceOrderResult
	err := a.commands.Request(r.Context(), cmd, &res)
	if errors.Is(err, messages.ErrNoReply) {
		// The broker took the command (a send that failed is ErrNotSent, a 503):
		// the order will be stored when the orders service gets to it. The id is
		// known, so the client can follow it.
		w.Header().Set("Location", "/orders/"+cmd.OrderID)
		writeJSON(w, http.StatusAccepted, orderAccepted{OrderID: cmd.OrderID, Status: messages.OrderStatusPending})
		return
	}
	if err != nil {
		a.commandFailed(w, r, err)
		return
	}
	if res.Outcome == messages.OutcomeLimited {
		writeProblem(w, r, http.StatusConflict, "Conflict", res.Detail)
		return
	}
	if res.Outcome == messages.OutcomeConflict {
		writeProblem(w, r, http.StatusUnprocessableEntity, "Unprocessable Content",
			"this Idempotency-Key was already used for a different order", fieldError{"Idempotency-Key", "already used for a different order"})
		return
	}
	status := messages.OrderStatusPending
	if res.Order != nil {
		status = res.Order.Status
		// Read-your-writes: GET /orders/{id} right after this 202 answers 200.
		a.mergeOrder(r, *res.Order)
	}
	w.Header().Set("Location", "/orders/"+cmd.OrderID)
	writeJSON(w, http.StatusAccepted, orderAccepted{OrderID: cmd.OrderID, Status: status})
}

// decodeOrRefuse decodes the body and answers 400 or 413 if it cannot; it
// reports whether it answered.
func (a *api) decodeOrRefuse(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) bool {
	fe, err := decodeBody(r, v, allowEmpty)
	if errors.Is(err, errNotJSON) {
		writeProblem(w, r, http.StatusUnsupportedMediaType, "Unsupported Media Type",
			"the body must be JSON, sent with Content-Type: application/json")
		return true
	}
	if errors.Is(err, errTooLarge) {
		writeProblem(w, r, http.StatusRequestEntityTooLarge, "Content Too Large",
			fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
		return true
	}
	if fe != nil {
		badRequest(w, r, *fe)
		return true
	}
	return false
}

// orderID reads the {id} path parameter; ids longer than any we hand out name no order.
func orderID(r *http.Request) (string, bool) {
	id := mux.Vars(r)["id"]
	return id, validToken(id, 128)
}

func (a *api) getOrder(w http.ResponseWriter, r *http.Request) {
	id, ok := orderID(r)
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "Not Found", "no order with this id")
		return
	}
	o, ok := lookedUpOrder(r.Context())
	if !ok {
		var err error
		if o, err = a.views.Order(r.Context(), id); err != nil {
			a.viewAnswerFailed(w, r, err, "no order with this id")
			return
		}
	}
	writeJSON(w, http.StatusOK, toOrderResponse(o.Message()))
}

// viewAnswerFailed answers a query the view did not answer: 404 for what it
// does not hold (yet), 503 when it cannot be read.
func (a *api) viewAnswerFailed(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	if errors.Is(err, view.ErrNotFound) {
		writeProblem(w, r, http.StatusNotFound, "Not Found", notFound)
		return
	}
	a.viewFailed(w, r, err)
}

func (a *api) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := view.ListOrders{CustomerID: q.Get("customer_id"), Status: q.Get("status"), Cursor: q.Get("cursor"), Limit: messages.DefaultListLimit}
	var errs []fieldError
	if len(query.CustomerID) > messages.MaxCustomerIDLength {
		errs = append(errs, fieldError{"customer_id", fmt.Sprintf("must be at most %d characters", messages.MaxCustomerIDLength)})
	}
	if query.Status != "" && !validOrderStatus(query.Status) {
		errs = append(errs, fieldError{"status", "must be one of PENDING, CONFIRMED, REJECTED, CANCELLED, SHIPPED, DELIVERED, DELIVERY_FAILED"})
	}
	var pageErrs []fieldError
	query.Limit, pageErrs = pageParams(q, query.Cursor)
	errs = append(errs, pageErrs...)
	if len(errs) > 0 {
		badRequest(w, r, errs...)
		return
	}
	customerID, ok := customerScope(w, r, "customer_id", query.CustomerID, q.Has("customer_id"))
	if !ok {
		return
	}
	query.CustomerID = customerID
	page, err := a.views.Orders(r.Context(), query)
	if errors.Is(err, view.ErrBadCursor) || errors.Is(err, messages.ErrInvalid) {
		badRequest(w, r, fieldError{"cursor", "is not a cursor this API handed out"})
		return
	}
	if err != nil {
		a.viewFailed(w, r, err)
		return
	}
	out := orderListResponse{Orders: make([]orderResponse, len(page.Orders)), NextCursor: page.NextCursor}
	for i, o := range page.Orders {
		out.Orders[i] = toOrderResponse(o.Message())
	}
	writeJSON(w, http.StatusOK, out)
}

// pageParams reads a list's limit (messages.DefaultListLimit when absent) and
// checks its cursor's length; the view tells a cursor it did not hand out.
func pageParams(q url.Values, cursor string) (int, []fieldError) {
	limit := messages.DefaultListLimit
	var errs []fieldError
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > messages.MaxListLimit {
			errs = append(errs, fieldError{"limit", fmt.Sprintf("must be an integer from 1 to %d", messages.MaxListLimit)})
		}
		limit = n
	}
	if len(cursor) > 512 {
		errs = append(errs, fieldError{"cursor", "is not a cursor this API handed out"})
	}
	return limit, errs
}

func validOrderStatus(s string) bool {
	switch s {
	case messages.OrderStatusPending, messages.OrderStatusConfirmed, messages.OrderStatusRejected,
		messages.OrderStatusCancelled, messages.OrderStatusShipped, messages.OrderStatusDelivered,
		messages.OrderStatusDeliveryFailed:
		return true
	}
	return false
}

type cancelRequest struct {
	Reason json.RawMessage `json:"reason"`
}

func (a *api) cancelOrder(w http.ResponseWriter, r *http.Request) {
	id, ok := orderID(r)
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "Not Found", "no order with this id")
		return
	}
	var req cancelRequest
	if a.decodeOrRefuse(w, r, &req, true) {
		return
	}
	reason, _, err := rawString(req.Reason)
	if err == nil && len(reason) > messages.MaxReasonLength {
		err = fmt.Errorf("must be at most %d characters", messages.MaxReasonLength)
	}
	if err != nil {
		badRequest(w, r, fieldError{"reason", err.Error()})
		return
	}
	if reason == "" {
		reason = "cancelled by request"
	}
	var res messages.CancelOrderResult
	if err := a.commands.Request(r.Context(), messages.CancelOrder{OrderID: id, Reason: reason}, &res); err != nil {
		a.commandFailed(w, r, err)
		return
	}
	if res.Order != nil {
		a.mergeOrder(r, *res.Order)
	}
	switch res.Outcome {
	case messages.OutcomeNotFound:
		writeProblem(w, r, http.StatusNotFound, "Not Found", "no order with this id")
	case messages.OutcomeConflict:
		writeProblem(w, r, http.StatusConflict, "Conflict", res.Detail)
	default:
		writeJSON(w, http.StatusAccepted, orderAccepted{OrderID: id, Status: res.Status})
	}
}

// mergeOrder folds the order a command answered with into the view. The
// command took effect whatever happens here, so a view that cannot be written
// is logged, not answered: its event brings the order into the view soon after.
func (a *api) mergeOrder(r *http.Request, o messages.Order) {
	// The request's trace is the trace of what the command did.
	if err := a.views.MergeOrder(r.Context(), o, view.Source{TraceID: messages.TraceID(r.Context())}); err != nil {
		a.logger.WarnContext(r.Context(), "could not merge an order into the view; its events will", "order_id", o.OrderID, "error", err)
	}
}
