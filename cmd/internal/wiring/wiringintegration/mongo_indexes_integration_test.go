//go:build integration

package wiringintegration_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/orderflow/orderflow/app/view"
	"github.com/orderflow/orderflow/cmd/internal/wiring"
	mongostore "github.com/orderflow/orderflow/infra/mongo"
)

// Every query the services run is served by an index on real MongoDB (the
// test server scans regardless, so this checks what reasoning cannot forget:
// that the indexes the query tables beside each EnsureIndexes name exist, with
// their keys). Every collection of every service database is listed, so a new
// collection or index without an entry here fails.
func TestMongoIndexes(t *testing.T) {
	t.Parallel()
	uri := os.Getenv("MONGODB_URI")
	if uri == "" {
		t.Fatal("MONGODB_URI is not set: run `go tool task test:integration`, which starts a test server")
	}
	mongoOnce.Do(func() { mongoClient, mongoErr = mongostore.Connect(context.Background(), uri) })
	require.NoError(t, mongoErr)
	prefix := fmt.Sprintf("indexes_%d_%04x_", time.Now().UnixNano(), rand.Uint32()&0xffff)
	dbs := wiring.MongoDatabaseNames(prefix)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, db := range dbs.All() {
			_ = mongoClient.Database(db).Drop(ctx)
		}
	})
	st, err := wiring.NewMongoStores(t.Context(), mongoClient, prefix)
	require.NoError(t, err)
	// A collection with only the _id index exists once a document does.
	_, err = st.View.UpdateStock(t.Context(), "SKU-1", func(l *view.StockLevel) error { l.Revision++; return nil })
	require.NoError(t, err)

	newestFirst := "created_at -1, _id -1"
	poison := map[string]string{
		"_id_":                "_id 1",
		"status_newest_first": "status 1, poisoned_at -1, _id -1",
		"newest_first":        "poisoned_at -1, _id -1",
	}
	want := map[string]map[string]map[string]string{
		dbs.Orders: {
			mongostore.OrdersCollection: {
				"_id_":                         "_id 1",
				"newest_first":                 newestFirst,
				"customer_newest_first":        "customer_id 1, " + newestFirst,
				"status_newest_first":          "status 1, " + newestFirst,
				"customer_status_newest_first": "customer_id 1, status 1, " + newestFirst,
				"unpublished":                  "unpublished_since 1",
				"awaiting":                     "awaiting_since 1",
			},
			mongostore.PoisonCollection: poison,
		},
		dbs.Inventory: {
			mongostore.ProductsCollection:     {"_id_": "_id 1", "level_pending": "level_pending 1"},
			mongostore.ReservationsCollection: {"_id_": "_id 1", "unpublished": "unpublished_since 1"},
			mongostore.PoisonCollection:       poison,
		},
		// The gateway's view (its indexes are the view's: see ViewStore.EnsureIndexes).
		dbs.Gateway: {
			mongostore.ViewOrdersCollection: {
				"_id_":                         "_id 1",
				"newest_first":                 newestFirst,
				"customer_newest_first":        "customer_id 1, " + newestFirst,
				"status_newest_first":          "status 1, " + newestFirst,
				"customer_status_newest_first": "customer_id 1, status 1, " + newestFirst,
			},
			mongostore.ViewStockCollection: {"_id_": "_id 1"},
		},
		dbs.Delivery: {
			mongostore.ShipmentsCollection: {"_id_": "_id 1", "due": "next_step_at 1", "unpublished": "unpublished_since 1"},
			mongostore.PoisonCollection:    poison,
		},
	}
	for _, dbName := range dbs.All() {
		require.Contains(t, want, dbName, "every service database is listed")
	}
	for dbName, colls := range want {
		db := mongoClient.Database(dbName)
		names, err := db.ListCollectionNames(t.Context(), bson.D{})
		require.NoError(t, err)
		var wantNames []string
		for c := range colls {
			wantNames = append(wantNames, c)
		}
		assert.ElementsMatch(t, wantNames, names, "the collections of %s", dbName)
		for coll, indexes := range colls {
			specs, err := db.Collection(coll).Indexes().ListSpecifications(t.Context())
			require.NoError(t, err)
			got := map[string]string{}
			for _, s := range specs {
				got[s.Name] = describeKeys(t, s.KeysDocument)
			}
			assert.Equal(t, indexes, got, "the indexes of %s.%s", dbName, coll)
		}
	}
}

// describeKeys spells an index's key pattern: "customer_id 1, created_at -1".
// Whether an index is sparse is not checked: FerretDB v1 does not say (it
// keeps the option to itself), and the code that asks for it is one line.
func describeKeys(t *testing.T, keys bson.Raw) string {
	t.Helper()
	elems, err := keys.Elements()
	require.NoError(t, err)
	parts := make([]string, len(elems))
	for i, e := range elems {
		dir, ok := e.Value().AsInt64OK()
		if !ok {
			f, isFloat := e.Value().DoubleOK()
			require.True(t, isFloat, "key %s is %s", e.Key(), e.Value())
			dir = int64(f)
		}
		parts[i] = fmt.Sprintf("%s %d", e.Key(), dir)
	}
	return strings.Join(parts, ", ")
}
