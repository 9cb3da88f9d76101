package mongo

import (
	"cmp"
	"context"
	"slices"
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
	}}
}

// EnsureIndexes creates nothing: the SKU is the _id, unique by construction, and
// List sorts by it, so the _id index serves every query of this collection. It
// exists so that the wiring treats every repository alike.
func (r *ProductRepository) EnsureIndexes(context.Context) error { return nil }

// Get implements inventory.Products.
func (r *ProductRepository) Get(ctx context.Context, sku string) (inventory.Product, error) {
	p, ok, err := r.s.get(ctx, sku)
	if err != nil {
		return inventory.Product{}, err
	}
	if !ok {
		return inventory.Product{}, inventory.ErrUnknownSKU
	}
	return p, nil
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

// productDocument is the stock of one SKU as stored. The holds are an array, not
// a subdocument keyed by order id: an order id comes from a message, and a field
// name with '.' or a leading '$' is refused or ambiguous in MongoDB, while any
// string is fine as a value.
type productDocument struct {
	SKU       string         `bson:"_id"`
	OnHand    int            `bson:"on_hand"`
	Reserved  int            `bson:"reserved"`
	Holds     []holdDocument `bson:"holds"`
	UpdatedAt time.Time      `bson:"updated_at"`
	Revision  int64          `bson:"revision"`
}

type holdDocument struct {
	OrderID  string `bson:"order_id"`
	Quantity int    `bson:"quantity"`
}

func toProductDocument(p inventory.Product) productDocument {
	holds := make([]holdDocument, 0, len(p.Holds))
	for orderID, qty := range p.Holds {
		holds = append(holds, holdDocument{OrderID: orderID, Quantity: qty})
	}
	// Sorted so that the same stock is always the same document.
	slices.SortFunc(holds, func(a, b holdDocument) int { return cmp.Compare(a.OrderID, b.OrderID) })
	return productDocument{
		SKU:       p.SKU,
		OnHand:    p.OnHand,
		Reserved:  p.Reserved,
		Holds:     holds,
		UpdatedAt: storedTime(p.UpdatedAt),
		Revision:  p.Revision,
	}
}

func (d productDocument) toDomain() inventory.Product {
	var holds map[string]int
	if len(d.Holds) > 0 {
		holds = make(map[string]int, len(d.Holds))
		for _, h := range d.Holds {
			holds[h.OrderID] = h.Quantity
		}
	}
	return inventory.Product{
		SKU:       d.SKU,
		OnHand:    d.OnHand,
		Reserved:  d.Reserved,
		Holds:     holds,
		UpdatedAt: d.UpdatedAt.UTC(),
		Revision:  d.Revision,
	}
}
