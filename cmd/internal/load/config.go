// Package load is the load generator of cmd/loadgen: it places orders on a
// running gateway through its HTTP API, in an open model (a constant arrival
// rate, latency measured from each request's intended send time, so that a
// stalled system cannot hide its queue) or a closed one (N clients, each
// sending its next order once the last is done), follows each order to its
// outcome, and reports throughput, errors by kind and latency percentiles
// from HDR histograms. It runs in-process too, for the benchmarks.
package load

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Models of load.
const (
	// ModelClosed runs Clients clients, each sending its next order when the
	// last one is done: the throughput the system sustains.
	ModelClosed = "closed"
	// ModelOpen sends Rate orders a second whatever the answers: the latency
	// at a given load, measured from each request's intended send time.
	ModelOpen = "open"
)

// Workloads.
const (
	// WorkloadOrders places orders (and cancels a share of them) and follows
	// each to its outcome by polling GET /orders/{id}.
	WorkloadOrders = "orders"
	// WorkloadReads places ReadOrders orders first, then only reads them
	// with GET /orders/{id}.
	WorkloadReads = "reads"
)

// Config is a run of the generator. Every field has a flag and an
// environment variable (LOADGEN_*, documented in the README's performance
// section); a flag wins over the variable.
type Config struct {
	// URL is the gateway's base URL.
	URL string `env:"LOADGEN_URL" envDefault:"http://127.0.0.1:8080"`
	// Token is the bearer token of every request: an operator's, as orders
	// are placed for many customers (and stock set when asked).
	Token string `env:"LOADGEN_TOKEN" envDefault:"demo-operator-key"`
	// Model is closed or open; Workload orders or reads.
	Model    string `env:"LOADGEN_MODEL" envDefault:"closed"`
	Workload string `env:"LOADGEN_WORKLOAD" envDefault:"orders"`
	// Clients is the number of clients of the closed model.
	Clients int `env:"LOADGEN_CLIENTS" envDefault:"64"`
	// Rate is the open model's arrivals per second; MaxInFlight bounds the
	// requests (orders being followed) it keeps open at once: past it, sends
	// are late, and their lateness counts in their latency.
	Rate        float64 `env:"LOADGEN_RATE" envDefault:"1000"`
	MaxInFlight int     `env:"LOADGEN_MAX_IN_FLIGHT" envDefault:"4096"`
	// Duration is how long orders are sent; those in flight at its end are
	// followed to their outcome.
	Duration time.Duration `env:"LOADGEN_DURATION" envDefault:"10s"`
	// SKUs is a comma-separated list of SKUs, or a count N for SKU-1…SKU-N
	// (the demo catalogue has SKU-1…SKU-3). Stock > 0 sets each one's on_hand
	// to it first (PUT /inventory/{sku}, an operator's token).
	SKUs  string `env:"LOADGEN_SKUS" envDefault:"SKU-1,SKU-2,SKU-3"`
	Stock int    `env:"LOADGEN_STOCK"`
	// Items is the number of lines (distinct SKUs) per order, Quantity the
	// units of each line.
	Items    int `env:"LOADGEN_ITEMS" envDefault:"1"`
	Quantity int `env:"LOADGEN_QUANTITY" envDefault:"1"`
	// CancelShare is the share of placed orders cancelled right after the
	// 202 (0 to 1); they are not followed to CONFIRMED.
	CancelShare float64 `env:"LOADGEN_CANCEL_SHARE"`
	// Customers is how many customer ids the orders are spread over.
	Customers int `env:"LOADGEN_CUSTOMERS" envDefault:"64"`
	// Follow polls each placed order until it is final or CONFIRMED, every
	// PollInterval, for at most FollowTimeout; false only places.
	Follow        bool          `env:"LOADGEN_FOLLOW" envDefault:"true"`
	PollInterval  time.Duration `env:"LOADGEN_POLL_INTERVAL" envDefault:"1ms"`
	FollowTimeout time.Duration `env:"LOADGEN_FOLLOW_TIMEOUT" envDefault:"10s"`
	// ReadOrders is how many orders the reads workload places and then reads.
	ReadOrders int `env:"LOADGEN_READ_ORDERS" envDefault:"64"`
	// RequestTimeout bounds each HTTP request.
	RequestTimeout time.Duration `env:"LOADGEN_REQUEST_TIMEOUT" envDefault:"10s"`
	// Progress is how often a progress line goes to stderr; 0 is never.
	Progress time.Duration `env:"LOADGEN_PROGRESS" envDefault:"1s"`
	// JSON prints the result as JSON on stdout instead of the text report.
	JSON bool `env:"LOADGEN_JSON"`
	// RunID starts every Idempotency-Key and customer id of the run, so that
	// runs against the same gateway never collide; empty picks a random one.
	RunID string `env:"LOADGEN_RUN_ID"`
	// NullServer, if set, makes the command serve NullServer on this address
	// (loopback, say 127.0.0.1:8090) instead of generating load: the
	// reference to run the same load against, to compare a system's figures
	// with this machine's ceiling.
	NullServer string `env:"LOADGEN_NULL_SERVER"`
}

// ConfigFromEnv returns the defaults, overridden by LOADGEN_* variables.
func ConfigFromEnv() (Config, error) {
	cfg, err := env.ParseAs[Config]()
	if err != nil {
		return Config{}, fmt.Errorf("read LOADGEN_* variables: %w", err)
	}
	return cfg, nil
}

// DefaultConfig returns the defaults, with no environment.
func DefaultConfig() Config {
	cfg, err := env.ParseAsWithOptions[Config](env.Options{Environment: map[string]string{}})
	if err != nil {
		panic(err) // the defaults are constants: a bad one is a bug found by the tests
	}
	return cfg
}

// RegisterFlags defines a flag per field on fs, defaulting to the field's
// current value, so that flags override the environment.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "url", c.URL, "the gateway's base URL (LOADGEN_URL)")
	fs.StringVar(&c.Token, "token", c.Token, "bearer token of every request, an operator's (LOADGEN_TOKEN)")
	fs.StringVar(&c.Model, "model", c.Model, "closed (N clients) or open (a constant arrival rate) (LOADGEN_MODEL)")
	fs.StringVar(&c.Workload, "workload", c.Workload, "orders (place and follow to CONFIRMED) or reads (GET /orders/{id} of orders placed first) (LOADGEN_WORKLOAD)")
	fs.IntVar(&c.Clients, "clients", c.Clients, "closed model: number of clients (LOADGEN_CLIENTS)")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "open model: requests (orders, or reads) per second (LOADGEN_RATE)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", c.MaxInFlight, "open model: most requests in flight; past it sends are late, and the lateness is counted (LOADGEN_MAX_IN_FLIGHT)")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "how long to send (LOADGEN_DURATION)")
	fs.StringVar(&c.SKUs, "skus", c.SKUs, "comma-separated SKUs, or a count N for SKU-1..SKU-N (the demo catalogue has SKU-1..SKU-3) (LOADGEN_SKUS)")
	fs.IntVar(&c.Stock, "stock", c.Stock, "if > 0, set each SKU's on_hand to this first, with PUT /inventory/{sku} (LOADGEN_STOCK)")
	fs.IntVar(&c.Items, "items", c.Items, "lines (distinct SKUs) per order (LOADGEN_ITEMS)")
	fs.IntVar(&c.Quantity, "quantity", c.Quantity, "units per line (LOADGEN_QUANTITY)")
	fs.Float64Var(&c.CancelShare, "cancel", c.CancelShare, "share of placed orders cancelled right after the 202, 0 to 1 (LOADGEN_CANCEL_SHARE)")
	fs.IntVar(&c.Customers, "customers", c.Customers, "number of customer ids the orders are spread over (LOADGEN_CUSTOMERS)")
	fs.BoolVar(&c.Follow, "follow", c.Follow, "poll each placed order until CONFIRMED or final (LOADGEN_FOLLOW)")
	fs.DurationVar(&c.PollInterval, "poll", c.PollInterval, "interval between polls of one order (LOADGEN_POLL_INTERVAL)")
	fs.DurationVar(&c.FollowTimeout, "follow-timeout", c.FollowTimeout, "how long an order is polled before it counts as a follow timeout (LOADGEN_FOLLOW_TIMEOUT)")
	fs.IntVar(&c.ReadOrders, "read-orders", c.ReadOrders, "reads workload: orders placed first and then read (LOADGEN_READ_ORDERS)")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, "timeout of each HTTP request (LOADGEN_REQUEST_TIMEOUT)")
	fs.DurationVar(&c.Progress, "progress", c.Progress, "interval of the progress line on stderr, 0 for none (LOADGEN_PROGRESS)")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print the result as JSON on stdout (LOADGEN_JSON)")
	fs.StringVar(&c.NullServer, "null-server", c.NullServer, "serve the do-nothing reference server on this address (e.g. 127.0.0.1:8090) instead of generating load (LOADGEN_NULL_SERVER)")
	fs.StringVar(&c.RunID, "run-id", c.RunID, "prefix of the run's Idempotency-Keys and customer ids; random if empty (LOADGEN_RUN_ID)")
}

// Validate checks the configuration as a whole.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		errs = append(errs, fmt.Errorf("url must start with http:// or https://, not %q", c.URL))
	}
	switch c.Model {
	case ModelClosed:
		if c.Clients < 1 {
			errs = append(errs, errors.New("clients must be at least 1"))
		}
	case ModelOpen:
		if c.Rate <= 0 {
			errs = append(errs, errors.New("rate must be positive"))
		}
		if c.MaxInFlight < 1 {
			errs = append(errs, errors.New("max-in-flight must be at least 1"))
		}
	default:
		errs = append(errs, fmt.Errorf("model must be closed or open, not %q", c.Model))
	}
	if c.Workload != WorkloadOrders && c.Workload != WorkloadReads {
		errs = append(errs, fmt.Errorf("workload must be orders or reads, not %q", c.Workload))
	}
	if c.Duration <= 0 {
		errs = append(errs, errors.New("duration must be positive"))
	}
	skus, err := c.SKUList()
	if err != nil {
		errs = append(errs, err)
	}
	if c.Items < 1 || (err == nil && c.Items > len(skus)) {
		errs = append(errs, fmt.Errorf("items must be from 1 to the number of SKUs (%d), not %d", len(skus), c.Items))
	}
	if c.Quantity < 1 {
		errs = append(errs, errors.New("quantity must be at least 1"))
	}
	if c.Stock < 0 {
		errs = append(errs, errors.New("stock must not be negative"))
	}
	if c.CancelShare < 0 || c.CancelShare > 1 {
		errs = append(errs, errors.New("cancel must be from 0 to 1"))
	}
	if c.Customers < 1 {
		errs = append(errs, errors.New("customers must be at least 1"))
	}
	if c.Follow && (c.PollInterval <= 0 || c.FollowTimeout <= 0) {
		errs = append(errs, errors.New("poll and follow-timeout must be positive"))
	}
	if c.Workload == WorkloadReads && c.ReadOrders < 1 {
		errs = append(errs, errors.New("read-orders must be at least 1"))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("request-timeout must be positive"))
	}
	if c.Progress < 0 {
		errs = append(errs, errors.New("progress must not be negative"))
	}
	return errors.Join(errs...)
}

// maxSKUCount bounds a count of SKUs: an order has at most 100 lines, and a
// run needs no more SKUs than that to spread its load.
const maxSKUCount = 10000

// SKUList returns the SKUs: the list, or SKU-1…SKU-N for a count N.
func (c Config) SKUList() ([]string, error) {
	s := strings.TrimSpace(c.SKUs)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > maxSKUCount {
			return nil, fmt.Errorf("skus: a count must be from 1 to %d, not %d", maxSKUCount, n)
		}
		out := make([]string, n)
		for i := range out {
			out[i] = "SKU-" + strconv.Itoa(i+1)
		}
		return out, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, sku := range strings.Split(s, ",") {
		sku = strings.TrimSpace(sku)
		if sku == "" || seen[sku] {
			continue
		}
		seen[sku] = true
		out = append(out, sku)
	}
	if len(out) == 0 {
		return nil, errors.New("skus: name at least one SKU, or a count")
	}
	return out, nil
}
