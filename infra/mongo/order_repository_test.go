package mongo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/orderflow/orderflow/app/orders"
)

func TestListFilter(t *testing.T) {
	t.Parallel()
	ms := time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	zone := time.FixedZone("UTC+2", 2*60*60)
	tests := []struct {
		name string
		q    orders.ListQuery
		want bson.D
	}{
		{"everything", orders.ListQuery{}, bson.D{}},
		{"by customer and status", orders.ListQuery{CustomerID: "c-1", Status: orders.StatusConfirmed}, bson.D{
			{Key: "customer_id", Value: "c-1"}, {Key: "status", Value: "CONFIRMED"},
		}},
		{"after a cursor made by the store", orders.ListQuery{CustomerID: "c-1", After: &orders.Cursor{CreatedAt: ms.In(zone), ID: "o-5"}}, bson.D{
			{Key: "customer_id", Value: "c-1"},
			{Key: "created_at", Value: bson.D{{Key: "$lte", Value: ms}}},
			{Key: "$or", Value: bson.A{
				bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: ms}}}},
				bson.D{{Key: "created_at", Value: ms}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: "o-5"}}}},
			}},
		}},
		// Between two stored values: every order at or before its millisecond
		// comes after it, whatever its id.
		{"after a cursor with a sub-millisecond part", orders.ListQuery{After: &orders.Cursor{CreatedAt: ms.Add(500 * time.Microsecond), ID: "o-5"}}, bson.D{
			{Key: "created_at", Value: bson.D{{Key: "$lte", Value: ms}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, listFilter(tt.q))
		})
	}
}
