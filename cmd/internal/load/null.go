package load

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// NullServer is the reference the benchmarks measure the system against: a
// do-nothing JSON HTTP server that answers the generator's requests as the
// gateway would (POST /orders 202 with an order id, GET /orders/{id} 200
// CONFIRMED, a cancel 202, PUT /inventory/{sku} 200), decoding each body and
// encoding each answer, and doing nothing else. What the generator reaches
// against it is the ceiling of this machine's HTTP and JSON, generator
// included; the system's figure divided by it is a ratio that holds from one
// machine to another.
func NullServer() http.Handler {
	var ids atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		if r.Body != nil {
			if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil && err != io.EOF {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		path := strings.TrimPrefix(r.URL.Path, "/")
		parts := strings.Split(path, "/")
		status, out := http.StatusNotFound, any(map[string]string{"title": "Not Found"})
		switch {
		case r.Method == http.MethodPost && path == "orders":
			status, out = http.StatusAccepted, map[string]string{"order_id": "null-" + strconv.FormatInt(ids.Add(1), 10), "status": statusPending}
		case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "orders":
			status, out = http.StatusOK, map[string]string{"order_id": parts[1], "status": statusConfirmed}
		case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "orders" && parts[2] == "cancel":
			status, out = http.StatusAccepted, map[string]string{"order_id": parts[1], "status": statusPending}
		case r.Method == http.MethodPut && len(parts) == 2 && parts[0] == "inventory":
			status, out = http.StatusOK, map[string]any{"sku": parts[1], "on_hand": in["on_hand"]}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(out)
	})
}
