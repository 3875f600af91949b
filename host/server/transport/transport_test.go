package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// transport knows HTTP, not the domain: besides the standard library it
// imports reqctx only (never server, agent, memory or llm).
func TestImportsPointOneWay(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range files {
		if strings.HasSuffix(fn, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), fn, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(strings.SplitN(p, "/", 2)[0], ".") && p != "github.com/mastra-server/mastra-server/host/reqctx" {
				t.Errorf("%s imports %s; transport may import the standard library and host/reqctx only", fn, p)
			}
		}
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// manualTimer returns an AfterFunc whose timers fire only when fire is
// called, and fire.
func manualTimer() (after func(time.Duration, func()) *time.Timer, fire func()) {
	fns := make(chan func(), 1)
	after = func(_ time.Duration, f func()) *time.Timer {
		fns <- f
		return time.AfterFunc(time.Hour, func() {})
	}
	return after, func() { (<-fns)() }
}

// The commit gate decides once between the 504 and the handler's own
// answer: after the timeout answered, the gate refuses (the work must be
// dropped) and the handler's writes go nowhere; once the gate let a handler
// through, the timer no longer answers.
func TestFirstByteTimeoutGate(t *testing.T) {
	type gateKey struct{}
	withGate := func(ctx context.Context, gate func() bool) context.Context {
		return context.WithValue(ctx, gateKey{}, gate)
	}
	for _, tt := range []struct {
		name       string
		fireFirst  bool
		wantGate   bool
		wantStatus int
	}{
		{"timeout first", true, false, http.StatusGatewayTimeout},
		{"commit first", false, true, http.StatusCreated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			after, fire := manualTimer()
			timedOut := false
			var gateSaid bool
			h := FirstByteTimeout(TimeoutOptions{Timeout: time.Second, AfterFunc: after, WithGate: withGate,
				OnTimeout: func(*http.Request) { timedOut = true }})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.fireFirst {
					fire()
					if r.Context().Err() == nil {
						t.Error("handler context not cancelled by the timeout")
					}
				}
				gateSaid = r.Context().Value(gateKey{}).(func() bool)()
				if !tt.fireFirst {
					fire()
				}
				w.WriteHeader(http.StatusCreated)
				fmt.Fprint(w, `{"saved":true}`)
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/agent/generate", nil))
			if gateSaid != tt.wantGate || rec.Code != tt.wantStatus || timedOut != tt.fireFirst {
				t.Errorf("gate = %v, status = %d, timed out = %v; want %v, %d, %v", gateSaid, rec.Code, timedOut, tt.wantGate, tt.wantStatus, tt.fireFirst)
			}
			if tt.fireFirst && strings.Contains(rec.Body.String(), "saved") {
				t.Errorf("body after the 504 = %q; the handler's write must go nowhere", rec.Body.String())
			}
		})
	}
}

// Map classifies domain errors; a 5xx body says nothing of the cause and
// carries the request id; a 503 says when to retry.
func TestErrorWriter(t *testing.T) {
	errDown := errors.New("db: connection refused to 10.0.0.7")
	ew := ErrorWriter{Log: quiet(), Map: func(err error) *Error {
		if errors.Is(err, errDown) {
			return &Error{Status: http.StatusServiceUnavailable, Message: "Database unavailable", Err: err}
		}
		return nil
	}}
	h := Entry(EntryOptions{Log: quiet()})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down":
			ew.Write(w, r, fmt.Errorf("list threads: %w", errDown))
		case "/bug":
			ew.Write(w, r, errors.New("nil map at handlers.go:12"))
		case "/big":
			ew.Write(w, r, fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 1}))
		case "/late":
			ew.Write(w, r, fmt.Errorf("model: %w", context.DeadlineExceeded))
		case "/bad":
			ew.Write(w, r, fmt.Errorf("decode: %w", Invalid("Invalid request body", "message", "message is required")))
		}
	}))
	for _, tt := range []struct {
		path, want string
		status     int
	}{
		{"/down", "Database unavailable", 503},
		{"/bug", "Internal Server Error", 500},
		{"/big", "Request body too large", 413},
		{"/late", "Gateway Timeout", 504},
		{"/bad", "Invalid request body", 400},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
		var body struct {
			Error     string  `json:"error"`
			RequestID string  `json:"requestId"`
			Issues    []Issue `json:"issues"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v in %q", tt.path, err, rec.Body)
		}
		if rec.Code != tt.status || body.Error != tt.want {
			t.Errorf("%s = %d %q; want %d %q", tt.path, rec.Code, body.Error, tt.status, tt.want)
		}
		if raw := rec.Body.String(); strings.Contains(raw, "10.0.0.7") || strings.Contains(raw, "handlers.go") {
			t.Errorf("%s body %s leaks the cause", tt.path, raw)
		}
		if tt.status >= 500 && body.RequestID != rec.Header().Get("X-Request-Id") {
			t.Errorf("%s requestId = %q; want the X-Request-Id %q", tt.path, body.RequestID, rec.Header().Get("X-Request-Id"))
		}
		if tt.status == 503 && rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", tt.path)
		}
		if tt.status == 400 && (len(body.Issues) != 1 || body.Issues[0].Field != "message") {
			t.Errorf("%s issues = %+v; want one for message", tt.path, body.Issues)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	const unknown, short = -1, 3 // Content-Length not said, or less than sent
	for _, tt := range []struct {
		name, ct, body string
		status         int
		field          string
		length         int64 // Content-Length when not 0
	}{
		{"ok", "application/json", `{"message":"hi"}`, 0, "", 0},
		{"vendor json", "application/vnd.api+json", `{"message":"hi"}`, 0, "", 0},
		{"no content type", "", `{"message":"hi"}`, 415, "", 0},
		{"text", "text/plain", `{"message":"hi"}`, 415, "", 0},
		{"too large", "application/json", `{"message":"` + strings.Repeat("x", 64) + `"}`, 413, "", 0},
		{"empty", "application/json", ` `, 400, "body", 0},
		{"syntax", "application/json", `{"message":`, 400, "body", 0},
		{"wrong type", "application/json", `{"message":42}`, 400, "message", 0},
		{"not an object", "application/json", `[1]`, 400, "body", 0},
		{"ok, length unknown", "application/json", `{"message":"hi"}`, 0, "", unknown},
		{"ok, length short", "application/json", `{"message":"hi"}`, 0, "", short},
		{"with charset", "application/json; charset=utf-8", `{"message":"hi"}`, 0, "", 0},
		{"bad parameters", "application/json; charset", `{"message":"hi"}`, 415, "", 0},
		{"too large, length unknown", "application/json", `{"message":"` + strings.Repeat("x", 64) + `"}`, 413, "", unknown},
		{"too large, length short", "application/json", `{"message":"` + strings.Repeat("x", 64) + `"}`, 413, "", short},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			if tt.length != 0 {
				r.ContentLength = tt.length
			}
			var v struct {
				Message string `json:"message"`
			}
			err := DecodeJSON(httptest.NewRecorder(), r, 32, &v)
			var e *Error
			switch {
			case tt.status == 0 && (err != nil || v.Message != "hi"):
				t.Errorf("DecodeJSON = %v, %q; want nil, hi", err, v.Message)
			case tt.status != 0 && (!errors.As(err, &e) || e.Status != tt.status):
				t.Errorf("DecodeJSON = %v; want status %d", err, tt.status)
			case tt.field != "" && (len(e.Issues) != 1 || e.Issues[0].Field != tt.field):
				t.Errorf("issues = %+v; want one for %s", e.Issues, tt.field)
			}
		})
	}
}

func TestCrossOrigin(t *testing.T) {
	reached := false
	h := CrossOrigin(CORS{Origins: []string{"https://app.example/"}, AllowMethods: []string{"GET", "POST"},
		AllowHeaders: []string{"Content-Type"}, ExposeHeaders: []string{"X-Request-Id"}, Credentials: true, MaxAge: time.Hour})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))

	pre := httptest.NewRequest("OPTIONS", "/agent/generate", nil)
	pre.Header.Set("Origin", "https://app.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, pre)
	got := rec.Header()
	if rec.Code != 204 || reached || got.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		got.Get("Access-Control-Allow-Methods") != "GET,POST" || got.Get("Access-Control-Max-Age") != "3600" ||
		got.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight = %d, reached %v, headers %v; want 204 answered here with the allow headers", rec.Code, reached, got)
	}

	other := httptest.NewRequest("GET", "/threads", nil)
	other.Header.Set("Origin", "https://evil.example")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, other)
	if !reached || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin: reached %v, allow-origin %q; want passed on without CORS headers", reached, rec.Header().Get("Access-Control-Allow-Origin"))
	}
}

func TestAuthenticate(t *testing.T) {
	type seen struct {
		user, resource string
		admin          bool
	}
	var got seen
	h := RequestContext(Authenticate(Auth{Enabled: true, Protected: []string{"/api/*"}, Public: []string{"/api/open"},
		Tokens: []Token{{User: "alice", ResourceID: "res-a", Value: "tok-a"}, {User: "ops", Admin: true, Value: "tok-ops"}, {User: "none"}}})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v := reqctx.From(r.Context())
			got.user, _ = v.GetString(reqctx.UserKey)
			got.resource, _ = v.GetString(reqctx.ResourceIDKey)
			got.admin = IsAdmin(r.Context())
		})))
	for _, tt := range []struct {
		path, auth string
		status     int
		want       seen
	}{
		{"/api/x", "Bearer tok-a", 200, seen{"alice", "res-a", false}},
		{"/api/x?apiKey=tok-ops", "", 200, seen{"ops", "", true}},
		{"/api/x", "", 401, seen{}},
		{"/api/x", "Bearer ", 401, seen{}}, // the token without a value never matches
		{"/api/x", "Bearer tok-b", 401, seen{}},
		{"/api/open", "Bearer tok-b", 200, seen{}},
		{"/other", "", 200, seen{}},
	} {
		got = seen{}
		r := httptest.NewRequest("GET", tt.path, nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tt.status || got != tt.want {
			t.Errorf("%s %q = %d %+v; want %d %+v", tt.path, tt.auth, rec.Code, got, tt.status, tt.want)
		}
		if tt.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: 401 without a Bearer challenge", tt.path)
		}
	}
	if s := fmt.Sprint(Auth{Tokens: []Token{{User: "alice", Value: "tok-a"}}}); strings.Contains(s, "tok-a") {
		t.Errorf("printed config %s shows a token value", s)
	}
}

// A timeout that fires between two reads of a body still arriving is the
// body's fault (408), as one that fires during a read is; once the body
// has been read to its end, it is the handler's (504).
func TestFirstByteTimeoutBetweenBodyReads(t *testing.T) {
	for _, tt := range []struct {
		name       string
		readAll    bool
		wantStatus int
	}{
		{"between reads", false, http.StatusRequestTimeout},
		{"body read", true, http.StatusGatewayTimeout},
	} {
		t.Run(tt.name, func(t *testing.T) {
			after, fire := manualTimer()
			h := FirstByteTimeout(TimeoutOptions{Timeout: time.Second, AfterFunc: after})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.readAll {
					io.ReadAll(r.Body)
				} else {
					r.Body.Read(make([]byte, 1)) // one byte of the body, more to come
				}
				fire()
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/agent/generate", strings.NewReader(`{"message":"hello"}`)))
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d %s; want %d", rec.Code, rec.Body.String(), tt.wantStatus)
			}
		})
	}
}
