package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/messages"
)

// Collections of the gateway's view, in the gateway's own database.
const (
	ViewOrdersCollection = "order_views"
	ViewStockCollection  = "stock_views"
)

// ViewStore keeps the gateway's view in MongoDB, shared by every gateway
// instance: one document per order and one per SKU.
type ViewStore struct {
	orders store[view.Order, orderViewDocument]
	stock  store[view.StockLevel, stockViewDocument]
}

var _ view.Store = (*ViewStore)(nil)

// NewViewStore returns a store on db, the gateway's own database.
func NewViewStore(db *mongo.Database) *ViewStore {
	return &ViewStore{
		orders: store[view.Order, orderViewDocument]{
			coll:     db.Collection(ViewOrdersCollection),
			fresh:    func(id string) view.Order { return view.Order{ID: id} },
			toDoc:    toOrderViewDocument,
			toDomain: orderViewDocument.toDomain,
			revision: func(o *view.Order) int64 { return o.Revision },
			// Every change moves the revision by one and toDomain copies what
			// it reads, so the write-first guess of store.update holds: one
			// command an event instead of a read and a write.
			guess: newRecentDocs[orderViewDocument](),
		},
		stock: store[view.StockLevel, stockViewDocument]{
			coll:     db.Collection(ViewStockCollection),
			fresh:    func(sku string) view.StockLevel { return view.StockLevel{SKU: sku} },
			toDoc:    toStockViewDocument,
			toDomain: stockViewDocument.toDomain,
			revision: func(l *view.StockLevel) int64 { return l.Revision },
		},
	}
}

// ViewIndexes names the indexes EnsureIndexes creates on the order views, for its test.
var ViewIndexes = []string{"customer_newest_first", "status_newest_first", "newest_first", "customer_status_newest_first"}

// EnsureIndexes creates the indexes of ListOrders (idempotent): as on the
// orders service's collection, one per way of listing (by customer, by
// status, by customer and status, all) followed by the sort key, so a page is
// a contiguous range of one index. GetOrder and GetStock read by _id; ListStock is the whole (small)
// collection in _id order.
func (s *ViewStore) EnsureIndexes(ctx context.Context) error {
	newestFirst := bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}
	return createIndexes(ctx, s.orders.coll,
		mongo.IndexModel{Keys: append(bson.D{{Key: "customer_id", Value: 1}}, newestFirst...), Options: options.Index().SetName(ViewIndexes[0])},
		mongo.IndexModel{Keys: append(bson.D{{Key: "status", Value: 1}}, newestFirst...), Options: options.Index().SetName(ViewIndexes[1])},
		mongo.IndexModel{Keys: newestFirst, Options: options.Index().SetName(ViewIndexes[2])},
		mongo.IndexModel{Keys: append(bson.D{{Key: "customer_id", Value: 1}, {Key: "status", Value: 1}}, newestFirst...), Options: options.Index().SetName(ViewIndexes[3])},
	)
}

// UpdateOrder implements view.Store.
func (s *ViewStore) UpdateOrder(ctx context.Context, id string, fn func(*view.Order) error) error {
	_, err := s.orders.update(ctx, id, fn)
	return err
}

// GetOrder implements view.Store.
func (s *ViewStore) GetOrder(ctx context.Context, id string) (view.Order, error) {
	return s.orders.getOr(ctx, id, view.ErrNotFound)
}

// ListOrders implements view.Store with the filter of the orders service's
// list (listFilter) and the sort of the indexes. An order not placed yet has
// no created_at, customer_id or status (the fields are absent): a filter on
// customer or status, or a cursor's range, leaves it out, and the list of all
// orders adds "created_at > the epoch", a range on the index's key.
func (s *ViewStore) ListOrders(ctx context.Context, q view.ListQuery) ([]view.Order, error) {
	oq := orders.ListQuery{CustomerID: q.CustomerID, Status: orders.Status(q.Status), Limit: q.Limit}
	if q.After != nil {
		oq.After = &orders.Cursor{CreatedAt: q.After.CreatedAt, ID: q.After.ID}
	}
	filter := listFilter(oq)
	if q.After == nil && q.CustomerID == "" && q.Status == "" {
		// An order not placed has no customer_id and no status either, so
		// the equalities on them leave it out already.
		filter = append(filter, bson.E{Key: "created_at", Value: bson.D{{Key: "$gt", Value: time.Unix(0, 0).UTC()}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}})
	if q.Limit > 0 {
		opts.SetLimit(int64(q.Limit))
	}
	return s.orders.find(ctx, filter, opts)
}

// UpdateStock implements view.Store.
func (s *ViewStore) UpdateStock(ctx context.Context, sku string, fn func(*view.StockLevel) error) (view.StockLevel, error) {
	return s.stock.update(ctx, sku, fn)
}

// GetStock implements view.Store.
func (s *ViewStore) GetStock(ctx context.Context, sku string) (view.StockLevel, error) {
	return s.stock.getOr(ctx, sku, view.ErrNotFound)
}

// ListStock implements view.Store.
func (s *ViewStore) ListStock(ctx context.Context) ([]view.StockLevel, error) {
	return s.stock.find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
}

// orderViewDocument is an order view as stored. created_at is absent until
// the order is placed.
type orderViewDocument struct {
	ID          string                `bson:"_id"`
	CustomerID  string                `bson:"customer_id,omitempty"`
	Items       []orderItemDocument   `bson:"items,omitempty"`
	Placed      bool                  `bson:"placed"`
	Status      string                `bson:"status,omitempty"`
	Reason      string                `bson:"reason,omitempty"`
	History     []statusEntryDocument `bson:"history,omitempty"`
	CreatedAt   *time.Time            `bson:"created_at,omitempty"`
	UpdatedAt   *time.Time            `bson:"updated_at,omitempty"`
	Reservation reservationViewDoc    `bson:"reservation"`
	Shipment    shipmentViewDoc       `bson:"shipment"`
	Timeline    []stepDocument        `bson:"timeline,omitempty"`
	Revision    int64                 `bson:"revision"`
}

type statusEntryDocument struct {
	Status        string    `bson:"status"`
	At            time.Time `bson:"at"`
	Reason        string    `bson:"reason,omitempty"`
	CorrelationID string    `bson:"correlation_id,omitempty"`
}

type reservationViewDoc struct {
	Status   string                `bson:"status,omitempty"`
	Held     []orderItemDocument   `bson:"held,omitempty"`
	Failures []lineFailureDocument `bson:"failures,omitempty"`
}

type shipmentViewDoc struct {
	Status  string                `bson:"status,omitempty"`
	History []statusEntryDocument `bson:"history,omitempty"`
}

type stepDocument struct {
	Step          string    `bson:"step"`
	Service       string    `bson:"service"`
	SKU           string    `bson:"sku,omitempty"`
	Ref           string    `bson:"ref,omitempty"`
	At            time.Time `bson:"at"`
	CorrelationID string    `bson:"correlation_id,omitempty"`
	TraceID       string    `bson:"trace_id,omitempty"`
	Detail        string    `bson:"detail,omitempty"`
}

func toItemDocs(items []messages.Item) []orderItemDocument {
	var out []orderItemDocument
	for _, it := range items {
		out = append(out, orderItemDocument{SKU: it.SKU, Quantity: it.Quantity})
	}
	return out
}

func fromItemDocs(docs []orderItemDocument) []messages.Item {
	var out []messages.Item
	for _, d := range docs {
		out = append(out, messages.Item{SKU: d.SKU, Quantity: d.Quantity})
	}
	return out
}

func toEntryDocs(h []messages.StatusEntry) []statusEntryDocument {
	var out []statusEntryDocument
	for _, e := range h {
		out = append(out, statusEntryDocument{Status: e.Status, At: storedTime(e.At), Reason: e.Reason, CorrelationID: e.CorrelationID})
	}
	return out
}

func fromEntryDocs(docs []statusEntryDocument) []messages.StatusEntry {
	var out []messages.StatusEntry
	for _, d := range docs {
		out = append(out, messages.StatusEntry{Status: d.Status, At: d.At.UTC(), Reason: d.Reason, CorrelationID: d.CorrelationID})
	}
	return out
}

func toOrderViewDocument(o view.Order) orderViewDocument {
	d := orderViewDocument{
		ID: o.ID, CustomerID: o.CustomerID, Items: toItemDocs(o.Items), Placed: o.Placed,
		Status: o.Status, Reason: o.Reason, History: toEntryDocs(o.History),
		CreatedAt: optionalTime(o.CreatedAt), UpdatedAt: optionalTime(o.UpdatedAt),
		Reservation: reservationViewDoc{Status: o.Reservation.Status, Held: toItemDocs(o.Reservation.Held)},
		Shipment:    shipmentViewDoc{Status: o.Shipment.Status, History: toEntryDocs(o.Shipment.History)},
		Revision:    o.Revision,
	}
	for _, f := range o.Reservation.Failures {
		d.Reservation.Failures = append(d.Reservation.Failures, lineFailureDocument(f))
	}
	for _, s := range o.Timeline {
		d.Timeline = append(d.Timeline, stepDocument{Step: s.Step, Service: s.Service, SKU: s.SKU, Ref: s.Ref, At: storedTime(s.At),
			CorrelationID: s.CorrelationID, TraceID: s.TraceID, Detail: s.Detail})
	}
	return d
}

func (d orderViewDocument) toDomain() view.Order {
	o := view.Order{
		ID: d.ID, CustomerID: d.CustomerID, Items: fromItemDocs(d.Items), Placed: d.Placed,
		Status: d.Status, Reason: d.Reason, History: fromEntryDocs(d.History),
		CreatedAt: fromOptionalTime(d.CreatedAt), UpdatedAt: fromOptionalTime(d.UpdatedAt),
		Reservation: view.Reservation{Status: d.Reservation.Status, Held: fromItemDocs(d.Reservation.Held)},
		Shipment:    view.Shipment{Status: d.Shipment.Status, History: fromEntryDocs(d.Shipment.History)},
		Revision:    d.Revision,
	}
	for _, f := range d.Reservation.Failures {
		o.Reservation.Failures = append(o.Reservation.Failures, messages.LineFailure(f))
	}
	for _, s := range d.Timeline {
		o.Timeline = append(o.Timeline, view.Step{Step: s.Step, Service: s.Service, SKU: s.SKU, Ref: s.Ref, At: s.At.UTC(),
			CorrelationID: s.CorrelationID, TraceID: s.TraceID, Detail: s.Detail})
	}
	return o
}

type stockViewDocument struct {
	SKU       string    `bson:"_id"`
	OnHand    int       `bson:"on_hand"`
	Reserved  int       `bson:"reserved"`
	Available int       `bson:"available"`
	Revision  int64     `bson:"revision"`
	UpdatedAt time.Time `bson:"updated_at"`
}

func toStockViewDocument(l view.StockLevel) stockViewDocument {
	return stockViewDocument{SKU: l.SKU, OnHand: l.OnHand, Reserved: l.Reserved, Available: l.Available, Revision: l.Revision, UpdatedAt: storedTime(l.UpdatedAt)}
}

func (d stockViewDocument) toDomain() view.StockLevel {
	return view.StockLevel{SKU: d.SKU, OnHand: d.OnHand, Reserved: d.Reserved, Available: d.Available, Revision: d.Revision, UpdatedAt: d.UpdatedAt.UTC()}
}
