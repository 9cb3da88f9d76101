//go:build integration

package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Shopify/sarama"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/internal/wiring"
	"github.com/orderflow/orderflow/infra/pubsub"
)

// BenchmarkKafkaOrdersToConfirmed measures the Kafka mode as it is deployed:
// the four services as four processes of the binary on the broker of
// KAFKA_BROKERS, with memory stores and COURIER=manual, driven through the
// gateway's HTTP API. In the same run it measures the broker's own rate with
// a plain Sarama producer as the services' (acks=all, idempotent, records of
// the size the system's have), and prints the ratio, so that the figures mean
// the same on a slower or busier machine:
//
//	eval "$(tools/deps/kafka.sh start)"
//	go test -tags integration -run '^$' -bench KafkaOrdersToConfirmed -benchtime 1x ./cmd/orderflow/
//
// BENCH_KAFKA_INPROCESS=1 runs the four services in the test's process (each
// with a producer and consumer groups of its own, as RunProcess does), where
// BENCH_CPUPROFILE=FILE profiles phase 1. BENCH_KAFKA_PARTITIONS (default the binary's KAFKA_PARTITIONS default),
// BENCH_KAFKA_DURATION (default 15s, each phase), BENCH_KAFKA_CLIENTS (default
// 64) and BENCH_PORT_BASE (a first free port of ten; default: ports the
// system picks) change the run. It has three phases:
//
//  1. closed model: BENCH_KAFKA_CLIENTS clients each place single-unit orders
//     on 16 SKUs, one after the other, for the duration; orders/s to
//     CONFIRMED is the orders placed over the time from the first POST to the
//     last OrderConfirmed event on the broker (its record timestamp);
//  2. the broker alone: the same number of records as the system wrote in
//     phase 1 (at least 100,000), of their mean size, through one idempotent
//     Sarama producer with acks=all;
//  3. open model at half the rate of phase 1: POST latency percentiles, with
//     each request's latency counted from when it was due (a late start is
//     latency too).
func BenchmarkKafkaOrdersToConfirmed(b *testing.B) {
	brokers := os.Getenv("KAFKA_BROKERS")
	if brokers == "" {
		b.Fatal(`KAFKA_BROKERS is not set: start a broker with eval "$(tools/deps/kafka.sh start)"`)
	}
	duration := envDuration(b, "BENCH_KAFKA_DURATION", 15*time.Second)
	clients := envInt(b, "BENCH_KAFKA_CLIENTS", 64)
	ports := newPorts(b)
	k := benchKafka{brokers: strings.Split(brokers, ","), prefix: fmt.Sprintf("bench%08x_", rand.Uint32())}
	b.Cleanup(func() { k.deleteAll(b) })

	var bin string
	if os.Getenv("BENCH_KAFKA_INPROCESS") == "" {
		bin = benchBinary(b)
	}
	env := []string{
		"KAFKA_BROKERS=" + brokers, "KAFKA_TOPIC_PREFIX=" + k.prefix,
		"MONGODB_URI=", "SEED_DEMO=false", "COURIER=manual", "LOG_LEVEL=warn",
		"API_KEYS=" + testAPIKeys, "RATE_LIMIT_OPERATOR=off", "MAX_OPEN_ORDERS=0", "MAX_OPEN_UNITS=0",
		"STALL_EXIT_AFTER=0",
	}
	if p := os.Getenv("BENCH_KAFKA_PARTITIONS"); p != "" {
		env = append(env, "KAFKA_PARTITIONS="+p)
	}
	var gw *benchProcess
	if os.Getenv("BENCH_KAFKA_INPROCESS") != "" {
		gw = startInProcess(b, env, ports)
	} else {
		for _, service := range []string{"orders", "inventory", "delivery", "gateway"} {
			penv := append(slices.Clone(env), "OPS_ADDR="+ports.next())
			p := &benchProcess{name: service}
			if service == "gateway" {
				p.url = "http://" + ports.next()
				penv = append(penv, "HTTP_ADDR="+strings.TrimPrefix(p.url, "http://"))
				gw = p
			}
			p.start(b, bin, penv)
		}
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	gw.client = client
	// Ready: the gateway's /readyz answers 200 once its reply subscription
	// delivers (and the rest it depends on answers).
	deadline := time.Now().Add(90 * time.Second)
	for {
		status, _, err := gw.do(b.Context(), http.MethodGet, "/readyz", nil)
		if err == nil && status == http.StatusOK {
			break
		}
		require.True(b, time.Now().Before(deadline), "the gateway does not answer: %d %v", status, err)
		time.Sleep(50 * time.Millisecond) //nolint:forbidigo // polling a process over HTTP: it cannot signal readiness
	}
	skus := make([]string, 16)
	for i := range skus {
		skus[i] = fmt.Sprintf("SKU-B%02d", i)
		status, raw, err := gw.do(b.Context(), http.MethodPut, "/inventory/"+skus[i], map[string]int{"on_hand": 1_000_000_000})
		require.NoError(b, err)
		require.Equal(b, http.StatusOK, status, string(raw))
	}
	partitions := k.partitions(b, "orders.events")
	b.Logf("four processes ready on %d partitions per topic, KAFKA_CONSUMER_CONCURRENCY=%q; %d clients, %s per phase",
		partitions, os.Getenv("KAFKA_CONSUMER_CONCURRENCY"), clients, duration)

	// Phase 1: closed model.
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		require.NoError(b, err)
		require.NoError(b, pprof.StartCPUProfile(f))
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	before := k.written(b)
	start := time.Now()
	var placed, failed atomic.Int64
	var wg sync.WaitGroup
	stop := start.Add(duration)
	for c := range clients {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				body := map[string]any{"customer_id": fmt.Sprintf("c-%d", c),
					"items": []map[string]any{{"sku": skus[(c+i)%len(skus)], "quantity": 1}}}
				status, _, err := gw.do(b.Context(), http.MethodPost, "/orders", body)
				if err != nil || status != http.StatusAccepted {
					failed.Add(1)
					continue
				}
				placed.Add(1)
			}
		})
	}
	wg.Wait()
	posted := time.Since(start)
	confirmed, last, meanSize := k.waitConfirmed(b, int(placed.Load()), 2*time.Minute)
	if os.Getenv("BENCH_CPUPROFILE") != "" {
		pprof.StopCPUProfile()
	}
	window := last.Sub(start)
	if window < posted {
		window = posted // record timestamps are the producers' clocks, in milliseconds
	}
	written := k.written(b) - before
	rate := float64(placed.Load()) / window.Seconds()
	carried := float64(written) / window.Seconds()
	b.Logf("closed model: %d orders placed in %s (%d failed), %d confirmed by %s: %.0f orders/s to CONFIRMED; %d records written (%.1f per order, %d B each): %.0f records/s",
		placed.Load(), posted.Round(time.Millisecond), failed.Load(), confirmed, window.Round(time.Millisecond),
		rate, written, float64(written)/float64(max(1, placed.Load())), meanSize, carried)

	// Phase 2: the broker alone, in the same run.
	raw := k.rawRate(b, max(100_000, int(written)), meanSize, partitions)
	b.Logf("broker alone (Sarama, acks=all, idempotent, %d B records): %.0f records/s; the system carried %.3f of it",
		meanSize, raw, carried/raw)

	// Phase 3: open model at half the rate.
	half := rate / 2
	lat := openLoad(b, gw, skus, half, duration)
	b.Logf("open model at %.0f orders/s: %d POSTs, %d failed; POST latency p50 %s p90 %s p99 %s p99.9 %s max %s",
		half, len(lat.ok), lat.failed, lat.pct(50), lat.pct(90), lat.pct(99), lat.pct(99.9), lat.pct(100))

	b.ReportMetric(rate, "orders/s")
	b.ReportMetric(carried, "records/s")
	b.ReportMetric(raw, "raw-records/s")
	b.ReportMetric(carried/raw, "ratio")
	b.ReportMetric(float64(lat.pct(99).Microseconds())/1000, "p99-ms@half")
}

// latencies are the POST latencies of the open model.
type latencies struct {
	ok     []time.Duration // sorted
	failed int
}

func (l latencies) pct(p float64) time.Duration {
	if len(l.ok) == 0 {
		return 0
	}
	i := int(float64(len(l.ok)) * p / 100)
	return l.ok[min(i, len(l.ok)-1)]
}

// openLoad places orders at rate per second for d, each due at its own time,
// and returns the latencies counted from when each was due.
func openLoad(b *testing.B, gw *benchProcess, skus []string, rate float64, d time.Duration) latencies {
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	due := make(chan time.Time, n)
	start := time.Now().Add(100 * time.Millisecond)
	for i := range n {
		due <- start.Add(time.Duration(i) * interval)
	}
	close(due)
	var mu sync.Mutex
	var res latencies
	var wg sync.WaitGroup
	for w := range 512 { // enough workers that none is waiting for a free one at this rate
		wg.Go(func() {
			for at := range due {
				if wait := time.Until(at); wait > 0 {
					time.Sleep(wait) //nolint:forbidigo // the open model's schedule
				}
				body := map[string]any{"customer_id": fmt.Sprintf("c-open-%d", w),
					"items": []map[string]any{{"sku": skus[w%len(skus)], "quantity": 1}}}
				status, _, err := gw.do(b.Context(), http.MethodPost, "/orders", body)
				took := time.Since(at)
				mu.Lock()
				if err != nil || status != http.StatusAccepted {
					res.failed++
				} else {
					res.ok = append(res.ok, took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(res.ok)
	return res
}

// startInProcess runs the four services in this process instead, each as
// RunProcess runs it in a process of its own (its own producer, consumer
// groups and memory stores), so that -cpuprofile (BENCH_CPUPROFILE) sees them.
func startInProcess(b *testing.B, env []string, ports *ports) *benchProcess {
	httpAddr := ports.next()
	for _, kv := range append(env, "HTTP_ADDR="+httpAddr) {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })
	for _, service := range []string{"orders", "inventory", "delivery", "gateway"} {
		// The environment is the process's: each service reads its own
		// OPS_ADDR (an empty one is the default) before the next is set.
		opsAddr := ports.next()
		b.Setenv("OPS_ADDR", opsAddr)
		cfg, err := wiring.LoadConfig()
		require.NoError(b, err)
		wg.Go(func() {
			if err := wiring.RunProcess(ctx, cfg, []string{service}); err != nil && ctx.Err() == nil {
				b.Errorf("%s: %v", service, err)
			}
		})
		deadline := time.Now().Add(60 * time.Second)
		for {
			conn, err := net.DialTimeout("tcp", opsAddr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			require.True(b, time.Now().Before(deadline), "%s does not listen on %s", service, opsAddr)
			time.Sleep(20 * time.Millisecond) //nolint:forbidigo // a port cannot signal it
		}
	}
	return &benchProcess{name: "gateway", url: "http://" + httpAddr}
}

// benchProcess is one process of the binary.
type benchProcess struct {
	name   string
	url    string
	client *http.Client
}

func (p *benchProcess) start(b *testing.B, bin string, env []string) {
	logPath := filepath.Join(b.TempDir(), p.name+".log")
	logFile, err := os.Create(logPath)
	require.NoError(b, err)
	cmd := exec.Command(bin, "-service", p.name)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(b, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if b.Failed() {
			logs, _ := os.ReadFile(logPath)
			b.Logf("log of %s:\n%s", p.name, lastLines(logs, 60))
		}
	})
}

func (p *benchProcess) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.url+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

func benchBinary(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "orderflow")
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(b, err, "go build: %s", out)
	return bin
}

// ports hands out loopback addresses: from BENCH_PORT_BASE on, or ones the
// system picks.
type ports struct {
	base, used int
}

func newPorts(b *testing.B) *ports {
	return &ports{base: envInt(b, "BENCH_PORT_BASE", 0)}
}

func (p *ports) next() string {
	p.used++
	if p.base > 0 {
		return fmt.Sprintf("127.0.0.1:%d", p.base+p.used-1)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func envInt(b *testing.B, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(b, err, key)
	return n
}

func envDuration(b *testing.B, key string, def time.Duration) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	require.NoError(b, err, key)
	return d
}

// benchKafka looks at the topics of the benchmark's system.
type benchKafka struct {
	brokers []string
	prefix  string
}

func (k benchKafka) config() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V3_3_1_0
	c.Metadata.AllowAutoTopicCreation = false
	return c
}

func (k benchKafka) client(b *testing.B) sarama.Client {
	c, err := sarama.NewClient(k.brokers, k.config())
	require.NoError(b, err)
	return c
}

func (k benchKafka) partitions(b *testing.B, topic string) int {
	c := k.client(b)
	defer c.Close()
	ps, err := c.Partitions(k.prefix + topic)
	require.NoError(b, err)
	return len(ps)
}

// written returns how many records the system's topics hold.
func (k benchKafka) written(b *testing.B) int64 {
	c := k.client(b)
	defer c.Close()
	topics, err := c.Topics()
	require.NoError(b, err)
	var n int64
	for _, t := range topics {
		if !strings.HasPrefix(t, k.prefix) {
			continue
		}
		ps, err := c.Partitions(t)
		require.NoError(b, err)
		for _, p := range ps {
			off, err := c.GetOffset(t, p, sarama.OffsetNewest)
			require.NoError(b, err)
			n += off
		}
	}
	return n
}

// waitConfirmed waits until orders.events holds want OrderConfirmed events
// and returns how many it holds, the timestamp of the last one, and the mean
// size of the records read (key, value and headers).
func (k benchKafka) waitConfirmed(b *testing.B, want int, within time.Duration) (int, time.Time, int) {
	c := k.client(b)
	defer c.Close()
	consumer, err := sarama.NewConsumerFromClient(c)
	require.NoError(b, err)
	defer consumer.Close()
	topic := k.prefix + "orders.events"
	ps, err := c.Partitions(topic)
	require.NoError(b, err)
	msgs := make(chan *sarama.ConsumerMessage, 1024)
	for _, p := range ps {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		require.NoError(b, err)
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				msgs <- m
			}
		}()
	}
	var n, records, size int
	var last time.Time
	timeout := time.After(within)
	for n < want {
		select {
		case m := <-msgs:
			records++
			size += len(m.Key) + len(m.Value)
			for _, h := range m.Headers {
				size += len(h.Key) + len(h.Value)
			}
			for _, h := range m.Headers {
				if string(h.Key) == "name" && string(h.Value) == "OrderConfirmed" {
					n++
					if m.Timestamp.After(last) {
						last = m.Timestamp
					}
				}
			}
		case <-timeout:
			b.Fatalf("%d of %d orders confirmed after %s", n, want, within)
		}
	}
	return n, last, size / max(1, records)
}

// rawRate produces n records of size bytes to a topic of its own with the
// given partitions, as fast as one idempotent producer with acks=all takes
// them, and returns the records per second.
func (k benchKafka) rawRate(b *testing.B, n, size, partitions int) float64 {
	topic := k.prefix + "raw"
	// As the services do: the idempotent producer's retries run out on a
	// topic whose partitions have no leader yet.
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	require.NoError(b, pubsub.EnsureTopics(ctx, pubsub.KafkaConfig{Brokers: k.brokers, Version: sarama.V3_3_1_0,
		Partitions: int32(partitions), ReplicationFactor: 1, ClientID: "bench-raw"}, []string{topic})) //nolint:gosec // a handful
	cfg := k.config()
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Return.Successes = true
	cfg.Producer.Retry.Max = 10
	p, err := sarama.NewAsyncProducer(k.brokers, cfg)
	require.NoError(b, err)
	defer p.Close()
	value := bytes.Repeat([]byte("x"), max(1, size-8)) // with its 8-byte key
	start := time.Now()
	go func() {
		for i := range n {
			p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(strconv.Itoa(i)), Value: sarama.ByteEncoder(value)}
		}
	}()
	var failed int
	for range n {
		select {
		case <-p.Successes():
		case err := <-p.Errors():
			if failed++; failed == 1 {
				b.Logf("raw produce: %v", err)
			}
		}
	}
	took := time.Since(start)
	if failed > 0 {
		b.Logf("raw produce: %d of %d records failed (not counted)", failed, n)
	}
	return float64(n-failed) / took.Seconds()
}

// deleteAll deletes the benchmark's topics.
func (k benchKafka) deleteAll(b *testing.B) {
	admin, err := sarama.NewClusterAdmin(k.brokers, k.config())
	if err != nil {
		b.Logf("delete topics: %v", err)
		return
	}
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		b.Logf("delete topics: %v", err)
		return
	}
	for t := range topics {
		if strings.HasPrefix(t, k.prefix) {
			_ = admin.DeleteTopic(t)
		}
	}
}
