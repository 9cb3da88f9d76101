package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/orderflow/orderflow/app/orders"
)

// OrdersCollection is the collection of orders in the orders service's database.
const OrdersCollection = "orders"

// OrderRepository keeps orders in MongoDB, one document per order.
type OrderRepository struct {
	s store[orders.Order, orderDocument]
}

var _ orders.Repository = (*OrderRepository)(nil)

// NewOrderRepository returns a repository on the orders collection of db, the
// orders service's own database.
func NewOrderRepository(db *mongo.Database) *OrderRepository {
	return &OrderRepository{s: store[orders.Order, orderDocument]{
		coll:     db.Collection(OrdersCollection),
		fresh:    func(id string) orders.Order { return orders.Order{ID: id} },
		toDoc:    toOrderDocument,
		toDomain: orderDocument.toDomain,
		revision: func(o *orders.Order) int64 { return o.Revision },
		guess:    newRecentDocs[orderDocument](),
	}}
}

// EnsureIndexes creates the indexes List, ListUnpublished and ListAwaiting
// need; it is idempotent. Each index of List is
// one way of listing (by customer, by status, by both, all) followed by the
// sort key of the list, newest first, so that a page is a contiguous range of
// the index: no in-memory sort, and no scan of what comes before the cursor.
//
// Every query on orders and the index that serves it on MongoDB (the test
// server scans regardless; TestMongoIndexes checks that these exist):
//
//	query (filter; sort)                                           index
//	Get, Update's read:     {_id}                                  _id_
//	Update's write:         {_id, revision} replace; insert        _id_
//	List (GET /orders):     {}; created_at -1, _id -1              newest_first
//	List ?customer_id:      {customer_id}; same sort               customer_newest_first
//	List ?status:           {status}; same sort                    status_newest_first
//	List ?customer&status,  {customer_id, status}; same sort       customer_status_newest_first
//	  the open-order caps (one list per open status)
//	the cursor of any List: + created_at <= c, $or [...]           a range of the same index
//	ListUnpublished (relay): {unpublished_since $lte}; asc, limit  unpublished (sparse)
//	ListAwaiting (sweeper):  {awaiting_since $lte}; asc, limit     awaiting (sparse)
func (r *OrderRepository) EnsureIndexes(ctx context.Context) error {
	newestFirst := bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}
	indexes := []mongo.IndexModel{
		{Keys: append(bson.D{{Key: "customer_id", Value: 1}}, newestFirst...), Options: options.Index().SetName("customer_newest_first")},
		{Keys: append(bson.D{{Key: "status", Value: 1}}, newestFirst...), Options: options.Index().SetName("status_newest_first")},
		// Equality on both, then the sort: customer_newest_first alone would
		// read every order of the customer to find those of one status.
		{Keys: append(bson.D{{Key: "customer_id", Value: 1}, {Key: "status", Value: 1}}, newestFirst...), Options: options.Index().SetName("customer_status_newest_first")},
		{Keys: newestFirst, Options: options.Index().SetName("newest_first")},
		// Sparse, like shipments' "due": the fields are absent from the many
		// orders with nothing unpublished or awaited, so these indexes hold only
		// what the relay and the saga sweeper look for.
		{Keys: bson.D{{Key: "unpublished_since", Value: 1}}, Options: options.Index().SetName("unpublished").SetSparse(true)},
		{Keys: bson.D{{Key: "awaiting_since", Value: 1}}, Options: options.Index().SetName("awaiting").SetSparse(true)},
	}
	return createIndexes(ctx, r.s.coll, indexes...)
}

// Get implements orders.Repository.
func (r *OrderRepository) Get(ctx context.Context, id string) (orders.Order, error) {
	return r.s.getOr(ctx, id, orders.ErrNotFound)
}

// Update implements orders.Repository.
func (r *OrderRepository) Update(ctx context.Context, id string, fn func(*orders.Order) error) (orders.Order, error) {
	return r.s.update(ctx, id, fn)
}

// List implements orders.Repository. The sort is the key of the indexes made
// by EnsureIndexes; see listFilter for the range.
func (r *OrderRepository) List(ctx context.Context, q orders.ListQuery) ([]orders.Order, error) {
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}})
	if q.Limit > 0 {
		opts.SetLimit(int64(q.Limit))
	}
	return r.s.find(ctx, listFilter(q), opts)
}

// ListUnpublished implements orders.Repository: a range scan of the
// "unpublished" index from its start up to before.
func (r *OrderRepository) ListUnpublished(ctx context.Context, before time.Time, limit int) ([]orders.Order, error) {
	return r.s.findUpTo(ctx, "unpublished_since", before, limit)
}

// ListAwaiting implements orders.Repository: a range scan of the "awaiting"
// index from its start up to before.
func (r *OrderRepository) ListAwaiting(ctx context.Context, before time.Time, limit int) ([]orders.Order, error) {
	return r.s.findUpTo(ctx, "awaiting_since", before, limit)
}

// listFilter selects the orders of a page. The equality on customer or status
// picks the index; the cursor becomes a range on the index's sort key
// (created_at, _id), both descending:
//
//	created_at <= c  AND  (created_at < c  OR  (created_at == c AND _id < id))
//
// The first term bounds the index scan, which starts right at the cursor; the
// $or only drops the few entries at exactly c whose id is not below the
// cursor's. Stored times are whole milliseconds, and the cursor is made from
// one of them, so the equality is exact. A cursor with a sub-millisecond part
// (not made by this store) is handled exactly too: it lies strictly between two
// stored values, so "created_at <= c truncated" is the whole condition.
func listFilter(q orders.ListQuery) bson.D {
	filter := bson.D{}
	if q.CustomerID != "" {
		filter = append(filter, bson.E{Key: "customer_id", Value: q.CustomerID})
	}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(q.Status)})
	}
	if q.After == nil {
		return filter
	}
	return afterCursor(filter, "created_at", q.After.CreatedAt, q.After.ID)
}

// afterCursor adds to filter the range of a newest-first list (field, then
// _id, descending) after the cursor (at, id): see listFilter; the poison
// queue's list is the same range on poisoned_at.
func afterCursor(filter bson.D, field string, at time.Time, id string) bson.D {
	c := storedTime(at)
	if !c.Equal(at) {
		return append(filter, bson.E{Key: field, Value: bson.D{{Key: "$lte", Value: c}}})
	}
	return append(filter,
		bson.E{Key: field, Value: bson.D{{Key: "$lte", Value: c}}},
		bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: field, Value: bson.D{{Key: "$lt", Value: c}}}},
			bson.D{{Key: field, Value: c}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: id}}}},
		}},
	)
}

// orderDocument is an order as stored. UnpublishedSince is derived (the At of
// the oldest unpublished change, absent when there is none): it is written
// with every change so the relay can find orders by it, and never read back.
// The optional times are absent rather than zero, which keeps the orders with
// nothing to relay or to nudge out of the sparse indexes.
type orderDocument struct {
	ID         string                `bson:"_id"`
	CustomerID string                `bson:"customer_id"`
	Items      []orderItemDocument   `bson:"items"`
	Status     string                `bson:"status"`
	Reason     string                `bson:"reason,omitempty"`
	History    []orderChangeDocument `bson:"history"`
	CreatedAt  time.Time             `bson:"created_at"`
	UpdatedAt  time.Time             `bson:"updated_at"`
	Revision   int64                 `bson:"revision"`

	ShipmentScheduled bool       `bson:"shipment_scheduled,omitempty"`
	StockSettled      bool       `bson:"stock_settled,omitempty"`
	AwaitingSince     *time.Time `bson:"awaiting_since,omitempty"`
	Nudges            int        `bson:"nudges,omitempty"`
	UnpublishedSince  *time.Time `bson:"unpublished_since,omitempty"`
}

type orderItemDocument struct {
	SKU      string `bson:"sku"`
	Quantity int    `bson:"quantity"`
}

type orderChangeDocument struct {
	Status        string    `bson:"status"`
	At            time.Time `bson:"at"`
	Reason        string    `bson:"reason,omitempty"`
	CorrelationID string    `bson:"correlation_id,omitempty"`
	Published     bool      `bson:"published"`
}

func toOrderDocument(o orders.Order) orderDocument {
	items := make([]orderItemDocument, len(o.Items))
	for i, it := range o.Items {
		items[i] = orderItemDocument{SKU: it.SKU, Quantity: it.Quantity}
	}
	history := make([]orderChangeDocument, len(o.History))
	for i, c := range o.History {
		history[i] = orderChangeDocument{
			Status: string(c.Status), At: storedTime(c.At), Reason: c.Reason,
			CorrelationID: c.CorrelationID, Published: c.Published,
		}
	}
	return orderDocument{
		ID:         o.ID,
		CustomerID: o.CustomerID,
		Items:      items,
		Status:     string(o.Status),
		Reason:     o.Reason,
		History:    history,
		CreatedAt:  storedTime(o.CreatedAt),
		UpdatedAt:  storedTime(o.UpdatedAt),
		Revision:   o.Revision,

		ShipmentScheduled: o.ShipmentScheduled,
		StockSettled:      o.StockSettled,
		AwaitingSince:     optionalTime(o.AwaitingSince),
		Nudges:            o.Nudges,
		UnpublishedSince:  optionalTime(o.UnpublishedSince()),
	}
}

func (d orderDocument) toDomain() orders.Order {
	var items []orders.Item
	for _, it := range d.Items {
		items = append(items, orders.Item{SKU: it.SKU, Quantity: it.Quantity})
	}
	var history []orders.Change
	for _, c := range d.History {
		history = append(history, orders.Change{
			Status: orders.Status(c.Status), At: c.At.UTC(), Reason: c.Reason,
			CorrelationID: c.CorrelationID, Published: c.Published,
		})
	}
	return orders.Order{
		ID:         d.ID,
		CustomerID: d.CustomerID,
		Items:      items,
		Status:     orders.Status(d.Status),
		Reason:     d.Reason,
		History:    history,
		CreatedAt:  d.CreatedAt.UTC(),
		UpdatedAt:  d.UpdatedAt.UTC(),
		Revision:   d.Revision,

		ShipmentScheduled: d.ShipmentScheduled,
		StockSettled:      d.StockSettled,
		AwaitingSince:     fromOptionalTime(d.AwaitingSince),
		Nudges:            d.Nudges,
	}
}
