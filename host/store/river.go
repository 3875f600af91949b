package store

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// River is River's driver on the process's pool. Its notifier listens on
// the instance's one LISTEN connection (Listen) rather than on a pool
// connection of its own, which would be a second LISTEN connection per
// instance, held out of the pool for good. nil on SQLite.
func (d *DB) River() riverdriver.Driver[pgx.Tx] {
	if d.pool == nil {
		return nil
	}
	return riverDriver{Driver: riverpgxv5.New(d.pool), db: d}
}

type riverDriver struct {
	*riverpgxv5.Driver
	db *DB
}

func (r riverDriver) GetListener(p *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &riverListener{db: r.db, schema: p.Schema}
}

// riverNoteQueue is how many notifications wait for River's notifier.
// They are hints (a job was inserted, leadership changed): past the queue
// they are dropped and River finds the jobs at its next fetch poll.
const riverNoteQueue = 256

// riverListener is riverdriver.Listener over the shared listener: a topic
// is a subscription to "<schema>.<topic>", as riverpgxv5 names channels.
type riverListener struct {
	db     *DB
	schema string

	mu     sync.Mutex
	prefix string
	subs   map[string]*sub // by topic; nil until Connect
	notes  chan *riverdriver.Notification
	failed chan error // the connection failed (buffered 1)
}

func (l *riverListener) Connect(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.subs != nil {
		return errors.New("connection already established")
	}
	if l.schema == "" {
		if err := l.db.pool.QueryRow(ctx, "SELECT coalesce(current_schema(), '')").Scan(&l.schema); err != nil {
			return err
		}
	}
	l.prefix = ""
	if l.schema != "" {
		l.prefix = l.schema + "."
	}
	l.subs = map[string]*sub{}
	l.notes = make(chan *riverdriver.Notification, riverNoteQueue)
	l.failed = make(chan error, 1)
	return nil
}

func (l *riverListener) Close(ctx context.Context) error {
	l.mu.Lock()
	subs := l.subs
	l.subs = nil
	l.mu.Unlock()
	if len(subs) > 0 {
		lis := l.db.listener()
		for _, s := range subs {
			lis.remove(s)
		}
	}
	return nil
}

// Listen returns once the topic is listened to, or the connection's error.
func (l *riverListener) Listen(ctx context.Context, topic string) error {
	l.mu.Lock()
	if l.subs == nil {
		l.mu.Unlock()
		return errors.New("not connected")
	}
	if l.subs[topic] != nil {
		l.mu.Unlock()
		return nil
	}
	notes, failed := l.notes, l.failed
	ready := make(chan struct{})
	s := &sub{channel: l.prefix + topic, ready: func() { close(ready) },
		fn: func(payload string) {
			select {
			case notes <- &riverdriver.Notification{Topic: topic, Payload: payload}:
			default:
			}
		},
		fail: func(err error) {
			select {
			case failed <- err:
			default:
			}
		}}
	l.subs[topic] = s
	l.mu.Unlock()
	l.db.listener().add(s)
	select {
	case <-ready:
		return nil
	case err := <-failed:
		select {
		case failed <- err: // WaitForNotification reports it too
		default:
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *riverListener) Unlisten(ctx context.Context, topic string) error {
	l.mu.Lock()
	s := l.subs[topic]
	delete(l.subs, topic)
	l.mu.Unlock()
	if s != nil {
		l.db.listener().remove(s)
	}
	return nil
}

func (l *riverListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	l.mu.Lock()
	notes, failed := l.notes, l.failed
	l.mu.Unlock()
	if notes == nil {
		return nil, errors.New("not connected")
	}
	select {
	case n := <-notes:
		return n, nil
	case err := <-failed:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *riverListener) Ping(ctx context.Context) error { return l.db.pool.Ping(ctx) }

func (l *riverListener) Schema() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.schema
}

// SetAfterConnectExec is for River's own tests (a statement run on the
// listener's connection after it connects); the shared connection runs
// none.
func (l *riverListener) SetAfterConnectExec(string) {}
