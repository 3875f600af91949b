package plugin

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// signalWriter closes first on the first body write.
type signalWriter struct {
	http.ResponseWriter
	once  sync.Once
	first chan struct{}
}

func (s *signalWriter) Write(b []byte) (int, error) {
	s.once.Do(func() { close(s.first) })
	return s.ResponseWriter.Write(b)
}

func (s *signalWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// F8: a client that asks for a large response and never reads used to keep
// write_body blocked in the host, and the only instance pinned, for as long
// as it kept the connection open. The call's deadline now bounds the writes:
// the stalled request fails, its connection is cut, and the next request
// gets the instance.
func TestStalledReaderFreesInstance(t *testing.T) {
	h, _ := newHost(t, Config{})
	spec := bigSpec(t, Route, "0") // 64 MiB of plain writes; "/small" answers "small"
	spec.Timeout, spec.MaxInstances = 500*time.Millisecond, 1
	p := load(t, h, spec)
	writing := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w = &signalWriter{ResponseWriter: w, first: writing}
		}
		p.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()

	// A client with a tiny receive buffer that sends its request and never reads.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	stalled, err := d.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if _, err := io.WriteString(stalled, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-writing // the guest holds the only instance and is writing

	// Each try waits for the instance up to the plugin's timeout (503 then);
	// without a write deadline every try is 503 while the client stays.
	client := &http.Client{Timeout: 5 * time.Second}
	var last string
	ok := false
	for range 20 {
		res, err := client.Get(srv.URL + "/small")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 && string(b) == "small" {
			ok = true
			break
		}
		last = res.Status + " " + string(b)
	}
	if !ok {
		t.Fatalf("the stalled reader still pins the instance: last answer %q", last)
	}

	// The stalled request failed: the server cut its connection.
	if err := stalled.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, stalled)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the stalled request's connection is still open")
	}
}
