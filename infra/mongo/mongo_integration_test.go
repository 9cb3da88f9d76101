//go:build integration

package mongo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/orderflow/orderflow/app/delivery"
	"github.com/orderflow/orderflow/app/inventory"
	"github.com/orderflow/orderflow/app/orders"
	"github.com/orderflow/orderflow/app/poison"
	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/infra/memory"
	mongostore "github.com/orderflow/orderflow/infra/mongo"
	"github.com/orderflow/orderflow/infra/repotest"
)

// The contract suites of infra/repotest, run against MongoDB (MONGODB_URI;
// `go tool task test:integration` starts a test server when it is unset).

func TestOrderRepository(t *testing.T) {
	t.Parallel()
	repotest.Orders(t, func(t *testing.T) orders.Repository { return indexed(t, mongostore.NewOrderRepository) })
}

func TestProductRepository(t *testing.T) {
	t.Parallel()
	repotest.Products(t, func(t *testing.T) inventory.Products { return indexed(t, mongostore.NewProductRepository) })
}

func TestReservationRepository(t *testing.T) {
	t.Parallel()
	repotest.Reservations(t, func(t *testing.T) inventory.Reservations { return indexed(t, mongostore.NewReservationRepository) })
}

func TestShipmentRepository(t *testing.T) {
	t.Parallel()
	repotest.Shipments(t, func(t *testing.T) delivery.Repository { return indexed(t, mongostore.NewShipmentRepository) })
}

func TestPoisonStore(t *testing.T) {
	t.Parallel()
	repotest.PoisonStores(t, func(t *testing.T) poison.Store { return indexed(t, mongostore.NewPoisonStore) })
}

func TestViewStore(t *testing.T) {
	t.Parallel()
	repotest.ViewStores(t, func(t *testing.T) view.Store { return indexed(t, mongostore.NewViewStore) })
}

// List agrees with the in-memory reference for cursors the store did not make
// (a sub-millisecond part, a zone, ids that exist or not), not only for those
// the contract suite builds from listed orders.
func TestOrderListAgreesWithMemoryForAnyCursor(t *testing.T) {
	t.Parallel()
	mongoRepo := indexed(t, mongostore.NewOrderRepository)
	memRepo := memory.NewOrderRepository()
	base := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	ids := []string{"a", "b", "c", "d", "e", "f"}
	for i, id := range ids {
		createdAt := base.Add(time.Duration(i/2) * time.Millisecond) // pairs share a millisecond
		for _, repo := range []orders.Repository{mongoRepo, memRepo} {
			_, err := repo.Update(t.Context(), id, func(o *orders.Order) error {
				return o.Place("cust", []orders.Item{{SKU: "SKU-1", Quantity: 1}}, createdAt, "corr")
			})
			require.NoError(t, err)
		}
	}
	zone := time.FixedZone("UTC-5", -5*60*60)
	for _, offset := range []time.Duration{-time.Millisecond, 0, 500 * time.Microsecond, time.Millisecond, 1500 * time.Microsecond, 3 * time.Millisecond} {
		for _, id := range []string{"", "a", "b", "bb", "c", "f", "~"} {
			q := orders.ListQuery{Limit: 100, After: &orders.Cursor{CreatedAt: base.Add(offset).In(zone), ID: id}}
			want, err := memRepo.List(t.Context(), q)
			require.NoError(t, err)
			got, err := mongoRepo.List(t.Context(), q)
			require.NoError(t, err)
			require.Equal(t, orderIDs(want), orderIDs(got), "after %v, %q", offset, id)
		}
	}
}

func orderIDs(os []orders.Order) []string {
	var ids []string
	for _, o := range os {
		ids = append(ids, o.ID)
	}
	return ids
}

// EnsureIndexes runs at every start, on databases that have the indexes already.
func TestEnsureIndexesIsIdempotent(t *testing.T) {
	t.Parallel()
	db := freshDatabase(t)
	for _, r := range []indexer{
		mongostore.NewOrderRepository(db), mongostore.NewProductRepository(db),
		mongostore.NewReservationRepository(db), mongostore.NewShipmentRepository(db), mongostore.NewPoisonStore(db),
		mongostore.NewViewStore(db),
	} {
		require.NoError(t, r.EnsureIndexes(t.Context()))
		require.NoError(t, r.EnsureIndexes(t.Context()), "second time, %T", r)
	}
	for coll, want := range map[string][]string{
		mongostore.OrdersCollection:       {"_id_", "customer_newest_first", "status_newest_first", "customer_status_newest_first", "newest_first", "unpublished", "awaiting"},
		mongostore.ReservationsCollection: {"_id_", "unpublished"},
		mongostore.ShipmentsCollection:    {"_id_", "due", "unpublished"},
		mongostore.PoisonCollection:       {"_id_", "status_newest_first", "newest_first"},
		mongostore.ProductsCollection:     {"_id_", "level_pending"},
		mongostore.ViewOrdersCollection:   append([]string{"_id_"}, mongostore.ViewIndexes...),
	} {
		specs, err := db.Collection(coll).Indexes().ListSpecifications(t.Context())
		require.NoError(t, err)
		var names []string
		for _, s := range specs {
			names = append(names, s.Name)
		}
		require.ElementsMatch(t, want, names, coll)
	}
}

// Update stops at once when its context is done (the router's handler timeout,
// a shutdown) instead of going on to MongoDB.
func TestUpdateHonoursContext(t *testing.T) {
	t.Parallel()
	repo := mongostore.NewProductRepository(freshDatabase(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := repo.Update(ctx, "SKU-1", func(p *inventory.Product) error { return p.SetOnHand(1, time.Now()) })

	require.ErrorIs(t, err, context.Canceled)
}

func TestConnectFailsFastOnAServerThatIsNotThere(t *testing.T) {
	t.Parallel()
	start := time.Now()
	_, err := mongostore.Connect(t.Context(), "mongodb://user:secret@127.0.0.1:1/?serverSelectionTimeoutMS=300")
	require.Error(t, err)
	require.Less(t, time.Since(start), 5*time.Second)
	require.NotContains(t, err.Error(), "secret")
	require.Contains(t, err.Error(), "127.0.0.1:1")
}

// indexer is a store with indexes to create.
type indexer interface{ EnsureIndexes(context.Context) error }

// indexed returns the store newStore makes on a fresh database, its indexes created.
func indexed[S indexer](t *testing.T, newStore func(*mongo.Database) S) S {
	t.Helper()
	s := newStore(freshDatabase(t))
	require.NoError(t, s.EnsureIndexes(t.Context()))
	return s
}

var (
	clientOnce sync.Once
	client     *mongo.Client
	clientErr  error
)

// freshDatabase returns an empty database of its own, dropped after the test:
// the test server scans whole collections for most queries, so they stay small.
func freshDatabase(t testing.TB) *mongo.Database {
	t.Helper()
	uri := os.Getenv("MONGODB_URI")
	if uri == "" {
		t.Fatal("MONGODB_URI is not set: run `go tool task test:integration`, which starts a test server")
	}
	clientOnce.Do(func() {
		client, clientErr = mongostore.Connect(context.Background(), uri)
	})
	require.NoError(t, clientErr)
	name := fmt.Sprintf("repotest_%d_%04x", time.Now().UnixNano(), rand.Uint32()&0xffff)
	db := client.Database(name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := db.Drop(ctx); err != nil {
			// Housekeeping only: the name is unique to this test and the test server is
			// wiped with its state dir; a saturated server must not fail a test that passed.
			t.Logf("drop database %s: %v (left behind)", name, err)
		}
	})
	return db
}

// countedDatabase returns a fresh database twice: through the shared client,
// and through a client of its own whose commands counter counts (the one the
// test measures).
func countedDatabase(t *testing.T) (db, counted *mongo.Database, counter *mongostore.CommandCounter) {
	t.Helper()
	db = freshDatabase(t)
	counter = mongostore.NewCommandCounter()
	client, err := mongostore.Connect(t.Context(), os.Getenv("MONGODB_URI"), counter.Monitor())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Disconnect(t.Context()) })
	return db, client.Database(db.Name()), counter
}
