package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// ErrNoListen is Listen on SQLite, which has no notifications.
var ErrNoListen = errors.New("store: notifications need Postgres")

// Listen calls fn with the payload of every notification on channel, until
// ctx is done (it returns ctx's error) or the instance's LISTEN connection
// fails (it returns that error; the caller polls and listens again). ready
// is called once channel is listened to. fn runs on the listening
// goroutine: it must not block.
//
// Every channel of the process shares one connection, outside the pool:
// the first Listen opens it, the last to leave closes it.
func (d *DB) Listen(ctx context.Context, channel string, ready func(), fn func(payload string)) error {
	if d.pool == nil {
		return ErrNoListen
	}
	done := make(chan error, 1)
	s := &sub{channel: channel, ready: ready, fn: fn, fail: func(err error) { done <- err }}
	l := d.listener()
	l.add(s)
	select {
	case err := <-done:
		return Classify(fmt.Errorf("store: listen: %w", err))
	case <-ctx.Done():
		l.remove(s)
		return ctx.Err()
	}
}

// listener is the process's listener, created by the first use.
func (d *DB) listener() *listener {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	if d.lis == nil {
		d.lis = newListener(d.pool.Config().ConnConfig)
		if d.closed {
			d.lis.closed = true
		}
	}
	return d.lis
}

// sub is one Listen call.
type sub struct {
	channel string
	ready   func()
	fn      func(string)
	fail    func(error) // the connection failed: s is removed (must not block)
	readied bool        // ready was called (listener.mu)
}

// listener owns the LISTEN connection. Its loop runs while anyone
// listens: a failure ends every Listen call, and the next call connects
// again.
type listener struct {
	cfg *pgx.ConnConfig

	mu      sync.Mutex
	subs    map[*sub]struct{}
	running bool
	closed  bool
	wake    context.CancelFunc // interrupts the loop's wait (nil: not waiting)
	stop    context.CancelFunc
	ctx     context.Context
	done    chan struct{} // the loop has ended (nil: none ran)
}

func newListener(cc *pgx.ConnConfig) *listener {
	cfg := cc.Copy()
	// Interrupting a wait (a new channel to LISTEN) must leave the
	// connection open: let a cancelled context set a read deadline (a
	// timeout, which pgconn survives) rather than send a cancel request.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	ctx, stop := context.WithCancel(context.Background())
	return &listener{cfg: cfg, subs: map[*sub]struct{}{}, ctx: ctx, stop: stop}
}

func (l *listener) add(s *sub) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		s.fail(errors.New("database is closed"))
		return
	}
	l.subs[s] = struct{}{}
	if !l.running {
		l.running = true
		l.done = make(chan struct{})
		go l.loop(l.done)
		return
	}
	l.interrupt()
}

func (l *listener) remove(s *sub) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.subs, s)
	l.interrupt()
}

// interrupt wakes the loop from its wait (l.mu held).
func (l *listener) interrupt() {
	if l.wake != nil {
		l.wake()
		l.wake = nil
	}
}

func (l *listener) close() {
	l.mu.Lock()
	l.closed = true
	done := l.done
	l.stop()
	l.mu.Unlock()
	if done != nil {
		<-done
	}
}

// failAll ends every Listen call with err and stops the loop (l.mu held).
func (l *listener) failAll(err error) {
	for s := range l.subs {
		s.fail(err)
		delete(l.subs, s)
	}
	l.running = false
}

func (l *listener) loop(done chan struct{}) {
	defer close(done)
	conn, err := pgx.ConnectConfig(l.ctx, l.cfg)
	if err != nil {
		l.mu.Lock()
		l.failAll(err)
		l.mu.Unlock()
		return
	}
	defer conn.Close(context.Background())
	listened := map[string]bool{}
	for {
		// Listen to the channels new since the last turn and tell their
		// subscribers; stop when nobody listens any more.
		l.mu.Lock()
		if len(l.subs) == 0 || l.closed {
			l.running = false
			l.mu.Unlock()
			return
		}
		var fresh []string
		for s := range l.subs {
			if !listened[s.channel] {
				fresh = append(fresh, s.channel)
				listened[s.channel] = true
			}
		}
		l.mu.Unlock()
		for _, ch := range fresh {
			if _, err := conn.Exec(l.ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
				l.mu.Lock()
				l.failAll(err)
				l.mu.Unlock()
				return
			}
		}
		l.mu.Lock()
		var readies []func()
		for s := range l.subs {
			if !s.readied && listened[s.channel] {
				s.readied = true
				if s.ready != nil {
					readies = append(readies, s.ready)
				}
			}
		}
		wctx, interrupt := context.WithCancel(l.ctx)
		l.wake = interrupt
		l.mu.Unlock()
		for _, r := range readies {
			r()
		}

		for {
			n, err := conn.WaitForNotification(wctx)
			if err != nil {
				var ne net.Error
				if wctx.Err() != nil && l.ctx.Err() == nil && !conn.IsClosed() && (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.Canceled)) {
					break // interrupted: a channel came or a subscriber left
				}
				interrupt()
				l.mu.Lock()
				l.wake = nil
				if l.ctx.Err() != nil {
					err = errors.New("database is closed")
				}
				l.failAll(err)
				l.mu.Unlock()
				return
			}
			l.mu.Lock()
			var fns []func(string)
			for s := range l.subs {
				if s.channel == n.Channel {
					fns = append(fns, s.fn)
				}
			}
			l.mu.Unlock()
			for _, fn := range fns {
				fn(n.Payload)
			}
		}
		interrupt()
	}
}
