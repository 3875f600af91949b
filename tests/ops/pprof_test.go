package ops_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// [server] pprof_addr serves Go's profiler on that address only; without
// it the server opens no listener besides the API's.
func TestPprofOwnListener(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads this process's listening sockets from /proc")
	}
	fake := llmtest.NewServer(t, script)
	// serve runs s.app.Serve on a listener of its own and returns the API's
	// URL and the ports this process listens on once it answers.
	serve := func(t *testing.T, s *server) (string, []int) {
		api, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.app.Serve(ctx, api) }()
		t.Cleanup(func() {
			cancel()
			<-done
		})
		url := "http://" + api.Addr().String()
		waitUp(t, url+"/health")
		return url, listening(t)
	}

	t.Run("unset", func(t *testing.T) {
		s := start(t, baseTOML(t, fake))
		before := listening(t)
		url, during := serve(t, s)
		port := portOf(t, strings.TrimPrefix(url, "http://"))
		if want := slices.Sorted(slices.Values(append(before, port))); !slices.Equal(during, want) {
			t.Errorf("serving without pprof_addr, this process listens on %v; want %v (before, and the API's %d)", during, want, port)
		}
		if r := do(t, "GET", url+"/debug/pprof/", ""); r.status != 404 {
			t.Errorf("GET /debug/pprof/ on the API listener = %d; want 404", r.status)
		}
	})

	t.Run("set", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // free for the server to take; nothing else here binds ports
		s := start(t, baseTOML(t, fake), "MASTRA_SERVER__PPROF_ADDR="+addr)
		url, during := serve(t, s)
		if !slices.Contains(during, portOf(t, addr)) {
			t.Errorf("this process listens on %v; want pprof_addr's port among them", during)
		}
		r := do(t, "GET", "http://"+addr+"/debug/pprof/", "")
		if r.status != 200 || !strings.Contains(string(r.body), "goroutine") {
			t.Errorf("GET /debug/pprof/ on pprof_addr = %d %.200s; want 200 and the profile index", r.status, r.body)
		}
		r = do(t, "GET", "http://"+addr+"/debug/pprof/goroutine?debug=1", "")
		if r.status != 200 || !strings.Contains(string(r.body), "goroutine profile:") {
			t.Errorf("GET /debug/pprof/goroutine?debug=1 = %d %.200s; want the goroutine profile", r.status, r.body)
		}
		if r := do(t, "GET", url+"/debug/pprof/", ""); r.status != 404 {
			t.Errorf("GET /debug/pprof/ on the API listener = %d; want 404", r.status)
		}
	})
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// listening lists, sorted, the TCP ports this process's own sockets
// listen on: /proc/net/tcp{,6} rows in state LISTEN whose inode is one of
// the sockets in /proc/self/fd.
func listening(t *testing.T) []int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(l, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var ports []int
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue // no IPv6
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !mine[fields[9]] {
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
				ports = append(ports, int(p))
			}
		}
		f.Close()
	}
	slices.Sort(ports)
	return ports
}
