package plugin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// bigSpec is the big fixture with a 1 MiB max_response: its 64 writes of
// 1 MiB are far over it. mode is its config's m (see testdata/big.wat).
func bigSpec(t *testing.T, kind Kind, mode string) Spec {
	return Spec{Name: "big", Kind: kind, Module: fixture(t, "big"), Config: []byte(`{"m":` + mode + `}`),
		Timeout: 10 * time.Second, MaxInstances: 1, MaxResponse: 1 << 20}
}

func wantOverCapLog(t *testing.T, logs *logBuffer) {
	t.Helper()
	if s := logs.String(); !strings.Contains(s, "plugin=big") || !strings.Contains(s, "max_response=1048576") {
		t.Errorf("no log line naming the plugin and its max_response:\n%s", s)
	}
}

// F2: a buffered response far over max_response fails that request with
// 502, and the plugin keeps serving.
func TestBufferedResponseOverCap(t *testing.T) {
	h, logs := newHost(t, Config{})
	p := load(t, h, bigSpec(t, Route, "1"))
	for range 3 {
		wantShort(t, do(p.Handler(), "GET", "/", nil), 502, `{"error":"plugin response too large"}`+"\n")
	}
	wantOverCapLog(t, logs)
	wantShort(t, do(p.Handler(), "GET", "/small", nil), 200, "small")
}

// F2: a middleware buffering downstream stops it at max_response.
func TestBufferedDownstreamOverCap(t *testing.T) {
	h, logs := newHost(t, Config{})
	p := load(t, h, bigSpec(t, Middleware, "2"))
	var wrote int
	var werr error
	down := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range 64 {
			n, err := w.Write(chunk)
			wrote += n
			if err != nil {
				werr = err
				return
			}
		}
	})
	wantShort(t, do(p.Middleware(down), "GET", "/", nil), 502, `{"error":"plugin response too large"}`+"\n")
	if !errors.Is(werr, ErrResponseTooLarge) || wrote > 1<<20 {
		t.Errorf("downstream wrote %d bytes, last error %v; want it stopped at 1 MiB with ErrResponseTooLarge", wrote, werr)
	}
	wantOverCapLog(t, logs)
	wantShort(t, do(p.Middleware(down), "GET", "/small", nil), 200, "small")
}

// F2: a tool answer far over max_response is an error, whether the guest
// writes it straight or buffered.
func TestCallOverCap(t *testing.T) {
	for _, mode := range []string{"0", "1"} {
		h, logs := newHost(t, Config{})
		p := load(t, h, bigSpec(t, Tool, mode))
		for range 3 {
			_, body, err := p.Call(context.Background(), []byte(`{}`))
			if !errors.Is(err, ErrResponseTooLarge) || len(body) != 0 || !strings.Contains(err.Error(), `"big"`) {
				t.Fatalf("mode %s: Call = %d bytes, %v; want ErrResponseTooLarge naming the plugin", mode, len(body), err)
			}
		}
		wantOverCapLog(t, logs)
	}
}

// A tool that buffers its answer hands it over whole.
func TestCallBuffered(t *testing.T) {
	h, _ := newHost(t, Config{})
	p := load(t, h, Spec{Name: "buffered", Kind: Tool, Module: fixture(t, "buffered")})
	status, body, err := p.Call(context.Background(), []byte(`{}`))
	if err != nil || status != 201 || string(body) != "buffered" {
		t.Fatalf("Call = %d %q %v; want 201 buffered", status, body, err)
	}
}

// F2: a request body buffered by buffer_request counts too; it is the
// client's body, so 413.
func TestBufferedRequestOverCap(t *testing.T) {
	h, _ := newHost(t, Config{})
	p := load(t, h, bigSpec(t, Middleware, "3"))
	body := io.LimitReader(zeroReader{}, 8<<20)
	wantShort(t, do(p.Middleware(http.NotFoundHandler()), "POST", "/", body), 413, `{"error":"request body too large"}`+"\n")
}

// wantShort is wantResponse that prints at most 200 bytes of a wrong body.
func wantShort(t *testing.T, w *httptest.ResponseRecorder, status int, body string) {
	t.Helper()
	if got := w.Body.String(); w.Code != status || got != body {
		t.Fatalf("response = %d %q (%d bytes); want %d %q", w.Code, got[:min(len(got), 200)], len(got), status, body)
	}
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}
