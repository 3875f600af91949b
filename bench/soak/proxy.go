package main

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// pgProxy is one instance's way to Postgres: a TCP listener on loopback
// that forwards each connection to the cluster's unix socket. The checker
// cuts an instance off its database with it (every open connection dropped,
// new ones refused for a while) without touching the other instances.
type pgProxy struct {
	ln     net.Listener
	socket string

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	refusing time.Time // new connections are closed at once until then
	closed   bool
}

func newPGProxy(socket string) (*pgProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("postgres proxy: %w", err)
	}
	p := &pgProxy{ln: ln, socket: socket, conns: map[net.Conn]struct{}{}}
	go p.accept()
	return p, nil
}

// addr is where the instance connects ("127.0.0.1:port").
func (p *pgProxy) addr() string { return p.ln.Addr().String() }

func (p *pgProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.closed || time.Now().Before(p.refusing)
		if !refuse {
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		go p.pipe(c)
	}
}

func (p *pgProxy) pipe(c net.Conn) {
	defer p.forget(c)
	up, err := net.Dial("unix", p.socket)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	defer p.forget(up)
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done // either side ends both
}

func (p *pgProxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// cut drops every connection through the proxy and refuses new ones for d.
func (p *pgProxy) cut(d time.Duration) {
	p.mu.Lock()
	p.refusing = time.Now().Add(d)
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

func (p *pgProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.cut(0)
}
