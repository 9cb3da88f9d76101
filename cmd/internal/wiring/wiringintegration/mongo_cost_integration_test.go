//go:build integration

package wiringintegration_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/cmd/internal/wiring/wiringtest"
	mongostore "github.com/orderflow/orderflow/infra/mongo"
	"github.com/orderflow/orderflow/messages"
)

// The MongoDB cost of an order (issue 9 item 5): the commands the four
// services send, counted by the driver's command monitor, per order placed
// to CONFIRMED and then to DELIVERED, by database and command. Counts do not
// depend on the machine; the rates printed beside them do, so each is printed
// with a reference measured in the same run (one insert round trip).
//
//	eval "$(MONGOTEST_ADDR=127.0.0.1:27150 tools/deps/mongo.sh start)"
//	go test -tags integration -run '^$' -bench MongoCommands -benchtime 40x ./cmd/internal/wiring/

// BenchmarkMongoCommandsPerOrder places b.N single-unit orders from 8
// clients (operator-placed, so no per-customer caps are checked), waits until
// every one is CONFIRMED and the system is quiet (the shipments scheduled and
// recorded), then moves every shipment with the manual courier's commands
// (dispatch, deliver) until every order is DELIVERED and quiet (the stock
// committed). The relay, the sweeper and the auto courier are off here: their
// cost is per second, not per order (BenchmarkMongoCommandsIdle).
func BenchmarkMongoCommandsPerOrder(b *testing.B) {
	counter := mongostore.NewCommandCounter()
	st, client := countedMongoStores(b, counter)
	h := wiringtest.Start(b, wiringtest.WithStores(st))
	h.SetStock("SKU-BENCH", messages.MaxOnHand)
	insertRate := referenceInsertRate(b, client)

	n := b.N
	ids := make([]string, n)
	before := counter.Snapshot()
	began := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(8, n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				ids[i] = h.PlaceOrder("c-bench", []messages.Item{wiringtest.Item("SKU-BENCH", 1)})
			}
		})
	}
	wg.Wait()
	waitEvents(b, h, messages.TopicOrderEvents, "OrderConfirmed", n)
	confirmedIn := time.Since(began)
	drain(b, h)
	confirmed := counter.Since(before)

	before = counter.Snapshot()
	next.Store(0)
	for range min(8, n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				for _, step := range []string{"dispatch", "deliver"} {
					require.Less(b, h.Courier(ids[i], step, nil), 300, "%s %s", step, ids[i])
				}
			}
		})
	}
	wg.Wait()
	waitEvents(b, h, messages.TopicOrderEvents, "OrderDelivered", n)
	drain(b, h)
	delivered := counter.Since(before)
	b.StopTimer()

	perOrder := func(c map[mongostore.CommandKey]int64) float64 { return float64(total(c)) / float64(n) }
	b.ReportMetric(perOrder(confirmed), "cmds/confirmed")
	b.ReportMetric(perOrder(delivered), "cmds/delivered")
	b.ReportMetric(perOrder(confirmed)+perOrder(delivered), "cmds/order")
	ordersPerSec := float64(n) / confirmedIn.Seconds()
	b.ReportMetric(ordersPerSec, "confirmed/s")
	b.Logf("%d orders; MongoDB commands per order placed -> CONFIRMED (and quiet): %.2f  [%s]", n, perOrder(confirmed), breakdown(confirmed, n))
	b.Logf("%d orders; MongoDB commands per order CONFIRMED -> DELIVERED (manual courier, quiet): %.2f  [%s]", n, perOrder(delivered), breakdown(delivered, n))
	b.Logf("orders/s placed -> CONFIRMED %.1f; reference in the same run: %.0f single inserts/s on one client; ratio %.4f (orders/s per insert/s); %.1f commands/order at that rate would allow %.1f orders/s",
		ordersPerSec, insertRate, ordersPerSec/insertRate, perOrder(confirmed), insertRate/perOrder(confirmed))
}

// BenchmarkMongoCommandsIdle measures what the background loops cost with
// nothing to do, in commands per second: the outbox relays and the saga
// sweeper at their defaults (1 s, 5 s), and the auto courier at the default
// delays (2 s / 3 s: a round every 500 ms) and at short ones (200 ms / 300
// ms: a round every 50 ms). Each iteration is 100 ms of idle time.
func BenchmarkMongoCommandsIdle(b *testing.B) {
	tests := []struct {
		name              string
		dispatch, deliver time.Duration
	}{
		{"courier=auto_2s_3s", 2 * time.Second, 3 * time.Second},
		{"courier=auto_200ms_300ms", 200 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			counter := mongostore.NewCommandCounter()
			st, _ := countedMongoStores(b, counter)
			wiringtest.Start(b, wiringtest.WithStores(st), wiringtest.AutoCourier(tt.dispatch, tt.deliver), wiringtest.WithRelay(time.Second, 2*time.Second), wiringtest.WithSweeper(5*time.Second, 30*time.Second))
			before := counter.Snapshot()
			b.ResetTimer()
			window := time.Duration(b.N) * 100 * time.Millisecond
			t := time.NewTimer(window)
			<-t.C
			idle := counter.Since(before)
			b.StopTimer()
			perSec := float64(total(idle)) / window.Seconds()
			b.ReportMetric(perSec, "cmds/s")
			b.Logf("idle for %s: %.1f MongoDB commands/s  [%s]", window, perSec, breakdownPerSecond(idle, window))
		})
	}
}

// countedMongoStores returns stores on databases of their own (dropped after
// the benchmark) through a client of their own whose commands counter counts.
func countedMongoStores(b *testing.B, counter *mongostore.CommandCounter) (wiring.Stores, *mongo.Client) {
	b.Helper()
	uri := os.Getenv("MONGODB_URI")
	if uri == "" {
		b.Fatal("MONGODB_URI is not set: start a test server (tools/deps/mongo.sh start)")
	}
	client, err := mongostore.Connect(b.Context(), uri, counter.Monitor())
	require.NoError(b, err)
	prefix := fmt.Sprintf("cost_%d_%04x_", time.Now().UnixNano(), rand.Uint32()&0xffff)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, db := range wiring.MongoDatabaseNames(prefix).All() {
			_ = client.Database(db).Drop(ctx)
		}
		_ = client.Disconnect(ctx)
	})
	st, err := wiring.NewMongoStores(b.Context(), client, prefix)
	require.NoError(b, err)
	return st, client
}

// referenceInsertRate measures single-document inserts per second, one at a
// time, on the same server: the unit of cost the counts are in.
func referenceInsertRate(b *testing.B, client *mongo.Client) float64 {
	b.Helper()
	coll := client.Database(fmt.Sprintf("cost_ref_%d", time.Now().UnixNano())).Collection("ref")
	defer func() { _ = coll.Database().Drop(context.Background()) }()
	const inserts = 200
	began := time.Now()
	for i := range inserts {
		_, err := coll.InsertOne(b.Context(), bson.D{{Key: "_id", Value: i}, {Key: "revision", Value: 1}})
		require.NoError(b, err)
	}
	return inserts / time.Since(began).Seconds()
}

// waitEvents waits until n distinct orders have had an event of this name
// published on topic. It reads what the harness recorded, not the stores, so
// that waiting costs no MongoDB command.
func waitEvents(b *testing.B, h *wiringtest.Harness, topic, name string, n int) {
	b.Helper()
	require.Eventuallyf(b, func() bool {
		seen := map[string]bool{}
		for _, r := range h.Rec.All() {
			if r.Topic == topic && r.Msg.Metadata.Get("name") == name {
				seen[r.Msg.Metadata.Get(messages.MetadataPartitionKey)] = true
			}
		}
		return len(seen) >= n
	}, 5*time.Minute, 20*time.Millisecond, "fewer than %d orders had %s", n, name)
}

// drain waits until every message published so far has been handled.
func drain(b *testing.B, h *wiringtest.Harness) {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	require.NoError(b, h.PS.Drain(ctx))
}

func total(c map[mongostore.CommandKey]int64) int64 {
	var t int64
	for _, n := range c {
		t += n
	}
	return t
}

// breakdown spells out commands per order by database and command, the
// database prefix of the run cut off: "orders find=2.00 update=1.00; ...".
func breakdown(c map[mongostore.CommandKey]int64, orders int) string {
	return spell(c, func(n int64) string { return fmt.Sprintf("%.2f", float64(n)/float64(orders)) })
}

func breakdownPerSecond(c map[mongostore.CommandKey]int64, window time.Duration) string {
	return spell(c, func(n int64) string { return fmt.Sprintf("%.1f/s", float64(n)/window.Seconds()) })
}

func spell(c map[mongostore.CommandKey]int64, format func(int64) string) string {
	byDB := map[string][]string{}
	for k, n := range c {
		db := k.Database
		if i := strings.LastIndex(db, "_"); i >= 0 {
			db = db[i+1:]
		}
		byDB[db] = append(byDB[db], k.Command+"="+format(n))
	}
	var parts []string
	for _, db := range slices.Sorted(maps.Keys(byDB)) {
		cmds := byDB[db]
		slices.Sort(cmds)
		parts = append(parts, db+" "+strings.Join(cmds, " "))
	}
	return strings.Join(parts, "; ")
}
