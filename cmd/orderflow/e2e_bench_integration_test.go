//go:build integration

package main_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/Shopify/sarama"
	"github.com/stretchr/testify/require"

	// Named so: the chaos suite of this package has a func load.
	loadgen "github.com/orderflow/orderflow/cmd/internal/load"
	"github.com/orderflow/orderflow/cmd/internal/wiring"
)

// BenchmarkE2EKafka measures the system in its Kafka mode as a user runs it:
// the four services as processes of their own on the broker of KAFKA_BROKERS
// (the one `go tool task test:integration` or `bench` starts), memory stores,
// COURIER=manual, under the same load as BenchmarkE2EEmbedded (loadgen.E2E:
// 64 closed-loop clients, single-unit orders on 16 SKUs polled to CONFIRMED;
// the open model at half that rate; GET /orders/{id}), beside two references
// measured in the same run: the do-nothing JSON server for the HTTP side, and
// the broker's raw rate with the producer settings the services use (acks=all,
// idempotent), through Sarama's batching async producer. It prints the
// loadgen.E2E lines and
//
//	E2E kafka messages_per_s=… broker_raw_msgs_per_s=… ratio=… broker_sync64_msgs_per_s=… sync64_ratio=… messages_per_order=… partitions=…
//
// broker_sync64 being 64 goroutines producing one record a request (as the
// services' publisher does today) with the same settings, and
// messages_per_s every message the system's topics received during the
// orders phase (commands, events, replies, the polling GETs' too) per second.
// KAFKA_PARTITIONS (4) sizes the topics; each phase runs BENCH_LOAD_DURATION
// (2 s) once, whatever b.N. BENCH_PORT_BASE, if set, puts the gateway's API on
// that port and the four ops ports on the next four.
//
// BENCH_KAFKA_INPROCESS=1 runs the four services in the benchmark's process
// instead, each as RunProcess runs it in a process of its own (a producer,
// consumer groups and memory stores of its own), so that a CPU profile sees
// them: BENCH_CPUPROFILE=FILE writes one of the orders phase (the closed
// model) to FILE, of whichever processes run in this one.
func BenchmarkE2EKafka(b *testing.B) {
	brokers := os.Getenv("KAFKA_BROKERS")
	if brokers == "" {
		b.Fatal("KAFKA_BROKERS must be set: run `go tool task bench` or `go tool task test:integration`, or eval \"$(tools/deps/kafka.sh start)\"")
	}
	d := benchLoadDuration(b)
	partitions := 4
	if s := os.Getenv("KAFKA_PARTITIONS"); s != "" {
		var err error
		partitions, err = strconv.Atoi(s)
		require.NoError(b, err, "KAFKA_PARTITIONS")
	}
	k := kafkaTopics{brokers: strings.Split(brokers, ","), prefix: fmt.Sprintf("bench%08x_", rand.Uint32())}
	b.Cleanup(func() { k.deleteAll(b) })

	// Sarama 1.38's idempotent producer gives up a partition whose batch had to
	// be retried ("message out of sequence added to a batch"): a run that hit
	// it is measured again on a topic of its own.
	var raw float64
	for attempt := 1; ; attempt++ {
		var failed int64
		raw, failed = brokerRawRate(b, k, fmt.Sprintf("bench.raw%d", attempt), partitions, d)
		if failed == 0 {
			break
		}
		require.Less(b, attempt, 3, "the raw producer failed %d records in each of 3 runs", failed)
	}
	// What the services' publisher is (watermill-kafka v2: a sync producer,
	// one record a request), from 64 goroutines: the bound of today's design.
	sync64 := brokerSyncRate(b, k, "bench.raw.sync", partitions, 64, d)

	const token = "bench-operator-token-0001"
	var bin string
	if os.Getenv("BENCH_KAFKA_INPROCESS") == "" {
		bin = buildBinary(b)
	}
	addrs := benchAddrs(b, 5)
	env := []string{
		"KAFKA_BROKERS=" + brokers, "KAFKA_TOPIC_PREFIX=" + k.prefix, "KAFKA_PARTITIONS=" + strconv.Itoa(partitions),
		"MONGODB_URI=", // memory stores, whatever the run's environment says
		// As in the embedded benchmark's harness: no sweeper, which would nudge
		// every confirmed order waiting for the manual courier after 30 s.
		"SEED_DEMO=false", "COURIER=manual", "SAGA_STUCK_AFTER=0", "LOG_LEVEL=warn",
		"API_KEYS=" + token + "=operator", "RATE_LIMIT_OPERATOR=off",
	}
	inProcess := os.Getenv("BENCH_KAFKA_INPROCESS") != ""
	if inProcess {
		startBenchInProcess(b, env, addrs)
	}
	if !inProcess {
		startBenchProcesses(b, bin, env, addrs)
	}
	url := "http://" + addrs[0]
	waitGatewayAnswers(b, url, token, 90*time.Second)
	waitOrderConfirmed(b, url, token, 90*time.Second)

	null := httptest.NewServer(loadgen.NullServer())
	b.Cleanup(null.Close)
	// Every message the system's topics receive during the orders phase:
	// commands, events, replies (the GETs that poll each order included).
	var before, carried int64
	var e loadgen.E2E
	var err error
	// b.Loop calls this function once: the load runs once, in the first iteration.
	for first := true; b.Loop(); first = false {
		if first {
			e, err = loadgen.MeasureE2E(b.Context(), loadgen.BenchConfig(token, d), url, null.URL, func(phase string) {
				switch phase {
				case "orders_ref":
					before = k.messagesTB(b)
					startCPUProfile(b)
				case "orders":
					pprof.StopCPUProfile()
					carried = k.messagesTB(b) - before
				}
			})
		}
	}
	require.NoError(b, err)
	msgPerS := float64(carried) / e.Orders.ElapsedSeconds
	perOrder := float64(carried) / float64(max(e.Orders.Placed, 1))
	for _, line := range e.Lines("kafka") {
		fmt.Println(line)
	}
	fmt.Printf("E2E kafka messages_per_s=%.0f broker_raw_msgs_per_s=%.0f ratio=%.4f broker_sync64_msgs_per_s=%.0f sync64_ratio=%.3f messages_per_order=%.1f partitions=%d\n",
		msgPerS, raw, loadgen.Ratio(msgPerS, raw), sync64, loadgen.Ratio(msgPerS, sync64), perOrder, partitions)
	b.ReportMetric(e.Orders.ConfirmedPerSecond, "orders/s")
	b.ReportMetric(loadgen.Ratio(e.Orders.ConfirmedPerSecond, e.OrdersRef.PlacedPerSecond), "orders/null")
	b.ReportMetric(loadgen.Ratio(msgPerS, raw), "msgs/broker")
	b.ReportMetric(loadgen.Ratio(e.Reads.ReadsPerSecond, e.ReadsRef.ReadsPerSecond), "gets/null")
	b.ReportMetric(e.HalfRate.Latency["post"].P99, "half-rate-post-p99-ms")
}

// startBenchInProcess runs the four services in this process, each as
// RunProcess runs it in a process of its own (its own producer, consumer
// groups and memory stores), with env and the addresses of benchAddrs, and
// waits until each one's ops port listens; they stop when the benchmark ends.
// The environment is the process's: each service reads its OPS_ADDR before
// the next one is set.
func startBenchInProcess(b *testing.B, env, addrs []string) {
	b.Helper()
	for _, kv := range append(env, "HTTP_ADDR="+addrs[0]) {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })
	for i, service := range []string{"orders", "inventory", "delivery", "gateway"} {
		// Each service reads the configuration with its own OPS_ADDR, as a process of its own would.
		b.Setenv("OPS_ADDR", addrs[i+1])
		cfg, err := wiring.LoadConfig()
		require.NoError(b, err)
		wg.Go(func() {
			if err := wiring.RunProcess(ctx, cfg, []string{service}); err != nil && ctx.Err() == nil {
				b.Errorf("%s: %v", service, err)
			}
		})
		client := &http.Client{Timeout: 2 * time.Second}
		deadline := time.Now().Add(60 * time.Second)
		for {
			if resp, err := client.Get("http://" + addrs[i+1] + "/healthz"); err == nil {
				resp.Body.Close()
				break
			}
			require.False(b, time.Now().After(deadline), "%s does not answer on %s within 60 s", service, addrs[i+1])
			select {
			case <-b.Context().Done():
				b.FailNow()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// startCPUProfile starts a CPU profile into BENCH_CPUPROFILE, if set;
// pprof.StopCPUProfile (a no-op without one) ends it.
func startCPUProfile(b *testing.B) {
	b.Helper()
	path := os.Getenv("BENCH_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	require.NoError(b, err)
	require.NoError(b, pprof.StartCPUProfile(f))
	b.Cleanup(func() {
		pprof.StopCPUProfile()
		require.NoError(b, f.Close())
	})
}

// benchLoadDuration is BENCH_LOAD_DURATION, or 2 s.
func benchLoadDuration(b *testing.B) time.Duration {
	b.Helper()
	if s := os.Getenv("BENCH_LOAD_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(b, err, "BENCH_LOAD_DURATION")
		return d
	}
	return 2 * time.Second
}

// brokerRawRate is how many 300-byte records a second the broker takes for
// d from Sarama's async producer with the services' producer settings
// (acks=all, idempotent, one request in flight per broker), batching as
// Sarama does: the ceiling the system's messages are compared with.
func brokerRawRate(b *testing.B, k kafkaTopics, name string, partitions int, d time.Duration) (rate float64, failed int64) {
	b.Helper()
	topic := k.prefix + name
	createWarmTopic(b, k, topic, partitions)

	pc := k.config()
	pc.Producer.RequiredAcks = sarama.WaitForAll
	pc.Producer.Idempotent = true
	pc.Net.MaxOpenRequests = 1
	pc.Producer.Return.Successes = true
	pc.Producer.Retry.Max = 10
	if os.Getenv("BENCH_SARAMA_LOG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
	}
	producer, err := sarama.NewAsyncProducer(k.brokers, pc)
	require.NoError(b, err)
	value := make([]byte, 300)
	var acked int64
	start := time.Now()
	end := start.Add(d)
	sent := int64(0)
	input := producer.Input()
	for time.Now().Before(end) {
		select {
		case input <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(strconv.FormatInt(sent, 10)), Value: sarama.ByteEncoder(value)}:
			sent++
		case <-producer.Successes():
			acked++
		case err := <-producer.Errors():
			failed++
			if failed == 1 {
				b.Logf("raw producer: %v", err)
			}
		}
	}
	producer.AsyncClose()
	for s, e := producer.Successes(), producer.Errors(); s != nil || e != nil; {
		select {
		case _, ok := <-s:
			if !ok {
				s = nil
				continue
			}
			acked++
		case _, ok := <-e:
			if !ok {
				e = nil
				continue
			}
			failed++
		}
	}
	elapsed := time.Since(start)
	rate = float64(acked) / elapsed.Seconds()
	b.Logf("broker raw rate: %d records of 300 B acked, %d failed, in %s (acks=all, idempotent, async batching producer): %.0f/s", acked, failed, elapsed.Round(time.Millisecond), rate)
	return rate, failed
}

// createWarmTopic creates the topic and produces a record to each of its
// partitions, so that the producers measured find every leader ready.
func createWarmTopic(b *testing.B, k kafkaTopics, topic string, partitions int) {
	b.Helper()
	c := k.config()
	admin, err := sarama.NewClusterAdmin(k.brokers, c)
	require.NoError(b, err)
	defer admin.Close()
	require.NoError(b, admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: int32(partitions), ReplicationFactor: 1}, false))
	// An idempotent producer fails at once on a partition without a leader yet.
	client, err := sarama.NewClient(k.brokers, c)
	require.NoError(b, err)
	defer client.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		require.NoError(b, client.RefreshMetadata(topic))
		ready := 0
		for p := range int32(partitions) {
			if l, err := client.Leader(topic, p); err == nil && l != nil {
				ready++
			}
		}
		if ready == partitions {
			break
		}
		require.False(b, time.Now().After(deadline), "topic %s: %d of %d partitions have a leader after 30 s", topic, ready, partitions)
		select {
		case <-b.Context().Done():
			b.FailNow()
		case <-time.After(50 * time.Millisecond):
		}
	}

	// A fresh partition's leader may refuse produces for a moment after the
	// metadata names it (NOT_LEADER), and a retried batch trips Sarama 1.38's
	// idempotent producer ("message out of sequence"): warm every partition
	// up first with a plain producer that may retry.
	wc := k.config()
	wc.Producer.Partitioner = sarama.NewManualPartitioner
	wc.Producer.RequiredAcks = sarama.WaitForAll
	wc.Producer.Return.Successes = true
	wc.Producer.Retry.Max, wc.Producer.Retry.Backoff = 50, 100*time.Millisecond
	warm, err := sarama.NewSyncProducer(k.brokers, wc)
	require.NoError(b, err)
	for p := range int32(partitions) {
		_, _, err := warm.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: p, Value: sarama.StringEncoder("warm-up")})
		require.NoError(b, err, "warm up partition %d", p)
	}
	require.NoError(b, warm.Close())
}

// brokerSyncRate is how many 300-byte records a second the broker takes for
// d from n goroutines, each waiting for its record's ack before the next, on
// one idempotent acks=all sync producer (Sarama batches what is in flight at
// once, as for the services' publisher).
func brokerSyncRate(b *testing.B, k kafkaTopics, name string, partitions, n int, d time.Duration) float64 {
	b.Helper()
	topic := k.prefix + name
	createWarmTopic(b, k, topic, partitions)
	pc := k.config()
	pc.Producer.RequiredAcks = sarama.WaitForAll
	pc.Producer.Idempotent = true
	pc.Net.MaxOpenRequests = 1
	pc.Producer.Return.Successes = true
	pc.Producer.Retry.Max = 10
	producer, err := sarama.NewSyncProducer(k.brokers, pc)
	require.NoError(b, err)
	defer producer.Close()
	value := make([]byte, 300)
	var acked, failed atomic.Int64
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			for i := 0; time.Now().Before(end); i++ {
				_, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("%d-%d", g, i)), Value: sarama.ByteEncoder(value)})
				if err != nil {
					failed.Add(1)
					continue
				}
				acked.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	rate := float64(acked.Load()) / elapsed.Seconds()
	b.Logf("broker sync rate: %d records of 300 B acked, %d failed, in %s (acks=all, idempotent, %d goroutines, one record a request each): %.0f/s",
		acked.Load(), failed.Load(), elapsed.Round(time.Millisecond), n, rate)
	return rate
}

// startBenchProcesses starts the four services as processes of bin, the
// gateway's API on addrs[0] and each one's ops endpoints on addrs[1:].
func startBenchProcesses(b testing.TB, bin string, env, addrs []string) {
	b.Helper()
	for i, name := range []string{"orders", "inventory", "delivery", "gateway"} {
		penv := append(slices.Clip(env), "OPS_ADDR="+addrs[i+1])
		if name == "gateway" {
			penv = append(penv, "HTTP_ADDR="+addrs[0])
		}
		startBenchProcess(b, bin, name, penv)
	}
}

// benchAddrs returns n loopback addresses: BENCH_PORT_BASE and the ports
// after it when set, else ports that were free a moment ago.
func benchAddrs(b testing.TB, n int) []string {
	b.Helper()
	out := make([]string, n)
	if s := os.Getenv("BENCH_PORT_BASE"); s != "" {
		base, err := strconv.Atoi(s)
		require.NoError(b, err, "BENCH_PORT_BASE")
		for i := range out {
			out[i] = "127.0.0.1:" + strconv.Itoa(base+i)
		}
		return out
	}
	for i := range out {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(b, err)
		out[i] = ln.Addr().String()
		require.NoError(b, ln.Close())
	}
	return out
}

// startBenchProcess starts one service process and waits for its /readyz; it
// is stopped (SIGTERM, then SIGKILL after 30 s) when the benchmark ends, and
// its log shown if the benchmark failed.
func startBenchProcess(b testing.TB, bin, service string, env []string) {
	b.Helper()
	logPath := filepath.Join(b.TempDir(), service+".log")
	logFile, err := os.Create(logPath)
	require.NoError(b, err)
	cmd := exec.Command(bin, "-service", service)
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
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if b.Failed() {
			logs, _ := os.ReadFile(logPath)
			b.Logf("log of %s:\n%s", service, lastLines(logs, 60))
		}
	})
	ops := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "OPS_ADDR="); ok {
			ops = v
		}
	}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			logs, _ := os.ReadFile(logPath)
			b.Fatalf("%s exited during start: %s\n%s", service, cmd.ProcessState, lastLines(logs, 60))
		default:
		}
		if resp, err := client.Get("http://" + ops + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		require.False(b, time.Now().After(deadline), "%s not ready within 60 s", service)
		select {
		case <-exited:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitGatewayAnswers waits until the gateway gets answers from inventory: its
// reply consumer group may get its partitions after it reports ready.
func waitGatewayAnswers(b testing.TB, url, token string, within time.Duration) {
	b.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(within)
	var last string
	for {
		req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, url+"/inventory/NO-SUCH-SKU", nil)
		require.NoError(b, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		require.False(b, time.Now().After(deadline), "the gateway gets no answers within %s: %s", within, last)
		select {
		case <-b.Context().Done():
			b.FailNow()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitOrderConfirmed places orders one at a time until one is CONFIRMED: the
// gateway's GETs answer from its view, so only a whole saga proves that every
// consumer group has its partitions; until then the first phase would
// measure the rebalancing.
func waitOrderConfirmed(b testing.TB, url, token string, within time.Duration) {
	b.Helper()
	cfg := loadgen.DefaultConfig()
	cfg.URL, cfg.Token, cfg.Progress, cfg.Clients = url, token, 0, 1
	cfg.SKUs, cfg.Stock, cfg.Duration, cfg.FollowTimeout = "WARM-UP", 1_000_000, time.Millisecond, 30*time.Second
	deadline := time.Now().Add(within)
	for {
		res, err := loadgen.Run(b.Context(), cfg, nil)
		if err == nil && res.Confirmed > 0 {
			return
		}
		require.False(b, time.Now().After(deadline), "no order confirmed within %s: %+v %v", within, res, err)
	}
}

// messagesTB is how many messages the system's topics have received so far.
func (k kafkaTopics) messagesTB(b testing.TB) int64 {
	b.Helper()
	client, err := sarama.NewClient(k.brokers, k.config())
	require.NoError(b, err)
	defer client.Close()
	topics, err := client.Topics()
	require.NoError(b, err)
	var n int64
	for _, topic := range topics {
		if !strings.HasPrefix(topic, k.prefix) || strings.HasPrefix(topic, k.prefix+"bench.raw") {
			continue
		}
		partitions, err := client.Partitions(topic)
		require.NoError(b, err)
		for _, p := range partitions {
			off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			require.NoError(b, err)
			n += off
		}
	}
	return n
}
