package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiResult is the API's answer to a sub-request.
type apiResult struct {
	status  int
	body    []byte
	elapsed time.Duration
	// problem is the API's problem details, for an answer that is not 2xx.
	problem problem
}

// problem is the part of an RFC 9457 answer the dashboard shows.
type problem struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

func (a apiResult) ok() bool { return a.status >= 200 && a.status < 300 }

// describe says in a sentence why the API refused.
func (a apiResult) describe() string {
	p := a.problem
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	if msg == "" {
		msg = http.StatusText(a.status)
	}
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.Field+" "+e.Detail)
	}
	if len(fields) > 0 && !strings.Contains(msg, fields[0]) {
		msg += " (" + strings.Join(fields, "; ") + ")"
	}
	return fmt.Sprintf("%s [%d]", msg, a.status)
}

// recorder is the response writer of a sub-request.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	// A dashboard page needs at most a few hundred KiB of any answer.
	if rec.body.Len()+len(b) > 4<<20 {
		return 0, fmt.Errorf("answer larger than 4 MiB")
	}
	return rec.body.Write(b)
}

// call sends a request to the API in process, with the operator's token and
// the browser's address (for the API's rate limit of bad credentials), and
// decodes a 2xx JSON answer into out.
func (d *dashboard) call(r *http.Request, token, method, path string, body, out any) apiResult {
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return apiResult{status: http.StatusInternalServerError, problem: problem{Detail: err.Error()}}
		}
		rd = bytes.NewReader(raw)
	}
	// Served in process by the API handler: the request goes to no network.
	req, err := http.NewRequestWithContext(r.Context(), method, path, rd) //nolint:gosec // see above
	if err != nil {
		return apiResult{status: http.StatusInternalServerError, problem: problem{Detail: err.Error()}}
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.TLS = r.TLS
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	start := time.Now()
	d.api.ServeHTTP(rec, req)
	res := apiResult{status: rec.status, body: rec.body.Bytes(), elapsed: time.Since(start)}
	if res.status == 0 {
		res.status = http.StatusOK
	}
	if !res.ok() {
		_ = json.Unmarshal(res.body, &res.problem)
		return res
	}
	if out != nil && len(res.body) > 0 {
		if err := json.Unmarshal(res.body, out); err != nil {
			res.status = http.StatusBadGateway
			res.problem = problem{Detail: "the API's answer could not be read: " + err.Error()}
		}
	}
	return res
}
