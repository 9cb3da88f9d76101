package mongo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/orderflow/orderflow/app/inventory"
)

// ProductsCollection is the collection of stock levels in the inventory service's database.
const ProductsCollection = "products"

// ProductRepository keeps the stock of each SKU in MongoDB, one document per SKU.
type ProductRepository struct {
	s store[inventory.Product, productDocument]
	// held remembers the quantity of the holds this repository placed, by
	// heldKey, so that settling one needs no read of it first (see settle).
	held *recentDocs[int]
}

var _ inventory.Products = (*ProductRepository)(nil)

// NewProductRepository returns a repository on the products collection of db,
// the inventory service's own database.
func NewProductRepository(db *mongo.Database) *ProductRepository {
	return &ProductRepository{s: store[inventory.Product, productDocument]{
		coll:     db.Collection(ProductsCollection),
		fresh:    func(sku string) inventory.Product { return inventory.Product{SKU: sku} },
		toDoc:    toProductDocument,
		toDomain: productDocument.toDomain,
		revision: func(p *inventory.Product) int64 { return p.Revision },
	}, held: newRecentDocs[int]()}
}

// heldKey names the hold of an order on a SKU in ProductRepository.held.
func heldKey(sku, orderID string) string { return sku + "\x00" + orderID }

// EnsureIndexes creates the index of ListLevelsPending: sparse on
// level_pending, a field present only while a product's level is unpublished,
// so it holds the few products changed since the last round. The SKU is the
// _id and List sorts by it, so the _id index serves every other query.
//
//	query (filter; sort)                                              index
//	Get, Update's read, the reads of Hold/settle: {_id} (projected)   _id_
//	Update's write: {_id, revision} replace; insert                   _id_
//	Hold: {_id, "holds.<order>" $exists false, available $gte} update _id_ (one document)
//	Release, Commit: {_id, "holds.<order>": qty} update               _id_
//	MarkLevelPublished: {_id, revision} update                        _id_
//	List (GET /inventory): {}; _id asc                                _id_
//	ListLevelsPending: {level_pending: true}; _id asc, limit          level_pending (sparse;
//	  the few pending products are sorted in memory)
func (r *ProductRepository) EnsureIndexes(ctx context.Context) error {
	return createIndexes(ctx, r.s.coll, mongo.IndexModel{
		Keys: bson.D{{Key: levelPendingField, Value: 1}}, Options: options.Index().SetName("level_pending").SetSparse(true),
	})
}

// ListLevelsPending implements inventory.Products: the products in the
// level_pending index, without their holds or history.
func (r *ProductRepository) ListLevelsPending(ctx context.Context, limit int) ([]inventory.Product, error) {
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).
		SetProjection(bson.D{{Key: holdsField, Value: 0}, {Key: "history", Value: 0}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	return r.s.find(ctx, bson.D{{Key: levelPendingField, Value: true}}, opts)
}

// MarkLevelPublished implements inventory.Products with one conditional update:
//
//	{_id: sku, revision: revision}  {$unset: {level_pending: ""}}
func (r *ProductRepository) MarkLevelPublished(ctx context.Context, sku string, revision int64) error {
	_, err := r.s.coll.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: sku}, {Key: revisionField, Value: revision}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: levelPendingField, Value: ""}}}})
	if err != nil {
		return fmt.Errorf("mark the level of %s published: %w", sku, fault(err))
	}
	return nil
}

// Get implements inventory.Products.
func (r *ProductRepository) Get(ctx context.Context, sku string) (inventory.Product, error) {
	return r.s.getOr(ctx, sku, inventory.ErrUnknownSKU)
}

// List implements inventory.Products. _id order is byte order, the order of
// strings.Compare, as the contract wants.
func (r *ProductRepository) List(ctx context.Context) ([]inventory.Product, error) {
	return r.s.find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
}

// Update implements inventory.Products.
func (r *ProductRepository) Update(ctx context.Context, sku string, fn func(*inventory.Product) error) (inventory.Product, error) {
	return r.s.update(ctx, sku, fn)
}

// Hold implements inventory.Products with one conditional update that matches
// only if the order holds nothing yet and enough is available:
//
//	{_id: sku, "holds.<order>": {$exists: false}, available: {$gte: qty}}
//	{$inc: {reserved: qty, available: -qty, revision: 1}, $set: {"holds.<order>": qty, updated_at: now}}
//
// Atomic on one document, and neither the client nor the update reads the
// other holds. When it matches nothing, a read of the two fields that decide
// says why: no product, held already (no change), or not enough available.
func (r *ProductRepository) Hold(ctx context.Context, sku, orderID string, qty int, now time.Time) error {
	if err := inventory.ValidateHold(orderID, qty); err != nil {
		return err
	}
	field := holdField(orderID)
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return err
			}
		}
		res, err := r.s.coll.UpdateOne(ctx,
			bson.D{
				{Key: "_id", Value: sku},
				{Key: field, Value: bson.D{{Key: "$exists", Value: false}}},
				{Key: availableField, Value: bson.D{{Key: "$gte", Value: qty}}},
			},
			bson.D{
				{Key: "$inc", Value: bson.D{{Key: reservedField, Value: qty}, {Key: availableField, Value: -qty}, {Key: revisionField, Value: 1}}},
				{Key: "$set", Value: bson.D{{Key: field, Value: qty}, {Key: updatedAtField, Value: storedTime(now)}, {Key: levelPendingField, Value: true}}},
			})
		if err != nil {
			return fmt.Errorf("hold %s for order %s: %w", sku, orderID, fault(err))
		}
		if res.MatchedCount == 1 {
			r.held.remember(heldKey(sku, orderID), qty, 1)
			return nil
		}
		var d holdView
		err = r.s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: sku}},
			options.FindOne().SetProjection(bson.D{{Key: availableField, Value: 1}, {Key: field, Value: 1}})).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return inventory.ErrUnknownSKU
		}
		if err != nil {
			return fmt.Errorf("read %s after a refused hold: %w", sku, fault(err))
		}
		if held, ok := d.Holds[orderID]; ok {
			r.held.remember(heldKey(sku, orderID), held, 1)
			return nil
		}
		if d.Available == nil {
			return fmt.Errorf("hold %s for order %s: %w", sku, orderID, errNoAvailableField)
		}
		if *d.Available < qty {
			return &inventory.InsufficientStockError{SKU: sku, Requested: qty, Available: *d.Available}
		}
		// Stock came back between the update and the read: try again.
	}
	return fmt.Errorf("hold %s for order %s: %w (%d attempts)", sku, orderID, ErrContention, maxAttempts)
}

// Release implements inventory.Products: see settle.
func (r *ProductRepository) Release(ctx context.Context, sku, orderID string, now time.Time) error {
	return r.settle(ctx, "release", sku, orderID, now, func(qty int) bson.D {
		return bson.D{{Key: reservedField, Value: -qty}, {Key: availableField, Value: qty}, {Key: revisionField, Value: 1}}
	})
}

// Commit implements inventory.Products: see settle.
func (r *ProductRepository) Commit(ctx context.Context, sku, orderID string, now time.Time) error {
	return r.settle(ctx, "commit", sku, orderID, now, func(qty int) bson.D {
		return bson.D{{Key: reservedField, Value: -qty}, {Key: onHandField, Value: -qty}, {Key: revisionField, Value: 1}}
	})
}

// settle removes the order's hold, if any, in two steps that read and write
// that hold alone: read its quantity, then
//
//	{_id: sku, "holds.<order>": qty}  {$inc: inc(qty), $unset: {"holds.<order>": ""}, $set: {updated_at: now}}
//
// which matches only if the hold is still the one read, so the counts move by
// what it held, once. No match means a concurrent settle removed it (or, at
// worst, it was removed and held anew): read again.
//
// When this repository placed the hold, it knows the quantity and tries the
// update with it first: a match proves the hold was that quantity, as the
// read would have, and saves the read; no match goes on as above.
func (r *ProductRepository) settle(ctx context.Context, op, sku, orderID string, now time.Time, inc func(qty int) bson.D) error {
	if err := inventory.ValidateOrderID(orderID); err != nil {
		return err
	}
	field := holdField(orderID)
	update := func(qty int) (bool, error) {
		res, err := r.s.coll.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: sku}, {Key: field, Value: qty}},
			bson.D{
				{Key: "$inc", Value: inc(qty)},
				{Key: "$unset", Value: bson.D{{Key: field, Value: ""}}},
				{Key: "$set", Value: bson.D{{Key: updatedAtField, Value: storedTime(now)}, {Key: levelPendingField, Value: true}}},
			})
		if err != nil {
			return false, fmt.Errorf("%s %s of order %s: %w", op, sku, orderID, fault(err))
		}
		return res.MatchedCount == 1, nil
	}
	key := heldKey(sku, orderID)
	if qty, ok := r.held.recall(key); ok {
		r.held.forget(key)
		if done, err := update(qty); err != nil || done {
			return err
		}
	}
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return err
			}
		}
		var d holdView
		err := r.s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: sku}},
			options.FindOne().SetProjection(bson.D{{Key: field, Value: 1}})).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s %s of order %s: read the hold: %w", op, sku, orderID, fault(err))
		}
		qty, held := d.Holds[orderID]
		if !held {
			return nil
		}
		if done, err := update(qty); err != nil || done {
			return err
		}
	}
	return fmt.Errorf("%s %s of order %s: %w (%d attempts)", op, sku, orderID, ErrContention, maxAttempts)
}

// errNoAvailableField is a product document written before holds became a
// subdocument and available a stored field (no release had that form); a
// SetStock would rewrite it, but reading the old holds array is not supported.
var errNoAvailableField = errors.New("product document has no available field: written by an older version")

// The bson names of productDocument's fields that Hold, Release and Commit change.
const (
	onHandField    = "on_hand"
	reservedField  = "reserved"
	availableField = "available"
	holdsField     = "holds"
	updatedAtField = "updated_at"
	// levelPendingField is present (true) only while the product's level is
	// unpublished (inventory.Product.LevelPending).
	levelPendingField = "level_pending"
)

// holdField is the path of an order's hold. inventory.ValidateOrderID has
// made sure the order id holds no '.' and no '$'.
func holdField(orderID string) string { return holdsField + "." + orderID }

// holdView is what Hold and settle read of a product: one hold at most.
type holdView struct {
	Available *int           `bson:"available"`
	Holds     map[string]int `bson:"holds"`
}

// productDocument is the stock of one SKU as stored. The holds are a
// subdocument keyed by order id, so that Hold, Release and Commit can test and
// change one hold ("holds.<order>") without reading or writing the others; an
// order id is a valid field name because inventory validates it. Available is
// stored (always on_hand - reserved) so that a hold's filter can test it.
type productDocument struct {
	SKU       string                `bson:"_id"`
	OnHand    int                   `bson:"on_hand"`
	Reserved  int                   `bson:"reserved"`
	Available int                   `bson:"available"`
	Holds     map[string]int        `bson:"holds"`
	UpdatedAt time.Time             `bson:"updated_at"`
	Revision  int64                 `bson:"revision"`
	History   []stockChangeDocument `bson:"history,omitempty"`
	// LevelPending is absent rather than false, to keep the products whose
	// level is published out of the sparse level_pending index.
	LevelPending bool `bson:"level_pending,omitempty"`
}

// stockChangeDocument is a change of stock by hand as stored.
type stockChangeDocument struct {
	At            time.Time `bson:"at"`
	OnHand        int       `bson:"on_hand"`
	By            string    `bson:"by"`
	CorrelationID string    `bson:"correlation_id,omitempty"`
}

func toProductDocument(p inventory.Product) productDocument {
	// Never nil: "holds.<order>" cannot be set inside a null.
	holds := make(map[string]int, len(p.Holds))
	maps.Copy(holds, p.Holds)
	return productDocument{
		SKU:       p.SKU,
		OnHand:    p.OnHand,
		Reserved:  p.Reserved,
		Available: p.Available(),
		Holds:     holds,
		UpdatedAt: storedTime(p.UpdatedAt),
		Revision:  p.Revision,
		History:   toStockChangeDocuments(p.History),

		LevelPending: p.LevelPending,
	}
}

func toStockChangeDocuments(h []inventory.StockChange) []stockChangeDocument {
	if len(h) == 0 {
		return nil
	}
	out := make([]stockChangeDocument, len(h))
	for i, c := range h {
		out[i] = stockChangeDocument{At: storedTime(c.At), OnHand: c.OnHand, By: c.By, CorrelationID: c.CorrelationID}
	}
	return out
}

func (d productDocument) toDomain() inventory.Product {
	var holds map[string]int
	if len(d.Holds) > 0 {
		holds = maps.Clone(d.Holds)
	}
	return inventory.Product{
		SKU:       d.SKU,
		OnHand:    d.OnHand,
		Reserved:  d.Reserved,
		Holds:     holds,
		UpdatedAt: d.UpdatedAt.UTC(),
		Revision:  d.Revision,
		History:   d.history(),

		LevelPending: d.LevelPending,
	}
}

func (d productDocument) history() []inventory.StockChange {
	if len(d.History) == 0 {
		return nil
	}
	out := make([]inventory.StockChange, len(d.History))
	for i, c := range d.History {
		out[i] = inventory.StockChange{At: c.At.UTC(), OnHand: c.OnHand, By: c.By, CorrelationID: c.CorrelationID}
	}
	return out
}
