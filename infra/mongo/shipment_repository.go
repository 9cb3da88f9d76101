package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/orderflow/orderflow/app/delivery"
)

// ShipmentsCollection is the collection of shipments in the delivery service's database.
const ShipmentsCollection = "shipments"

// ShipmentRepository keeps shipments in MongoDB, one document per order.
type ShipmentRepository struct {
	s store[delivery.Shipment, shipmentDocument]
}

var _ delivery.Repository = (*ShipmentRepository)(nil)

// NewShipmentRepository returns a repository on the shipments collection of db,
// the delivery service's own database.
func NewShipmentRepository(db *mongo.Database) *ShipmentRepository {
	return &ShipmentRepository{s: store[delivery.Shipment, shipmentDocument]{
		coll:     db.Collection(ShipmentsCollection),
		fresh:    func(id string) delivery.Shipment { return delivery.Shipment{OrderID: id} },
		toDoc:    toShipmentDocument,
		toDomain: shipmentDocument.toDomain,
		revision: func(s *delivery.Shipment) int64 { return s.Revision },
		guess:    newRecentDocs[shipmentDocument](),
	}}
}

// EnsureIndexes creates the indexes ListDue and ListUnpublished need; it is
// idempotent. Both are sparse (unpublished_since is absent when every event is
// published). The first is sparse: next_step_at is absent from a shipment with no next step (manual
// courier, or done), so the index holds only the shipments the courier may
// still move, a few among many. (A partial index on {$exists: true} would say
// the same, but FerretDB v1, the test server, does not implement partial indexes.)
//
//	query (filter; sort)                                           index
//	Get, Update's read: {_id}; write: {_id, revision}; insert      _id_
//	ListDue (courier): {next_step_at $lte}; asc, limit             due (sparse)
//	ListUnpublished (relay): {unpublished_since $lte}; asc, limit  unpublished (sparse)
func (r *ShipmentRepository) EnsureIndexes(ctx context.Context) error {
	return createIndexes(ctx, r.s.coll,
		mongo.IndexModel{Keys: bson.D{{Key: "next_step_at", Value: 1}}, Options: options.Index().SetName("due").SetSparse(true)},
		unpublishedIndex,
	)
}

// Get implements delivery.Repository.
func (r *ShipmentRepository) Get(ctx context.Context, orderID string) (delivery.Shipment, error) {
	return r.s.getOr(ctx, orderID, delivery.ErrNotFound)
}

// Update implements delivery.Repository.
func (r *ShipmentRepository) Update(ctx context.Context, orderID string, fn func(*delivery.Shipment) error) (delivery.Shipment, error) {
	return r.s.update(ctx, orderID, fn)
}

// ListDue implements delivery.Repository, soonest first: a range scan of the
// "due" index from its start up to now.
func (r *ShipmentRepository) ListDue(ctx context.Context, now time.Time, limit int) ([]delivery.Shipment, error) {
	opts := options.Find().SetSort(bson.D{{Key: "next_step_at", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	return r.s.find(ctx, bson.D{{Key: "next_step_at", Value: bson.D{{Key: "$lte", Value: now}}}}, opts)
}

// ListUnpublished implements delivery.Repository: a range scan of the
// "unpublished" index from its start up to before.
func (r *ShipmentRepository) ListUnpublished(ctx context.Context, before time.Time, limit int) ([]delivery.Shipment, error) {
	return r.s.findUpTo(ctx, "unpublished_since", before, limit)
}

// shipmentDocument is the shipment of one order as stored. The optional times
// are absent rather than zero, which keeps shipments without a next step out
// of the sparse "due" index.
type shipmentDocument struct {
	OrderID      string                   `bson:"_id"`
	CustomerID   string                   `bson:"customer_id,omitempty"`
	Status       string                   `bson:"status"`
	History      []shipmentChangeDocument `bson:"history"`
	DispatchedAt *time.Time               `bson:"dispatched_at,omitempty"`
	NextStepAt   *time.Time               `bson:"next_step_at,omitempty"`
	Tombstone    bool                     `bson:"tombstone,omitempty"`
	Revision     int64                    `bson:"revision"`
	// UnpublishedSince is derived and never read back, as in orderDocument.
	UnpublishedSince *time.Time `bson:"unpublished_since,omitempty"`
}

type shipmentChangeDocument struct {
	Status        string    `bson:"status"`
	At            time.Time `bson:"at"`
	Reason        string    `bson:"reason,omitempty"`
	CorrelationID string    `bson:"correlation_id,omitempty"`
	Published     bool      `bson:"published"`
}

func toShipmentDocument(s delivery.Shipment) shipmentDocument {
	history := make([]shipmentChangeDocument, len(s.History))
	for i, c := range s.History {
		history[i] = shipmentChangeDocument{
			Status: string(c.Status), At: storedTime(c.At), Reason: c.Reason,
			CorrelationID: c.CorrelationID, Published: c.Published,
		}
	}
	return shipmentDocument{
		OrderID:      s.OrderID,
		CustomerID:   s.CustomerID,
		Status:       string(s.Status),
		History:      history,
		DispatchedAt: optionalTime(s.DispatchedAt),
		NextStepAt:   optionalTime(s.NextStepAt),
		Tombstone:    s.Tombstone,
		Revision:     s.Revision,

		UnpublishedSince: optionalTime(s.UnpublishedSince()),
	}
}

func (d shipmentDocument) toDomain() delivery.Shipment {
	var history []delivery.Change
	for _, c := range d.History {
		history = append(history, delivery.Change{
			Status: delivery.Status(c.Status), At: c.At.UTC(), Reason: c.Reason,
			CorrelationID: c.CorrelationID, Published: c.Published,
		})
	}
	return delivery.Shipment{
		OrderID:      d.OrderID,
		CustomerID:   d.CustomerID,
		Status:       delivery.Status(d.Status),
		History:      history,
		DispatchedAt: fromOptionalTime(d.DispatchedAt),
		NextStepAt:   fromOptionalTime(d.NextStepAt),
		Tombstone:    d.Tombstone,
		Revision:     d.Revision,
	}
}
