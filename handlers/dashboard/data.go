package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// Statuses are the order statuses, in the order the dashboard shows them.
var Statuses = []string{
	messages.OrderStatusPending, messages.OrderStatusConfirmed, messages.OrderStatusShipped,
	messages.OrderStatusDelivered, messages.OrderStatusRejected, messages.OrderStatusCancelled,
	messages.OrderStatusDeliveryFailed,
}

const (
	// maxCountPages bounds the pages of GET /orders read to count one status:
	// past maxCountPages*pageSize orders the count shows as "N+".
	maxCountPages = 10
	pageSize      = messages.MaxListLimit
	// rateWindow is how far back the chart goes, in rateBuckets buckets.
	rateWindow  = 5 * time.Minute
	rateBuckets = 20
	// maxRatePages bounds the pages of the newest orders read for the chart.
	maxRatePages = 5
)

// The JSON the API answers, as far as the dashboard reads it.
type (
	orderJSON struct {
		OrderID    string          `json:"order_id"`
		CustomerID string          `json:"customer_id"`
		Items      []messages.Item `json:"items"`
		Status     string          `json:"status"`
		Reason     string          `json:"reason"`
		History    []historyJSON   `json:"history"`
		CreatedAt  string          `json:"created_at"`
		UpdatedAt  string          `json:"updated_at"`
	}
	historyJSON struct {
		Status        string `json:"status"`
		At            string `json:"at"`
		Reason        string `json:"reason"`
		CorrelationID string `json:"correlation_id"`
	}
	orderListJSON struct {
		Orders     []orderJSON `json:"orders"`
		NextCursor string      `json:"next_cursor"`
	}
	poisonJSON struct {
		ID         string `json:"id"`
		Service    string `json:"service"`
		Handler    string `json:"handler"`
		Topic      string `json:"topic"`
		OrderID    string `json:"order_id"`
		Reason     string `json:"reason"`
		PoisonedAt string `json:"poisoned_at"`
		Status     string `json:"status"`
	}
	poisonListJSON struct {
		Entries    []poisonJSON `json:"entries"`
		NextCursor string       `json:"next_cursor"`
	}
)

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// countsData is the live counts and the chart.
type countsData struct {
	Counts []statusCount
	Chart  chart
	Error  string
	// unauthorized: the API no longer accepts the session's token.
	unauthorized bool
}

type statusCount struct {
	Status string
	Count  int
	// More: there are more than Count (the count stopped at its bound).
	More bool
}

func (d *dashboard) counts(r *http.Request, s session) countsData {
	out := countsData{Counts: make([]statusCount, len(Statuses))}
	errs := make([]string, len(Statuses))
	var wg sync.WaitGroup
	for i, st := range Statuses {
		wg.Go(func() {
			c := statusCount{Status: st}
			cursor := ""
			for page := 0; ; page++ {
				if page == maxCountPages {
					c.More = true
					break
				}
				var l orderListJSON
				res := d.call(r, s.token, http.MethodGet, "/orders?status="+st+"&limit="+strconv.Itoa(pageSize)+"&cursor="+url.QueryEscape(cursor), nil, &l)
				if !res.ok() {
					errs[i] = res.describe()
					if res.status == http.StatusUnauthorized {
						errs[i] = "401"
					}
					break
				}
				c.Count += len(l.Orders)
				if l.NextCursor == "" {
					break
				}
				cursor = l.NextCursor
			}
			out.Counts[i] = c
		})
	}
	var rateErr string
	var recent []orderJSON
	wg.Go(func() { recent, rateErr = d.recentOrders(r, s) })
	wg.Wait()
	for _, e := range append(errs, rateErr) {
		if e == "401" {
			out.unauthorized = true
		} else if e != "" && out.Error == "" {
			out.Error = "Orders could not be counted: " + e
		}
	}
	out.Chart = rateChart(recent, d.now())
	return out
}

// recentOrders reads the newest orders, back to those placed a little before
// the chart's window (an order placed before it may be confirmed or
// delivered in it), within maxRatePages pages.
func (d *dashboard) recentOrders(r *http.Request, s session) ([]orderJSON, string) {
	since := d.now().Add(-rateWindow - 2*time.Minute)
	var all []orderJSON
	cursor := ""
	for range maxRatePages {
		var l orderListJSON
		res := d.call(r, s.token, http.MethodGet, "/orders?limit="+strconv.Itoa(pageSize)+"&cursor="+url.QueryEscape(cursor), nil, &l)
		if !res.ok() {
			if res.status == http.StatusUnauthorized {
				return nil, "401"
			}
			return all, res.describe()
		}
		all = append(all, l.Orders...)
		if l.NextCursor == "" || len(l.Orders) == 0 || parseTime(l.Orders[len(l.Orders)-1].CreatedAt).Before(since) {
			break
		}
		cursor = l.NextCursor
	}
	return all, ""
}

// chart is the orders/s chart, drawn as SVG by the template.
type chart struct {
	Width, Height int
	Series        []series
	// MaxRate is the top of the y axis, in orders per second.
	MaxRate string
	Window  string
	// Summary says the last minute's rates in words, for screen readers and the legend.
	Summary string
}

type series struct {
	Name   string
	Class  string
	Points string
	// LastMinute is the rate over the last minute, in orders per second.
	LastMinute string
}

// rateChart buckets the history entries PENDING (placed), CONFIRMED and
// DELIVERED of orders by time over the last rateWindow.
func rateChart(orders []orderJSON, now time.Time) chart {
	c := chart{Width: 600, Height: 160, Window: "last " + rateWindow.String()}
	kinds := []struct{ name, status, class string }{
		{"placed", messages.OrderStatusPending, "s-placed"},
		{"confirmed", messages.OrderStatusConfirmed, "s-confirmed"},
		{"delivered", messages.OrderStatusDelivered, "s-delivered"},
	}
	bucket := rateWindow / rateBuckets
	start := now.Add(-rateWindow)
	counts := make([][]int, len(kinds))
	lastMinute := make([]int, len(kinds))
	seen := map[string]bool{}
	for k := range kinds {
		counts[k] = make([]int, rateBuckets)
	}
	for _, o := range orders {
		if seen[o.OrderID] {
			continue // an order may show on two pages while the list moves
		}
		seen[o.OrderID] = true
		for _, h := range o.History {
			at := parseTime(h.At)
			for k, kind := range kinds {
				if h.Status != kind.status || at.Before(start) || at.After(now) {
					continue
				}
				i := min(int(at.Sub(start)/bucket), rateBuckets-1)
				counts[k][i]++
				if now.Sub(at) <= time.Minute {
					lastMinute[k]++
				}
			}
		}
	}
	peak := 0
	for k := range kinds {
		for _, n := range counts[k] {
			peak = max(peak, n)
		}
	}
	peak = max(peak, 1)
	perSecond := func(n int, d time.Duration) string { return strconv.FormatFloat(float64(n)/d.Seconds(), 'f', 2, 64) }
	c.MaxRate = perSecond(peak, bucket)
	var summary []string
	for k, kind := range kinds {
		var pts []string
		for i, n := range counts[k] {
			x := float64(i) * float64(c.Width) / float64(rateBuckets-1)
			y := float64(c.Height) - float64(n)*float64(c.Height-10)/float64(peak)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		}
		s := series{Name: kind.name, Class: kind.class, Points: strings.Join(pts, " "), LastMinute: perSecond(lastMinute[k], time.Minute)}
		c.Series = append(c.Series, s)
		summary = append(summary, s.LastMinute+" "+kind.name)
	}
	c.Summary = "Orders per second over the last minute: " + strings.Join(summary, ", ") + "."
	return c
}

// ordersData is the latest orders, filtered.
type ordersData struct {
	Status, Customer string
	Statuses         []string
	Orders           []orderRow
	Error            string
	unauthorized     bool
}

type orderRow struct {
	ID, Customer, Status, Reason, Items, Created, Updated string
}

func (d *dashboard) orders(r *http.Request, s session) ordersData {
	q := r.URL.Query()
	out := ordersData{Status: q.Get("status"), Customer: strings.TrimSpace(q.Get("customer_id")), Statuses: Statuses}
	v := url.Values{"limit": {"20"}}
	if out.Status != "" {
		v.Set("status", out.Status)
	}
	if out.Customer != "" {
		v.Set("customer_id", out.Customer)
	}
	var l orderListJSON
	res := d.call(r, s.token, http.MethodGet, "/orders?"+v.Encode(), nil, &l)
	if !res.ok() {
		out.unauthorized = res.status == http.StatusUnauthorized
		out.Error = "Orders could not be listed: " + res.describe()
		return out
	}
	for _, o := range l.Orders {
		out.Orders = append(out.Orders, orderRow{
			ID: o.OrderID, Customer: o.CustomerID, Status: o.Status, Reason: o.Reason,
			Items: itemsText(o.Items), Created: d.ago(parseTime(o.CreatedAt)), Updated: d.ago(parseTime(o.UpdatedAt)),
		})
	}
	return out
}

func itemsText(items []messages.Item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.SKU + " ×" + strconv.Itoa(it.Quantity)
	}
	return strings.Join(parts, ", ")
}

// ago says how long ago t was, in words a person reads at a glance.
func (d *dashboard) ago(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	age := d.now().Sub(t)
	switch {
	case age < time.Second:
		return "just now"
	case age < time.Minute:
		return strconv.Itoa(int(age.Seconds())) + " s ago"
	case age < time.Hour:
		return strconv.Itoa(int(age.Minutes())) + " min ago"
	case age < 48*time.Hour:
		return strconv.Itoa(int(age.Hours())) + " h ago"
	}
	return strconv.Itoa(int(age.Hours()/24)) + " days ago"
}

// stockData is the stock levels.
type stockData struct {
	LowStock     int
	Levels       []stockRow
	Low          int
	Error        string
	unauthorized bool
}

type stockRow struct {
	messages.StockLevel
	Low bool
}

func (d *dashboard) stock(r *http.Request, s session) stockData {
	out := stockData{LowStock: d.lowStock}
	var l struct {
		Stock []messages.StockLevel `json:"stock"`
	}
	res := d.call(r, s.token, http.MethodGet, "/inventory", nil, &l)
	if !res.ok() {
		out.unauthorized = res.status == http.StatusUnauthorized
		out.Error = "Stock could not be listed: " + res.describe()
		return out
	}
	sort.Slice(l.Stock, func(i, j int) bool { return l.Stock[i].SKU < l.Stock[j].SKU })
	for _, lv := range l.Stock {
		row := stockRow{StockLevel: lv, Low: lv.Available <= d.lowStock}
		if row.Low {
			out.Low++
		}
		out.Levels = append(out.Levels, row)
	}
	return out
}

// poisonData is the poison queue of each service.
type poisonData struct {
	Services     []poisonService
	Total        int
	unauthorized bool
}

type poisonService struct {
	Name    string
	Entries []poisonRow
	More    bool
	Error   string
}

type poisonRow struct {
	ID, Handler, Topic, OrderID, Reason, Age, PoisonedAt string
}

// maxPoisonShown is how many entries of a service's queue the page lists.
const maxPoisonShown = 50

func (d *dashboard) poison(r *http.Request, s session) poisonData {
	names := messages.PoisonServices()
	out := poisonData{Services: make([]poisonService, len(names))}
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			ps := poisonService{Name: name}
			var l poisonListJSON
			res := d.call(r, s.token, http.MethodGet, "/admin/poison?service="+url.QueryEscape(name)+"&status="+messages.PoisonStatusPoisoned+"&limit="+strconv.Itoa(maxPoisonShown), nil, &l)
			if !res.ok() {
				ps.Error = res.describe()
				if res.status == http.StatusUnauthorized {
					ps.Error = "401"
				}
			}
			ps.More = l.NextCursor != ""
			for _, e := range l.Entries {
				at := parseTime(e.PoisonedAt)
				ps.Entries = append(ps.Entries, poisonRow{ID: e.ID, Handler: e.Handler, Topic: e.Topic, OrderID: e.OrderID,
					Reason: e.Reason, Age: d.ago(at), PoisonedAt: e.PoisonedAt})
			}
			out.Services[i] = ps
		})
	}
	wg.Wait()
	for i := range out.Services {
		if out.Services[i].Error == "401" {
			out.unauthorized = true
			out.Services[i].Error = "not authorized"
		}
		out.Total += len(out.Services[i].Entries)
	}
	return out
}

// healthData is the gateway's readiness and whether each service answers.
type healthData struct {
	Ready    bool
	Detail   []string
	Services []serviceHealth
}

type serviceHealth struct {
	Name   string
	OK     bool
	Detail string
}

// probes are a cheap query each service answers, through the gateway.
var probes = []struct{ service, path string }{
	{"orders", "/orders?limit=1"},
	{"inventory", "/inventory/SKU-health-probe"},
	{"delivery", "/admin/poison?service=delivery&limit=1"},
}

func (d *dashboard) health(r *http.Request, s session) healthData {
	var out healthData
	res := d.call(r, s.token, http.MethodGet, "/readyz", nil, nil)
	out.Ready = res.status == http.StatusOK
	if !out.Ready {
		detail := res.problem.Detail
		if detail == "" {
			detail = res.describe()
		}
		for _, line := range strings.Split(detail, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				out.Detail = append(out.Detail, line)
			}
		}
	}
	out.Services = make([]serviceHealth, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Go(func() {
			res := d.call(r, s.token, http.MethodGet, p.path, nil, nil)
			h := serviceHealth{Name: p.service}
			// A 404 of the probe SKU is an answer of the inventory service too.
			if res.ok() || (p.service == "inventory" && res.status == http.StatusNotFound) {
				h.OK = true
				h.Detail = "answers in " + res.elapsed.Round(time.Millisecond).String()
			} else {
				h.Detail = res.describe()
			}
			out.Services[i] = h
		})
	}
	wg.Wait()
	return out
}
