package plugin

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A middleware's handle_response sees the status and headers the next
// handler really wrote, without buffer_response (issue 10, defect 3: it
// read 200 whatever the route answered).
func TestHandleResponseSeesDownstreamStatus(t *testing.T) {
	h, logs := newHost(t, Config{})
	p := load(t, h, Spec{Name: "observe", Module: fixture(t, "observe")})
	for _, tc := range []struct {
		name string
		next http.HandlerFunc
		want string // the guest's log line
		code int
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Route", "missing")
			http.Error(w, "not found", http.StatusNotFound)
		}, "status=404 x-route=missing", 404},
		{"401 without body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Route", "denied")
			w.WriteHeader(http.StatusUnauthorized)
		}, "status=401 x-route=denied", 401},
		{"implicit 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Route", "ok")
			_, _ = io.WriteString(w, "hi")
		}, "status=200 x-route=ok", 200},
		{"header changed after the head", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Route", "sent")
			w.WriteHeader(http.StatusCreated)
			w.Header().Set("X-Route", "never sent")
		}, "status=201 x-route=sent", 201},
		{"streaming", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Route", "stream")
			w.WriteHeader(http.StatusAccepted)
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush through the middleware: %v", err)
			}
		}, "status=202 x-route=stream", 202},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(logs.String())
			w := do(p.Middleware(tc.next), "GET", "/x", nil)
			if w.Code != tc.code {
				t.Errorf("client got %d; want %d", w.Code, tc.code)
			}
			if got := logs.String()[before:]; !strings.Contains(got, `msg="`+tc.want+`"`) {
				t.Errorf("guest logged:\n%s\nwant %q", got, tc.want)
			}
		})
	}
}

// The C example middleware logs the route's real status (it logged 200
// for a 401).
func TestCMiddlewareExampleLogsStatus(t *testing.T) {
	module := filepath.Join("..", "..", "examples", "c-middleware", "c-middleware.wasm")
	if _, err := os.Stat(module); err != nil {
		t.Fatalf("%v (scripts/build-plugins.sh examples/c-middleware builds it)", err)
	}
	h, logs := newHost(t, Config{})
	p := load(t, h, Spec{Name: "c", Module: module})
	w := do(p.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	})), "GET", "/api/agents", nil)
	if w.Code != 401 || w.Header().Get("X-Powered-By") != "mastra-wasm" {
		t.Errorf("response = %d %v", w.Code, w.Header())
	}
	if l := logs.String(); !strings.Contains(l, "c-middleware: downstream status 401") {
		t.Errorf("log lacks the real status:\n%s", l)
	}
}
