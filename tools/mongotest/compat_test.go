package main

// These tests pin down what FerretDB v1.24.2 (SQLite, behind the front) does for the operations the
// product's repositories may use. They assert today's behaviour, including where it differs from
// mongod, so an upgrade that changes it is noticed.

import (
	"errors"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

func TestFindOneAndUpdate(t *testing.T) {
	ctx := testCtx(t)
	coll := collection(t)
	must[*mongo.InsertOneResult](t)(coll.InsertOne(ctx, bson.M{"_id": 1, "n": 0}))

	var doc bson.M
	after := options.FindOneAndUpdate().SetReturnDocument(options.After)
	if err := coll.FindOneAndUpdate(ctx, bson.M{"_id": 1}, bson.M{"$inc": bson.M{"n": 1}}, after).Decode(&doc); err != nil || doc["n"] != int32(1) {
		t.Errorf("ReturnDocument After: %v, %v", doc, err)
	}
	doc = nil
	if err := coll.FindOneAndUpdate(ctx, bson.M{"_id": 1}, bson.M{"$inc": bson.M{"n": 1}}).Decode(&doc); err != nil || doc["n"] != int32(1) {
		t.Errorf("default (Before): %v, %v", doc, err)
	}
	if err := coll.FindOneAndUpdate(ctx, bson.M{"_id": 404}, bson.M{"$inc": bson.M{"n": 1}}).Err(); !errors.Is(err, mongo.ErrNoDocuments) {
		t.Errorf("no match: want ErrNoDocuments, got %v", err)
	}
	doc = nil
	upsert := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)
	err := coll.FindOneAndUpdate(ctx, bson.M{"_id": 2}, bson.M{"$inc": bson.M{"n": 1}, "$setOnInsert": bson.M{"created": true}}, upsert).Decode(&doc)
	if err != nil || doc["n"] != int32(1) || doc["created"] != true {
		t.Errorf("upsert: %v, %v", doc, err)
	}
	doc = nil
	if err := coll.FindOneAndDelete(ctx, bson.M{"_id": 2}).Decode(&doc); err != nil || doc["_id"] != int32(2) {
		t.Errorf("FindOneAndDelete: %v, %v", doc, err)
	}
}

// A "claim one" pattern with FindOneAndUpdate is atomic through the front.
func TestFindOneAndUpdateConcurrentClaim(t *testing.T) {
	ctx := testCtx(t)
	coll := collection(t)
	must[*mongo.InsertOneResult](t)(coll.InsertOne(ctx, bson.M{"_id": "sku", "available": 10}))
	var won atomic.Int64
	err := together(50, func(int) error {
		err := coll.FindOneAndUpdate(ctx, bson.M{"_id": "sku", "available": bson.M{"$gte": 1}}, bson.M{"$inc": bson.M{"available": -1}}).Err()
		switch {
		case err == nil:
			won.Add(1)
		case errors.Is(err, mongo.ErrNoDocuments):
		default:
			return err
		}
		return nil
	})
	if err != nil || won.Load() != 10 {
		t.Errorf("won = %d, want 10; %v", won.Load(), err)
	}
}

func TestFindOneAndReplace(t *testing.T) {
	ctx := testCtx(t)
	coll := collection(t)
	must[*mongo.InsertOneResult](t)(coll.InsertOne(ctx, bson.M{"_id": 1, "a": 1}))

	var doc bson.M
	after := options.FindOneAndReplace().SetReturnDocument(options.After)
	if err := coll.FindOneAndReplace(ctx, bson.M{"_id": 1}, bson.M{"b": 2}, after).Decode(&doc); err != nil || doc["b"] != int32(2) || doc["a"] != nil {
		t.Errorf("replace: %v, %v", doc, err)
	}
	doc = nil
	if err := coll.FindOneAndReplace(ctx, bson.M{"_id": 2}, bson.M{"c": 3}, after.SetUpsert(true)).Decode(&doc); err != nil || doc["_id"] != int32(2) || doc["c"] != int32(3) {
		t.Errorf("upsert: %v, %v", doc, err)
	}
}

func TestSetOnInsertUpsert(t *testing.T) {
	ctx := testCtx(t)
	coll := collection(t)
	upsert := options.Update().SetUpsert(true)
	update := func(n int) bson.M {
		return bson.M{"$setOnInsert": bson.M{"created": n}, "$set": bson.M{"last": n}}
	}

	r := must[*mongo.UpdateResult](t)(coll.UpdateOne(ctx, bson.M{"_id": "k"}, update(1), upsert))
	if r.UpsertedCount != 1 || r.UpsertedID != "k" {
		t.Errorf("first upsert: %+v", r)
	}
	r = must[*mongo.UpdateResult](t)(coll.UpdateOne(ctx, bson.M{"_id": "k"}, update(2), upsert))
	if r.MatchedCount != 1 || r.ModifiedCount != 1 || r.UpsertedCount != 0 {
		t.Errorf("second upsert: %+v", r)
	}
	if doc := mustFind(t, coll, bson.M{"_id": "k"}); doc["created"] != int32(1) || doc["last"] != int32(2) {
		t.Errorf("doc = %v, want created 1 (kept), last 2", doc)
	}

	// Upsert on a non-_id filter: the filter's equality fields go into the new document.
	r = must[*mongo.UpdateResult](t)(coll.UpdateOne(ctx, bson.M{"key": "k2"}, bson.M{"$setOnInsert": bson.M{"created": 1}}, upsert))
	if r.UpsertedCount != 1 {
		t.Errorf("non-_id upsert: %+v", r)
	}
	if doc := mustFind(t, coll, bson.M{"key": "k2"}); doc["created"] != int32(1) {
		t.Errorf("doc = %v", doc)
	}

	// Concurrent upserts of the same _id: through the front exactly one inserts.
	var inserted atomic.Int64
	err := together(20, func(i int) error {
		r, err := coll.UpdateOne(ctx, bson.M{"_id": "race"}, bson.M{"$setOnInsert": bson.M{"by": i}, "$inc": bson.M{"n": 1}}, upsert)
		if err == nil {
			inserted.Add(r.UpsertedCount)
		}
		return err
	})
	if err != nil || inserted.Load() != 1 {
		t.Errorf("concurrent upserts: inserted %d, want 1; %v", inserted.Load(), err)
	}
	if doc := mustFind(t, coll, bson.M{"_id": "race"}); doc["n"] != int32(20) {
		t.Errorf("doc = %v, want n 20", doc)
	}
}

func TestReplaceOneUpsert(t *testing.T) {
	ctx := testCtx(t)
	coll := collection(t)
	upsert := options.Replace().SetUpsert(true)

	r := must[*mongo.UpdateResult](t)(coll.ReplaceOne(ctx, bson.M{"_id": "r"}, bson.M{"v": 1}, upsert))
	if r.UpsertedCount != 1 || r.UpsertedID != "r" {
		t.Errorf("insert: %+v", r)
	}
	r = must[*mongo.UpdateResult](t)(coll.ReplaceOne(ctx, bson.M{"_id": "r"}, bson.M{"v": 2}, upsert))
	if r.MatchedCount != 1 || r.ModifiedCount != 1 || r.UpsertedCount != 0 {
		t.Errorf("replace: %+v", r)
	}
	if doc := mustFind(t, coll, bson.M{"_id": "r"}); doc["v"] != int32(2) {
		t.Errorf("doc = %v", doc)
	}
}

func TestBulkWrite(t *testing.T) {
	ctx := testCtx(t)
	coll := collection(t)
	r := must[*mongo.BulkWriteResult](t)(coll.BulkWrite(ctx, []mongo.WriteModel{
		mongo.NewInsertOneModel().SetDocument(bson.M{"_id": 1}),
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": 1}).SetUpdate(bson.M{"$set": bson.M{"x": 1}}),
		mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": 2}).SetReplacement(bson.M{"y": 1}).SetUpsert(true),
		mongo.NewUpdateManyModel().SetFilter(bson.M{}).SetUpdate(bson.M{"$set": bson.M{"z": 1}}),
		mongo.NewDeleteOneModel().SetFilter(bson.M{"_id": 1}),
	}))
	if r.InsertedCount != 1 || r.MatchedCount != 3 || r.ModifiedCount != 3 || r.UpsertedCount != 1 || r.DeletedCount != 1 {
		t.Errorf("result: %+v", r)
	}

	// A duplicate insert in an ordered bulk: BulkWriteException with 11000 at its index; later ops skipped.
	must[string](t)(coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)}))
	_, err := coll.BulkWrite(ctx, []mongo.WriteModel{
		mongo.NewInsertOneModel().SetDocument(bson.M{"_id": 10, "email": "a"}),
		mongo.NewInsertOneModel().SetDocument(bson.M{"_id": 11, "email": "a"}),
		mongo.NewInsertOneModel().SetDocument(bson.M{"_id": 12, "email": "b"}),
	})
	var bwe mongo.BulkWriteException
	if !mongo.IsDuplicateKeyError(err) || !errors.As(err, &bwe) || len(bwe.WriteErrors) != 1 || bwe.WriteErrors[0].Index != 1 {
		t.Errorf("ordered duplicate: %v", err)
	}
	if n, _ := coll.CountDocuments(ctx, bson.M{"_id": 12}); n != 0 {
		t.Error("ordered bulk went on after the failure")
	}
}

// A unique-index violation caused by an update (UpdateOne, ReplaceOne, FindOneAndUpdate, an update
// inside BulkWrite) is NOT reported like mongod does (WriteException, code 11000): FerretDB fails
// the whole command with code 1 (InternalError), so mongo.IsDuplicateKeyError is false.
// Inserts, and upserts that insert, do give 11000.
func TestUniqueViolationByUpdate(t *testing.T) {
	ctx := testCtx(t)
	coll := collection(t)
	must[string](t)(coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)}))
	must[*mongo.InsertManyResult](t)(coll.InsertMany(ctx, []any{bson.M{"_id": 1, "email": "a"}, bson.M{"_id": 2, "email": "b"}}))

	isInternalError := func(err error) bool {
		var ce mongo.CommandError
		return errors.As(err, &ce) && ce.Code == 1 && ce.Name == "InternalError" && !mongo.IsDuplicateKeyError(err)
	}
	_, err := coll.UpdateOne(ctx, bson.M{"_id": 2}, bson.M{"$set": bson.M{"email": "a"}})
	if !isInternalError(err) {
		t.Errorf("UpdateOne: %#v", err)
	}
	_, err = coll.ReplaceOne(ctx, bson.M{"_id": 2}, bson.M{"email": "a"})
	if !isInternalError(err) {
		t.Errorf("ReplaceOne: %#v", err)
	}
	err = coll.FindOneAndUpdate(ctx, bson.M{"_id": 2}, bson.M{"$set": bson.M{"email": "a"}}).Err()
	if !isInternalError(err) {
		t.Errorf("FindOneAndUpdate: %#v", err)
	}
	_, err = coll.BulkWrite(ctx, []mongo.WriteModel{
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": 2}).SetUpdate(bson.M{"$set": bson.M{"email": "a"}}),
	})
	if !isInternalError(err) {
		t.Errorf("BulkWrite update: %#v", err)
	}
	// The failed update left the document unchanged.
	if doc := mustFind(t, coll, bson.M{"_id": 2}); doc["email"] != "b" {
		t.Errorf("doc = %v", doc)
	}
	// An upsert that inserts a duplicate gives the usual 11000 WriteException.
	_, err = coll.UpdateOne(ctx, bson.M{"_id": 3}, bson.M{"$set": bson.M{"email": "a"}}, options.Update().SetUpsert(true))
	if !mongo.IsDuplicateKeyError(err) {
		t.Errorf("UpdateOne upsert-insert: %v", err)
	}
	_, err = coll.ReplaceOne(ctx, bson.M{"_id": 3}, bson.M{"email": "a"}, options.Replace().SetUpsert(true))
	if !mongo.IsDuplicateKeyError(err) {
		t.Errorf("ReplaceOne upsert-insert: %v", err)
	}
}
