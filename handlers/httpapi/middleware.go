package httpapi

import (
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/orderflow/orderflow/messages"
)

// HeaderCorrelationID carries a request's correlation ID in and out.
const HeaderCorrelationID = "X-Correlation-ID"

func chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// correlation takes the request's X-Correlation-ID, or makes one when it is
// missing or unusable, returns it in the response and puts it in the context,
// from where every command sent for the request carries it.
func correlation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderCorrelationID)
		if !validToken(id, 128) {
			id = watermill.NewUUID()
		}
		w.Header().Set(HeaderCorrelationID, id)
		next.ServeHTTP(w, r.WithContext(messages.WithCorrelationID(r.Context(), id)))
	})
}

// securityHeaders keeps answers out of caches (they are per principal) and
// forbids browsers to guess a content type.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic (a bug) into a 500 problem and logs it.
func recoverer(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if p := recover(); p != nil {
					// p is a recovered panic value, not a returned error; net/http
					// itself compares it with ErrAbortHandler by identity.
					if p == http.ErrAbortHandler { //nolint:errorlint // see above
						panic(p)
					}
					logger.ErrorContext(r.Context(), "panic in HTTP handler", "panic", p, "stack", string(debug.Stack()))
					writeProblem(w, r, http.StatusInternalServerError, "Internal Server Error", "unexpected error")
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// validToken reports whether s is 1 to max printable ASCII characters: fit
// to be echoed in a header and stored.
func validToken(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
