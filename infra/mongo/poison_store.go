package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/orderflow/orderflow/app/poison"
)

// PoisonCollection is the collection of poison queue entries, in each service's own database.
const PoisonCollection = "poison"

// PoisonStore keeps a service's poison queue entries in MongoDB, one document per entry.
type PoisonStore struct {
	s store[poison.Entry, poisonDocument]
}

var _ poison.Store = (*PoisonStore)(nil)

// NewPoisonStore returns a store on the poison collection of db, the service's own database.
func NewPoisonStore(db *mongo.Database) *PoisonStore {
	return &PoisonStore{s: store[poison.Entry, poisonDocument]{
		coll:     db.Collection(PoisonCollection),
		fresh:    func(id string) poison.Entry { return poison.Entry{ID: id} },
		toDoc:    toPoisonDocument,
		toDomain: poisonDocument.toDomain,
		revision: func(e *poison.Entry) int64 { return e.Revision },
	}}
}

// EnsureIndexes creates the indexes List needs (by status, and all), each
// followed by the list's sort key, newest first; it is idempotent.
//
//	query (filter; sort)                                     index
//	Save: insert; Get, Update: {_id}, {_id, revision}        _id_
//	List (GET /admin/poison): {}; poisoned_at -1, _id -1     newest_first
//	List ?status, RequeueAll: {status}; same sort            status_newest_first
//	the cursor: + poisoned_at <= c, $or [...]                a range of the same index
func (r *PoisonStore) EnsureIndexes(ctx context.Context) error {
	newestFirst := bson.D{{Key: "poisoned_at", Value: -1}, {Key: "_id", Value: -1}}
	return createIndexes(ctx, r.s.coll,
		mongo.IndexModel{Keys: append(bson.D{{Key: "status", Value: 1}}, newestFirst...), Options: options.Index().SetName("status_newest_first")},
		mongo.IndexModel{Keys: newestFirst, Options: options.Index().SetName("newest_first")},
	)
}

// Save implements poison.Store: an insert, where a duplicate id means the
// entry is stored already.
func (r *PoisonStore) Save(ctx context.Context, e poison.Entry) error {
	e.Revision = max(e.Revision, 1)
	_, err := r.s.coll.InsertOne(ctx, toPoisonDocument(e))
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("insert %s %s: %w", PoisonCollection, e.ID, fault(err))
	}
	return nil
}

// Get implements poison.Store.
func (r *PoisonStore) Get(ctx context.Context, id string) (poison.Entry, error) {
	return r.s.getOr(ctx, id, poison.ErrNotFound)
}

// Update implements poison.Store.
func (r *PoisonStore) Update(ctx context.Context, id string, fn func(*poison.Entry) error) (poison.Entry, error) {
	return r.s.update(ctx, id, poison.StoredOnly(fn))
}

// List implements poison.Store on the indexes of EnsureIndexes.
func (r *PoisonStore) List(ctx context.Context, q poison.ListQuery) ([]poison.Entry, error) {
	opts := options.Find().SetSort(bson.D{{Key: "poisoned_at", Value: -1}, {Key: "_id", Value: -1}})
	if q.Limit > 0 {
		opts.SetLimit(int64(q.Limit))
	}
	filter := bson.D{}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(q.Status)})
	}
	if q.After != nil {
		// As orders' listFilter: a range on the sort key, exact for cursors
		// made from stored (millisecond) times.
		filter = afterCursor(filter, "poisoned_at", q.After.PoisonedAt, q.After.ID)
	}
	return r.s.find(ctx, filter, opts)
}

// poisonDocument is an entry as stored. Metadata is a list of pairs, not a
// document: its keys come from the wire and may hold '.' or start with '$'.
type poisonDocument struct {
	ID          string             `bson:"_id"`
	Service     string             `bson:"service"`
	Handler     string             `bson:"handler"`
	Topic       string             `bson:"topic"`
	OrderID     string             `bson:"order_id,omitempty"`
	Reason      string             `bson:"reason"`
	Payload     []byte             `bson:"payload"`
	Metadata    []metadataDocument `bson:"metadata"`
	PoisonedAt  time.Time          `bson:"poisoned_at"`
	Status      string             `bson:"status"`
	RequeuedAt  *time.Time         `bson:"requeued_at,omitempty"`
	DiscardedAt *time.Time         `bson:"discarded_at,omitempty"`
	Revision    int64              `bson:"revision"`
}

type metadataDocument struct {
	Key   string `bson:"k"`
	Value string `bson:"v"`
}

func toPoisonDocument(e poison.Entry) poisonDocument {
	md := make([]metadataDocument, 0, len(e.Metadata))
	for k, v := range e.Metadata {
		md = append(md, metadataDocument{Key: k, Value: v})
	}
	payload := e.Payload
	if payload == nil {
		payload = []byte{}
	}
	return poisonDocument{
		ID:          e.ID,
		Service:     e.Service,
		Handler:     e.Handler,
		Topic:       e.Topic,
		OrderID:     e.OrderID,
		Reason:      e.Reason,
		Payload:     payload,
		Metadata:    md,
		PoisonedAt:  storedTime(e.PoisonedAt),
		Status:      string(e.Status),
		RequeuedAt:  optionalTime(e.RequeuedAt),
		DiscardedAt: optionalTime(e.DiscardedAt),
		Revision:    e.Revision,
	}
}

func (d poisonDocument) toDomain() poison.Entry {
	var md map[string]string
	if len(d.Metadata) > 0 {
		md = make(map[string]string, len(d.Metadata))
		for _, kv := range d.Metadata {
			md[kv.Key] = kv.Value
		}
	}
	return poison.Entry{
		ID:          d.ID,
		Service:     d.Service,
		Handler:     d.Handler,
		Topic:       d.Topic,
		OrderID:     d.OrderID,
		Reason:      d.Reason,
		Payload:     d.Payload,
		Metadata:    md,
		PoisonedAt:  d.PoisonedAt.UTC(),
		Status:      poison.Status(d.Status),
		RequeuedAt:  fromOptionalTime(d.RequeuedAt),
		DiscardedAt: fromOptionalTime(d.DiscardedAt),
		Revision:    d.Revision,
	}
}
