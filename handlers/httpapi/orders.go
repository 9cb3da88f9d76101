package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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
// placing its own order), or empty when it is required. What a field must hold
// is the contract's rule (messages.CheckCustomerID, messages.CheckItems); what
// is decided here is only what JSON reads as which value: a field that is not
// a string or an integer, a missing or null field, an item that is no object.
func validatePlaceOrder(req placeOrderRequest, ownCustomer string) (messages.PlaceOrder, []fieldError) {
	var errs []fieldError
	cmd := messages.PlaceOrder{}
	customerID, present, err := rawString(req.CustomerID)
	if !present && err == nil {
		customerID = ownCustomer
	}
	if err != nil {
		errs = append(errs, fieldError{"customer_id", err.Error()})
	} else if strings.TrimSpace(customerID) == "" {
		errs = append(errs, fieldError{"customer_id", messages.CheckCustomerID("")})
	} else if d := messages.CheckCustomerID(customerID); d != "" {
		errs = append(errs, fieldError{"customer_id", d})
	} else {
		cmd.CustomerID = customerID
	}
	if req.Items == nil {
		return cmd, append(errs, fieldError{"items", "is required: an order has at least one item"})
	}
	if d := messages.CheckItemCount(len(req.Items)); d != "" {
		return cmd, append(errs, fieldError{"items", d})
	}
	// What JSON could not read is said as such; the rules judge what it read.
	reads := make([]itemRead, len(req.Items))
	items := make([]messages.Item, len(req.Items))
	unread := false
	for i, raw := range req.Items {
		items[i], reads[i] = readItem(raw, fmt.Sprintf("items[%d]", i))
		unread = unread || reads[i] != itemRead{}
	}
	cmd.Items = items
	violations := messages.CheckItems(items, func(it messages.Item) (string, int) { return it.SKU, it.Quantity })
	if !unread && len(violations) == 0 {
		return cmd, errs // every valid order: no field names to format
	}
	broken := make(map[string]string, len(violations))
	for _, v := range violations {
		broken[v.Field] = v.Detail
	}
	for i, rd := range reads {
		if rd.whole != nil {
			errs = append(errs, *rd.whole)
			continue
		}
		for _, f := range [...]struct{ name, unread string }{{".sku", rd.sku}, {".quantity", rd.quantity}} {
			field := fmt.Sprintf("items[%d]%s", i, f.name)
			if f.unread != "" {
				errs = append(errs, fieldError{field, f.unread})
			} else if d, ok := broken[field]; ok {
				errs = append(errs, fieldError{field, d})
			}
		}
	}
	return cmd, errs
}

// itemRead says what JSON could not read of an item: the whole item (not an
// object, an unknown field), or its sku or quantity.
type itemRead struct {
	whole         *fieldError
	sku, quantity string
}

// readItem reads the item at field out of raw.
func readItem(raw json.RawMessage, field string) (messages.Item, itemRead) {
	var it placeItemRequest
	if fe := decodeNested(raw, &it, field); fe != nil {
		return messages.Item{}, itemRead{whole: fe}
	}
	var rd itemRead
	sku, _, err := rawString(it.SKU)
	if err != nil {
		rd.sku = err.Error()
	}
	qty, present, err := rawInt(it.Quantity, math.MinInt32, math.MaxInt32)
	switch {
	case err != nil:
		rd.quantity = messages.QuantityDetail
	case !present:
		rd.quantity = fmt.Sprintf("is required: an integer from %d to %d", messages.MinQuantity, messages.MaxQuantity)
	}
	return messages.Item{SKU: sku, Quantity: qty}, rd
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
	err := a.commands.Submit(r.Context(), cmd, &res)
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
	if o, ok := a.viewOrder(w, r); ok {
		writeJSON(w, http.StatusOK, toOrderResponse(o.Message()))
	}
}

// viewOrder reads the order of the {id} path parameter from the view, unless
// the guard looked it up already; false means it answered the request (404
// or 503).
func (a *api) viewOrder(w http.ResponseWriter, r *http.Request) (view.Order, bool) {
	id, ok := orderID(r)
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "Not Found", "no order with this id")
		return view.Order{}, false
	}
	if o, ok := lookedUpOrder(r.Context()); ok {
		return o, true
	}
	o, err := a.views.Order(r.Context(), id)
	if err != nil {
		a.viewAnswerFailed(w, r, err, "no order with this id")
		return view.Order{}, false
	}
	return o, true
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
	if d := messages.CheckCustomerID(query.CustomerID); query.CustomerID != "" && d != "" {
		errs = append(errs, fieldError{"customer_id", d})
	}
	if query.Status != "" && !messages.ValidOrderStatus(query.Status) {
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
	if d := messages.CheckReason(reason); err == nil && d != "" {
		err = errors.New(d)
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
	ctx, cancel := mergeContext(r)
	defer cancel()
	// The request's trace is the trace of what the command did.
	if err := a.views.MergeOrder(ctx, o, view.Source{TraceID: messages.TraceID(r.Context())}); err != nil {
		a.logger.WarnContext(r.Context(), "could not merge an order into the view; its events will", "order_id", o.OrderID, "error", err)
	}
}

// mergeTimeout bounds the merge of a command's answer into the view: the
// command is done and its events bring the same facts, so a slow store must
// not hold the answer back (nor a client that gives up cut the merge short).
const mergeTimeout = 2 * time.Second

// mergeContext is the context of a read-your-writes merge: the request's
// values, not its cancellation, for at most mergeTimeout.
func mergeContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), mergeTimeout)
}
