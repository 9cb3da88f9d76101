package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/mongo"

	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/messages"
)

// ReservationsCollection is the collection of reservations in the inventory service's database.
const ReservationsCollection = "reservations"

// ReservationRepository keeps the reservation of each order in MongoDB, one
// document per order.
type ReservationRepository struct {
	s store[inventory.Reservation, reservationDocument]
}

var _ inventory.Reservations = (*ReservationRepository)(nil)

// NewReservationRepository returns a repository on the reservations collection
// of db, the inventory service's own database.
func NewReservationRepository(db *mongo.Database) *ReservationRepository {
	return &ReservationRepository{s: store[inventory.Reservation, reservationDocument]{
		coll:     db.Collection(ReservationsCollection),
		fresh:    func(id string) inventory.Reservation { return inventory.Reservation{OrderID: id} },
		toDoc:    toReservationDocument,
		toDomain: reservationDocument.toDomain,
		revision: func(r *inventory.Reservation) int64 { return r.Revision },
		guess:    newRecentDocs[reservationDocument](),
	}}
}

// EnsureIndexes creates the index ListUnpublished needs; it is idempotent.
// Otherwise a reservation is only ever read by its order id, the _id.
//
//	query (filter; sort)                                           index
//	Get, Update's read: {_id}; write: {_id, revision}; insert      _id_
//	ListUnpublished (relay): {unpublished_since $lte}; asc, limit  unpublished (sparse)
func (r *ReservationRepository) EnsureIndexes(ctx context.Context) error {
	return createIndexes(ctx, r.s.coll, unpublishedIndex)
}

// ListUnpublished implements inventory.Reservations: a range scan of the
// "unpublished" index from its start up to before.
func (r *ReservationRepository) ListUnpublished(ctx context.Context, before time.Time, limit int) ([]inventory.Reservation, error) {
	return r.s.findUpTo(ctx, "unpublished_since", before, limit)
}

// Get implements inventory.Reservations.
func (r *ReservationRepository) Get(ctx context.Context, orderID string) (inventory.Reservation, error) {
	return r.s.getOr(ctx, orderID, inventory.ErrNoReservation)
}

// Update implements inventory.Reservations.
func (r *ReservationRepository) Update(ctx context.Context, orderID string, fn func(*inventory.Reservation) error) (inventory.Reservation, error) {
	return r.s.update(ctx, orderID, fn)
}

// reservationDocument is the reservation of one order as stored.
type reservationDocument struct {
	OrderID  string                      `bson:"_id"`
	Status   string                      `bson:"status"`
	Lines    []lineDocument              `bson:"lines"`
	Failures []lineFailureDocument       `bson:"failures"`
	History  []reservationChangeDocument `bson:"history"`
	Revision int64                       `bson:"revision"`
	// UnpublishedSince is derived and never read back, as in orderDocument.
	UnpublishedSince *time.Time `bson:"unpublished_since,omitempty"`
}

type lineDocument struct {
	SKU      string `bson:"sku"`
	Quantity int    `bson:"quantity"`
}

type lineFailureDocument struct {
	SKU       string `bson:"sku"`
	Reason    string `bson:"reason"`
	Requested int    `bson:"requested"`
	Available int    `bson:"available"`
}

type reservationChangeDocument struct {
	Status        string    `bson:"status"`
	At            time.Time `bson:"at"`
	CorrelationID string    `bson:"correlation_id,omitempty"`
	Published     bool      `bson:"published"`
}

func toReservationDocument(r inventory.Reservation) reservationDocument {
	lines := make([]lineDocument, len(r.Lines))
	for i, l := range r.Lines {
		lines[i] = lineDocument{SKU: l.SKU, Quantity: l.Quantity}
	}
	failures := make([]lineFailureDocument, len(r.Failures))
	for i, f := range r.Failures {
		failures[i] = lineFailureDocument{SKU: f.SKU, Reason: f.Reason, Requested: f.Requested, Available: f.Available}
	}
	history := make([]reservationChangeDocument, len(r.History))
	for i, c := range r.History {
		history[i] = reservationChangeDocument{
			Status: string(c.Status), At: storedTime(c.At), CorrelationID: c.CorrelationID, Published: c.Published,
		}
	}
	return reservationDocument{
		OrderID:  r.OrderID,
		Status:   string(r.Status),
		Lines:    lines,
		Failures: failures,
		History:  history,
		Revision: r.Revision,

		UnpublishedSince: optionalTime(r.UnpublishedSince()),
	}
}

func (d reservationDocument) toDomain() inventory.Reservation {
	var lines []inventory.Line
	for _, l := range d.Lines {
		lines = append(lines, inventory.Line{SKU: l.SKU, Quantity: l.Quantity})
	}
	var failures []messages.LineFailure
	for _, f := range d.Failures {
		failures = append(failures, messages.LineFailure{SKU: f.SKU, Reason: f.Reason, Requested: f.Requested, Available: f.Available})
	}
	var history []inventory.Change
	for _, c := range d.History {
		history = append(history, inventory.Change{
			Status: inventory.ReservationStatus(c.Status), At: c.At.UTC(), CorrelationID: c.CorrelationID, Published: c.Published,
		})
	}
	return inventory.Reservation{
		OrderID:  d.OrderID,
		Status:   inventory.ReservationStatus(d.Status),
		Lines:    lines,
		Failures: failures,
		History:  history,
		Revision: d.Revision,
	}
}
