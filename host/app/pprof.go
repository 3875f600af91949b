package app

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// servePprof serves Go's profiler ([server] pprof_addr) on addr alone
// until ctx is done: /debug/pprof/ and its profiles, as `go tool pprof
// http://addr/debug/pprof/profile?seconds=30` expects them. The handlers
// go on a mux of their own: the package's init also registers them on
// http.DefaultServeMux, which nothing here serves.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // named profiles: heap, goroutine, allocs, …
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if host, _, err := net.SplitHostPort(addr); err == nil && !loopback(host) {
		// Allowed (a private network may be meant), but it answers anyone.
		log.Warn("pprof_addr is not a loopback address: the profiler has no auth", "addr", addr)
	}
	return serveAside(ctx, "pprof", addr, mux, log)
}

// loopback reports whether host (of a listen address) is a loopback name
// or address; empty (every interface) is not.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
