package httpapi

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a token bucket: Rate requests per second on average, up to Burst
// at once. A zero Rate means no limit.
type Limit struct {
	Rate  float64
	Burst int
}

// maxBuckets bounds the limiter's memory: past it, buckets that are full again
// (as good as new) are dropped.
const maxBuckets = 10_000

// limiter keeps one token bucket per principal, and one per client address
// for requests without valid credentials. It is per gateway instance.
type limiter struct {
	now       func() time.Time
	byRole    map[Role]Limit
	anonymous Limit

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

func newLimiter(now func() time.Time, byRole map[Role]Limit, anonymous Limit) *limiter {
	if now == nil {
		now = time.Now
	}
	return &limiter{now: now, byRole: byRole, anonymous: anonymous, buckets: map[string]*rate.Limiter{}}
}

// refusePrincipal takes a token from the principal's bucket, answering 429 if there is none.
func (l *limiter) refusePrincipal(w http.ResponseWriter, r *http.Request, p Principal) bool {
	return l.refuse(w, r, string(p.Role), "principal:"+p.ID, l.byRole[p.Role])
}

// refuseAddress takes a token from the client address's bucket.
func (l *limiter) refuseAddress(w http.ResponseWriter, r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return l.refuse(w, r, "anonymous", "addr:"+host, l.anonymous)
}

func (l *limiter) refuse(w http.ResponseWriter, r *http.Request, policyName, key string, lim Limit) bool {
	if lim.Rate <= 0 {
		return false
	}
	now := l.now()
	b := l.bucket(key, lim, now)
	res := b.ReserveN(now, 1)
	delay := res.DelayFrom(now)
	if res.OK() && delay > 0 {
		res.CancelAt(now)
	}
	tokens := max(0, b.TokensAt(now))
	window := int(math.Ceil(float64(lim.Burst) / lim.Rate))
	refill := int(math.Ceil((float64(lim.Burst) - tokens) / lim.Rate))
	h := w.Header()
	h.Set("RateLimit-Policy", fmt.Sprintf("%q;q=%d;w=%d", policyName, lim.Burst, max(window, 1)))
	h.Set("RateLimit", fmt.Sprintf("%q;r=%d;t=%d", policyName, int(tokens), max(refill, 0)))
	if res.OK() && delay == 0 {
		return false
	}
	wait := int(math.Ceil(delay.Seconds()))
	if !res.OK() || wait < 1 {
		wait = 1
	}
	h.Set("Retry-After", strconv.Itoa(wait))
	writeProblem(w, r, http.StatusTooManyRequests, "Too Many Requests",
		fmt.Sprintf("rate limit of %s requests: %g per second, bursts of %d; retry in %d s", policyName, lim.Rate, lim.Burst, wait))
	return true
}

func (l *limiter) bucket(key string, lim Limit, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		return b
	}
	if len(l.buckets) >= maxBuckets {
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(b.Burst()) {
				delete(l.buckets, k)
			}
		}
		if len(l.buckets) >= maxBuckets {
			clear(l.buckets)
		}
	}
	b := rate.NewLimiter(rate.Limit(lim.Rate), max(lim.Burst, 1))
	// A new bucket starts full: set its clock to now, not to the zero time.
	b.SetBurstAt(now, max(lim.Burst, 1))
	l.buckets[key] = b
	return b
}
