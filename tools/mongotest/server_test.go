package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/writeconcern"
)

// srv is shared by all tests: one FerretDB instance per process (see running).
var srv *Server

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// FerretDB logs every error reply at warn; the compat tests provoke some on purpose.
	flog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	s, err := Start(ctx, Config{Addr: "127.0.0.1:0", Logger: log, FerretDBLogger: flog})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(1)
	}
	srv = s
	code := m.Run()
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		code = 1
	}
	os.Exit(code)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// collection connects to the front and returns an empty collection in a database named after the test.
func collection(t testing.TB, opts ...*options.ClientOptions) *mongo.Collection {
	t.Helper()
	ctx := testCtx(t)
	c, err := mongo.Connect(ctx, append([]*options.ClientOptions{options.Client().ApplyURI(srv.URI)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	db := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	coll := c.Database(db).Collection("c")
	if err := coll.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	return coll
}

// together runs f in n goroutines released at the same moment and returns their errors joined.
func together(n int, f func(i int) error) error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errors.Join(errs...)
}

func mustFind(t *testing.T, coll *mongo.Collection, filter any) bson.M {
	t.Helper()
	var doc bson.M
	if err := coll.FindOne(testCtx(t), filter).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// (a) A conditional decrement from 50 goroutines sells exactly the 10 in stock.
// Straight against FerretDB (srv.BackendAddr) the same test measured 27 successes and available 2.
func TestConditionalDecrementIsAtomic(t *testing.T) {
	ctx := testCtx(t)
	coll := collection(t)
	must[*mongo.InsertOneResult](t)(coll.InsertOne(ctx, bson.M{"_id": "sku", "available": 10}))

	var sold atomic.Int64
	err := together(50, func(int) error {
		r, err := coll.UpdateOne(ctx,
			bson.M{"_id": "sku", "available": bson.M{"$gte": 1}},
			bson.M{"$inc": bson.M{"available": -1}})
		if err == nil {
			sold.Add(r.ModifiedCount)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := sold.Load(); got != 10 {
		t.Errorf("successful decrements = %d, want 10", got)
	}
	if got := mustFind(t, coll, bson.M{"_id": "sku"})["available"]; got != int32(0) {
		t.Errorf("available = %v, want 0", got)
	}
}

// (b) Version compare-and-set: every writer retries on no-match; none may be lost.
func TestVersionCompareAndSet(t *testing.T) {
	ctx := testCtx(t)
	coll := collection(t)
	must[*mongo.InsertOneResult](t)(coll.InsertOne(ctx, bson.M{"_id": "c", "version": 0, "n": 0}))

	err := together(20, func(int) error {
		for range 10_000 { // bounded: 20 writers need far fewer attempts
			var doc struct{ Version, N int }
			if err := coll.FindOne(ctx, bson.M{"_id": "c"}).Decode(&doc); err != nil {
				return err
			}
			r, err := coll.ReplaceOne(ctx,
				bson.M{"_id": "c", "version": doc.Version},
				bson.M{"version": doc.Version + 1, "n": doc.N + 1})
			if err != nil {
				return err
			}
			if r.MatchedCount == 1 {
				return nil
			}
		}
		return errors.New("compare-and-set never succeeded")
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := mustFind(t, coll, bson.M{"_id": "c"})
	if doc["n"] != int32(20) || doc["version"] != int32(20) {
		t.Errorf("doc = %v, want n 20 and version 20", doc)
	}
}

// (c) A unique index rejects a duplicate insert with an error the driver classifies as duplicate key.
func TestUniqueIndexDuplicateInsert(t *testing.T) {
	ctx := testCtx(t)
	coll := collection(t)
	name := must[string](t)(coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "email", Value: 1}},
		Options: options.Index().SetUnique(true),
	}))
	if name != "email_1" {
		t.Errorf("index name = %q", name)
	}
	must[*mongo.InsertOneResult](t)(coll.InsertOne(ctx, bson.M{"_id": 1, "email": "a@x"}))

	_, err := coll.InsertOne(ctx, bson.M{"_id": 2, "email": "a@x"})
	if !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("duplicate insert: want a duplicate key error, got %v", err)
	}
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) != 1 || we.WriteErrors[0].Code != 11000 {
		t.Errorf("want WriteException with one 11000 write error, got %#v", err)
	}
	// The same for a duplicate _id.
	if _, err := coll.InsertOne(ctx, bson.M{"_id": 1, "email": "b@x"}); !mongo.IsDuplicateKeyError(err) {
		t.Errorf("duplicate _id: want a duplicate key error, got %v", err)
	}
}

// (d) Find with sort + limit over a compound index.
func TestFindSortLimitCompoundIndex(t *testing.T) {
	ctx := testCtx(t)
	coll := collection(t)
	must[string](t)(coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "customer", Value: 1}, {Key: "createdAt", Value: -1}},
	}))
	var docs []any
	for i := range 20 {
		docs = append(docs, bson.M{"_id": i, "customer": fmt.Sprint("c", i%2), "createdAt": i})
	}
	must[*mongo.InsertManyResult](t)(coll.InsertMany(ctx, docs))

	cur := must[*mongo.Cursor](t)(coll.Find(ctx, bson.M{"customer": "c1"},
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: -1}}).SetLimit(3)))
	var got []struct {
		ID int `bson:"_id"`
	}
	if err := cur.All(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[{19} {17} {15}]" {
		t.Errorf("got %v, want _id 19, 17, 15", got)
	}

	// A cursor spanning several batches (getMore) also works through the front.
	cur = must[*mongo.Cursor](t)(coll.Find(ctx, bson.M{}, options.Find().SetBatchSize(3).SetSort(bson.D{{Key: "_id", Value: 1}})))
	got = nil
	if err := cur.All(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 || got[19].ID != 19 {
		t.Errorf("batched find got %d docs: %v", len(got), got)
	}
}

// An unacknowledged write is sent with moreToCome. FerretDB v1 answers it anyway; the front must
// drop that answer, or the next command on the connection would receive it.
func TestMoreToComeRequest(t *testing.T) {
	ctx := testCtx(t)
	// One pooled connection: the find below must follow the write on the same connection.
	coll := collection(t, options.Client().SetMaxPoolSize(1))
	unack := coll.Database().Collection(coll.Name(), options.Collection().SetWriteConcern(writeconcern.Unacknowledged()))

	before := srv.front.noReplyReq.Load()
	for i := range 5 {
		if _, err := unack.InsertOne(ctx, bson.M{"_id": i}); err != nil && !errors.Is(err, mongo.ErrUnacknowledgedWrite) {
			t.Fatal(err)
		}
	}
	// The driver returns as soon as it has written; the next command on the same connection is
	// read by the front only after the writes, so check the counter after it.
	n, err := coll.CountDocuments(ctx, bson.M{})
	if err != nil || n != 5 {
		t.Fatalf("count = %d, %v; want 5", n, err)
	}
	if got := srv.front.noReplyReq.Load() - before; got < 5 {
		t.Fatalf("front saw %d moreToCome requests, want 5", got)
	}
	if doc := mustFind(t, coll, bson.M{"_id": 3}); doc["_id"] != int32(3) {
		t.Errorf("find after unacknowledged writes: %v", doc)
	}
}

func TestOneInstancePerProcess(t *testing.T) {
	s, err := Start(testCtx(t), Config{Addr: "127.0.0.1:0"})
	if err == nil {
		s.Close()
		t.Fatal("second Start in one process succeeded")
	}
}

func TestAddrMustBeLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "10.0.0.1:0"} {
		if err := checkLoopback(addr); err == nil {
			t.Errorf("%q accepted", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:27018"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("%q: %v", addr, err)
		}
	}
}

// Benchmarks give single-document throughput through the serialised front:
//
//	go test -run '^$' -bench . -benchtime 3s
func BenchmarkUpdateOne(b *testing.B) {
	ctx := testCtx(b)
	coll := collection(b)
	if _, err := coll.InsertOne(ctx, bson.M{"_id": "x", "available": 1 << 30}); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := coll.UpdateOne(ctx, bson.M{"_id": "x", "available": bson.M{"$gte": 1}}, bson.M{"$inc": bson.M{"available": -1}})
			if err != nil || r.ModifiedCount != 1 {
				b.Error(r, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

func BenchmarkInsertOne(b *testing.B) {
	ctx := testCtx(b)
	coll := collection(b)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := coll.InsertOne(ctx, bson.M{"v": 1}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
}

// TestHandshakeDoesNotWaitForTheLock: a new client connects and pings while the global lock is
// held, as by a slow command on a saturated server.
func TestHandshakeDoesNotWaitForTheLock(t *testing.T) {
	coll := collection(t)
	srv.front.mu.Lock()
	locked := true
	defer func() {
		if locked {
			srv.front.mu.Unlock()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mongo.Connect(ctx, options.Client().ApplyURI(srv.URI))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	if err := c.Ping(ctx, nil); err != nil {
		t.Fatalf("ping while the lock is held: %v", err)
	}

	// A data command still takes the lock (TestConditionalDecrementIsAtomic shows why it must):
	// it completes once the lock is free.
	inserted := make(chan error, 1)
	go func() {
		_, err := coll.InsertOne(ctx, bson.M{"a": 1})
		inserted <- err
	}()
	srv.front.mu.Unlock()
	locked = false
	if err := <-inserted; err != nil {
		t.Fatal(err)
	}
}

func TestCommandName(t *testing.T) {
	doc := func(key string) []byte {
		b := []byte{0, 0, 0, 0, 0x10}
		b = append(b, key...)
		b = append(b, 0, 1, 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(b, uint32(len(b)))
		return b
	}
	msg := func(op int32, body ...[]byte) message {
		m := make([]byte, headerLen)
		for _, b := range body {
			m = append(m, b...)
		}
		binary.LittleEndian.PutUint32(m, uint32(len(m)))
		binary.LittleEndian.PutUint32(m[12:], uint32(op))
		return m
	}
	seq := []byte{1, 9, 0, 0, 0, 'd', 'o', 'c', 's', 0} // a kind-1 section of 9 bytes, no documents
	tests := []struct {
		name string
		m    message
		want string
	}{
		{"op_msg body", msg(opMsg, []byte{0, 0, 0, 0}, []byte{0}, doc("hello")), "hello"},
		{"op_msg sequence first", msg(opMsg, []byte{0, 0, 0, 0}, seq, []byte{0}, doc("insert")), "insert"},
		{"op_query", msg(opQuery, []byte{0, 0, 0, 0}, []byte("admin.$cmd\x00"), make([]byte, 8), doc("isMaster")), "isMaster"},
		{"op_msg truncated", msg(opMsg, []byte{0, 0, 0, 0}, []byte{0, 5, 0}), ""},
		{"op_msg bad sequence size", msg(opMsg, []byte{0, 0, 0, 0}, []byte{1, 200, 0, 0, 0}), ""},
		{"op_query truncated", msg(opQuery, []byte{0, 0, 0, 0}, []byte("admin")), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.commandName(); got != tt.want {
				t.Fatalf("commandName() = %q, want %q", got, tt.want)
			}
		})
	}
}
