package runlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/follow"
	"github.com/mastra-server/mastra-server/internal/wakeup"
)

// Errors of Start and Follow.
var (
	// ErrTaken is a run id already logged for another resource, or for a
	// run still running.
	ErrTaken = errors.New("runlog: run id taken")
	// ErrLost is a run this instance no longer holds: its lease expired
	// and another instance ended it.
	ErrLost = errors.New("runlog: run no longer held")
	// ErrNotFound is a run that is not logged.
	ErrNotFound = errors.New("runlog: run not found")
)

// Options configure a Log.
type Options struct {
	Store *memory.Store
	// Lease is how long a run's lease holds without a renewal; renewals
	// come every third of it. Default 6 s.
	Lease time.Duration
	// Retention is how long an ended run's chunks are kept. Default 10 min.
	Retention time.Duration
	// FlushInterval is the least time between two batches of this
	// instance's writes; 0 writes as soon as the previous batch is done.
	FlushInterval time.Duration
	// PollInterval is how often a follower looks at the database without
	// a notification. Default 1 s.
	PollInterval time.Duration
	// Terminate returns the chunks that end run runID whose runner was
	// lost, given the chunks it logged. Required.
	Terminate func(runID string, logged [][]byte) [][]byte
	Logger    *slog.Logger
}

// Run names a run to log.
type Run struct {
	RunID, ResourceID, AgentID, ThreadID string
}

// Log is this instance's side of the stream log. It is safe for concurrent
// use. Close it.
type Log struct {
	o     Options
	store *memory.Store // for its database and its notifications
	db    *db
	owner string
	hub   *wakeup.Hub
	log   *slog.Logger

	mu    sync.Mutex // guards local, started, done and batchEnd
	local map[string]*Writer
	// started and done count the batches begun and finished; batchEnd is
	// closed when one finishes, then replaced.
	started, done uint64
	batchEnd      chan struct{}
	kick          chan struct{} // something waits to be written

	// readers holds one reader per followed run of another instance, by
	// run id, resource and creation (reader.go).
	readers *follow.Group[string]

	listening atomic.Bool
	stop      context.CancelFunc // ends the background work (Close)
	bg        sync.WaitGroup
}

// Open starts the log's background work: lease renewals, pruning, and on
// Postgres the notification listener.
func Open(o Options) (*Log, error) {
	if o.Store == nil || o.Terminate == nil {
		return nil, errors.New("runlog: Store and Terminate are required")
	}
	if o.Lease <= 0 {
		o.Lease = 6 * time.Second
	}
	if o.Retention <= 0 {
		o.Retention = 10 * time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	hub := wakeup.NewHub()
	l := &Log{o: o, store: o.Store, db: &db{bun: o.Store.DB(), pg: o.Store.Kind() == "postgres"}, hub: hub, log: o.Logger, local: map[string]*Writer{},
		readers: follow.NewGroup[string](hub, o.PollInterval),
		// A fresh owner per process: a restarted instance must not renew
		// the leases of the runs its previous life lost.
		owner: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))}
	l.batchEnd, l.kick = make(chan struct{}), make(chan struct{}, 1)
	ctx, stop := context.WithCancel(context.Background())
	l.stop = stop
	l.goBackground(func() { l.batchLoop(ctx) })
	l.goBackground(func() { l.renewLoop(ctx) })
	l.goBackground(func() { l.pruneLoop(ctx) })
	if o.Store.Kind() == "postgres" {
		l.goBackground(func() { l.listenLoop(ctx) })
	}
	return l, nil
}

func (l *Log) goBackground(f func()) {
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		f()
	}()
}

// Close stops the background work. Runs still being written are not
// waited for: End them first (End waits until its run is written).
func (l *Log) Close() {
	l.stop()
	l.readers.Close()
	l.bg.Wait()
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// Start logs a new run held by this instance, before anything runs: a
// client given its id can always reconnect, and if this instance dies the
// run ends with an error for whoever follows it. A run id taken is
// ErrTaken.
func (l *Log) Start(ctx context.Context, run Run) (*Writer, error) {
	now := time.Now()
	w := &Writer{l: l, run: run, createdAt: ms(now), changed: make(chan struct{}), lost: make(chan struct{})}
	err := l.db.createRun(ctx, Info{Run: run, Owner: l.owner, LeaseUntil: ms(now.Add(l.o.Lease)), CreatedAt: w.createdAt})
	if errors.Is(err, errConflict) {
		return nil, ErrTaken
	}
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.local[run.RunID] = w
	l.mu.Unlock()
	return w, nil
}

// Info returns a logged run; ErrNotFound when there is none.
func (l *Log) Info(ctx context.Context, runID string) (Info, error) {
	return l.db.info(ctx, runID)
}

// Running returns the id of the newest running run of a thread by an
// agent for a resource; ErrNotFound when there is none.
func (l *Log) Running(ctx context.Context, resourceID, agentID, threadID string) (string, error) {
	l.mu.Lock()
	var found *Writer
	for _, w := range l.local {
		if w.run.ThreadID == threadID && w.run.ResourceID == resourceID && w.run.AgentID == agentID &&
			(found == nil || w.createdAt > found.createdAt) {
			found = w
		}
	}
	l.mu.Unlock()
	if found != nil {
		return found.run.RunID, nil
	}
	return l.db.running(ctx, resourceID, agentID, threadID)
}

// Writer writes one run's chunks. Append is safe for concurrent use with
// Follow; Append, Hold and End are called by the run's one goroutine.
type Writer struct {
	l         *Log
	run       Run
	createdAt int64

	mu      sync.Mutex // guards the fields below
	chunks  [][]byte   // every chunk; chunks[i] has sequence number i+1
	logged  int        // how many of chunks are in the database
	final   bool       // the run is ended in the database
	gone    bool       // lost: the database has another end
	status  string     // the end End asked for; "" while running
	failed  error      // the last batch's error, nil once one succeeds
	changed chan struct{}
	lost    chan struct{} // closed when gone
}

// Append adds a chunk and returns its sequence number. It never waits for
// the database: the chunk goes with the instance's next batch.
func (w *Writer) Append(chunk []byte) int64 {
	w.mu.Lock()
	w.chunks = append(w.chunks, chunk)
	seq := int64(len(w.chunks))
	w.mu.Unlock()
	w.l.wake()
	return seq
}

// Lost is closed when the run is lost (see ErrLost).
func (w *Writer) Lost() <-chan struct{} { return w.lost }

// Hold waits until every chunk appended so far is written, which renews
// the lease: the check a runner makes just before saving its turn. ErrLost
// means another instance ended the run and the turn must not be saved.
// It waits for the next batch, so at most a flush interval and a write.
func (w *Writer) Hold(ctx context.Context) error {
	w.mu.Lock()
	want := len(w.chunks)
	w.mu.Unlock()
	return w.waitWritten(ctx, func() bool { return w.logged >= want }, false)
}

// End asks for the run's end (failed: the turn failed or was stopped) to
// be written after its chunks, and waits until it is, or until the lease
// has passed with the database away. It returns ErrLost when another
// instance ended the run first.
func (w *Writer) End(failed bool) error {
	w.mu.Lock()
	w.status = StatusDone
	if failed {
		w.status = StatusFailed
	}
	w.mu.Unlock()
	w.l.wake()
	ctx, cancel := context.WithTimeout(context.Background(), w.l.o.Lease+time.Second)
	defer cancel()
	err := w.waitWritten(ctx, func() bool { return w.final }, true)
	if err != nil {
		w.l.drop(w) // given up: the lease ends it for the others
	}
	return err
}

// waitWritten waits for batches until done (read under w.mu) holds, the
// run is lost, or ctx ends. A batch that failed is its error, unless retry.
func (w *Writer) waitWritten(ctx context.Context, done func() bool, retry bool) error {
	for {
		w.mu.Lock()
		ok, gone := done(), w.gone
		w.mu.Unlock()
		switch {
		case gone:
			return ErrLost
		case ok:
			return nil
		}
		if err := w.l.waitBatch(ctx); err != nil {
			return err
		}
		w.mu.Lock()
		ok, gone, failed := done(), w.gone, w.failed
		w.mu.Unlock()
		if failed != nil && !ok && !gone && !retry {
			return failed
		}
	}
}

// Abort deletes a run that never sent a chunk.
func (w *Writer) Abort(ctx context.Context) error {
	w.l.drop(w)
	err := w.l.db.deleteRun(context.WithoutCancel(ctx), w.run.RunID)
	// Its local followers stop waiting on it and go to the database,
	// which no longer has the run.
	w.mu.Lock()
	if !w.gone {
		w.gone = true
		close(w.lost)
		close(w.changed)
		w.changed = make(chan struct{})
	}
	w.mu.Unlock()
	return err
}

// wake asks for a batch.
func (l *Log) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// waitBatch asks for a batch and waits until one that began after the
// call has finished.
func (l *Log) waitBatch(ctx context.Context) error {
	l.mu.Lock()
	target := l.started + 1
	l.mu.Unlock()
	l.wake()
	for {
		l.mu.Lock()
		finished, end := l.done >= target, l.batchEnd
		l.mu.Unlock()
		if finished {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end:
		}
	}
}

func (l *Log) drop(w *Writer) {
	l.mu.Lock()
	if l.local[w.run.RunID] == w {
		delete(l.local, w.run.RunID)
	}
	l.mu.Unlock()
}

// batchLoop writes every local run's pending chunks in one statement, at
// most once per flush interval, whenever something is pending.
func (l *Log) batchLoop(ctx context.Context) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.kick:
		}
		if wait := l.o.FlushInterval - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		if l.batch(ctx) {
			// It failed: the chunks are still pending. Try again, not
			// faster than a tenth of the lease.
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(l.o.Lease/10, 200*time.Millisecond)):
			}
			l.wake()
		}
	}
}

// pending is a writer's part of a batch.
type pending struct {
	w      *Writer
	n      int // chunks in the batch
	status string
}

// batch writes one batch; failed reports a database error.
func (l *Log) batch(ctx context.Context) (failed bool) {
	l.mu.Lock()
	ws := make([]*Writer, 0, len(l.local))
	for _, w := range l.local {
		ws = append(ws, w)
	}
	l.started++
	l.mu.Unlock()

	var items []appendItem
	var parts []pending
	for _, w := range ws {
		w.mu.Lock()
		it := appendItem{RunID: w.run.RunID, After: int64(w.logged),
			Chunks: w.chunks[w.logged:len(w.chunks):len(w.chunks)], Status: StatusRunning}
		if w.status != "" {
			it.Status = w.status
		}
		skip := w.final || w.gone || (len(it.Chunks) == 0 && w.status == "")
		w.mu.Unlock()
		if skip {
			continue
		}
		items = append(items, it)
		parts = append(parts, pending{w: w, n: len(it.Chunks), status: it.Status})
	}
	var held map[string]bool
	var err error
	if len(items) > 0 {
		now := time.Now()
		wctx, cancel := context.WithTimeout(ctx, l.o.Lease)
		held, err = l.db.appendRuns(wctx, l.owner, ms(now.Add(l.o.Lease)), ms(now), items)
		cancel()
		if err != nil && ctx.Err() == nil {
			l.log.Warn("runlog: writing streams' chunks failed; will retry", "runs", len(items), "err", err)
		}
	}
	// A run that missed may have taken an earlier batch that this
	// instance gave up on: after a timeout the server can still run it.
	landed := map[*Writer]Info{}
	var checkErr error
	for i, p := range parts {
		if err != nil || held[p.w.run.RunID] {
			continue
		}
		info, ok, cerr := l.landedEarlier(ctx, p.w, items[i])
		switch {
		case cerr != nil:
			checkErr = cerr
		case ok:
			landed[p.w] = info
		}
	}
	more := false
	for _, p := range parts {
		w := p.w
		info, wasLanded := landed[w]
		w.mu.Lock()
		switch {
		case err != nil:
			w.failed = err
		case held[w.run.RunID]:
			w.failed = nil
			w.logged += p.n
			w.final = p.status != StatusRunning
		case wasLanded:
			w.failed = nil
			w.logged = int(info.LastSeq)
			w.final = info.Status != StatusRunning
			more = more || !w.final
		case checkErr != nil:
			// Whether it is lost is unknown: try again.
			w.failed = checkErr
		default:
			w.gone = true
			close(w.lost)
		}
		close(w.changed)
		w.changed = make(chan struct{})
		final, gone := w.final, w.gone
		w.mu.Unlock()
		if err == nil {
			l.hub.Signal(w.run.RunID)
		}
		if final || gone {
			l.drop(w)
		}
	}
	l.mu.Lock()
	l.done++
	close(l.batchEnd)
	l.batchEnd = make(chan struct{})
	l.mu.Unlock()
	if more {
		l.wake() // the rest of what landed runs sent
	}
	return err != nil || checkErr != nil
}

// landedEarlier reports whether run w, which missed batch item it, missed
// because an earlier batch of it landed after all: the run is still this
// instance's, and its log ends within the chunks it sent (chunk seq is
// always w's chunk seq, so they are the same) and is still running, or
// ended as it asked. info is the run as logged.
func (l *Log) landedEarlier(ctx context.Context, w *Writer, it appendItem) (Info, bool, error) {
	rctx, cancel := context.WithTimeout(ctx, l.o.Lease)
	defer cancel()
	info, err := l.db.info(rctx, it.RunID)
	if errors.Is(err, ErrNotFound) {
		return info, false, nil
	}
	if err != nil {
		return info, false, err
	}
	end := it.After + int64(len(it.Chunks))
	ok := info.Owner == l.owner && info.CreatedAt == w.createdAt &&
		((info.Status == StatusRunning && info.LastSeq > it.After && info.LastSeq <= end) ||
			(info.Status == it.Status && info.LastSeq == end))
	return info, ok, nil
}

// Follow calls fn with each chunk of run runID after sequence number
// after, in order, first those logged and then live ones as they are
// logged, and returns nil once the run has ended and fn has had its last
// chunk. It returns fn's error, ctx's, or the database's. The caller has
// checked run exists and may be read (Info), and Follow reads that run
// only: ids are reused (a client may choose them), so a run deleted under
// the follower and logged again under its id, maybe for another resource,
// ends the follow with ErrNotFound rather than being read.
func (l *Log) Follow(ctx context.Context, run Info, after int64, fn func(seq int64, chunk []byte) error) error {
	runID := run.RunID
	l.mu.Lock()
	w := l.local[runID]
	l.mu.Unlock()
	if w != nil && !sameRun(w.run.ResourceID, w.createdAt, run) {
		w = nil
	}
	if w != nil {
		var ended bool
		var err error
		if after, ended, err = w.follow(ctx, after, fn); err != nil || ended {
			return err
		}
		// Lost: the database holds the run's end.
	}
	return l.followDB(ctx, run, after, fn)
}

// sameRun reports whether the run of resource res created at createdAt is
// run: the same id logged again is another run.
func sameRun(res string, createdAt int64, run Info) bool {
	return res == run.ResourceID && createdAt == run.CreatedAt
}

// follow reads a local run from memory, as far as it is logged (so that
// what a follower gets is what any instance would give it). ended is false
// when the run was lost.
func (w *Writer) follow(ctx context.Context, after int64, fn func(int64, []byte) error) (int64, bool, error) {
	for {
		w.mu.Lock()
		var batch [][]byte
		if int(after) < w.logged {
			batch = w.chunks[after:w.logged]
		}
		final, gone, changed := w.final, w.gone, w.changed
		w.mu.Unlock()
		for _, c := range batch {
			after++
			if err := fn(after, c); err != nil {
				return after, false, err
			}
		}
		if len(batch) > 0 {
			continue
		}
		switch {
		case final:
			return after, true, nil
		case gone:
			return after, false, nil
		}
		select {
		case <-ctx.Done():
			return after, false, ctx.Err()
		case <-changed:
		}
	}
}

// LostGap is how far the sequence numbers of the chunks that end a lost
// run jump past its last logged one. A runner sends its client each chunk
// as it logs it, so a client may hold chunks the dead runner never logged;
// its Last-Event-ID is then past the log's end, and chunks numbered right
// after the log would be skipped as already seen. No runner gets 2^20
// chunks ahead of its log within one lease.
const LostGap = 1 << 20

// failLost ends a run whose lease expired: its chunks, then those of
// Terminate, as this instance.
func (l *Log) failLost(ctx context.Context, info Info) error {
	var all [][]byte
	for after := int64(0); after < info.LastSeq; {
		chunks, err := l.db.chunks(ctx, info.RunID, after, 500)
		if err != nil {
			return err
		}
		if len(chunks) == 0 {
			break
		}
		for _, c := range chunks {
			all = append(all, c.Data)
			after = c.Seq
		}
	}
	ok, err := l.db.failRun(ctx, info.RunID, l.owner, info.LastSeq, info.LastSeq+LostGap, l.o.Terminate(info.RunID, all), ms(time.Now()))
	if err != nil {
		return err
	}
	if ok {
		l.log.Warn("runlog: a stream's runner stopped renewing its lease; the stream was ended with an error",
			"run", info.RunID, "runner", info.Owner)
		l.hub.Signal(info.RunID)
	}
	return nil
}

// renewLoop renews the leases of this instance's runs every third of the
// lease, in one statement.
func (l *Log) renewLoop(ctx context.Context) {
	t := time.NewTicker(l.o.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		ids := make([]string, 0, len(l.local))
		for id := range l.local {
			ids = append(ids, id)
		}
		l.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, l.o.Lease/3)
		err := l.db.renewLeases(rctx, l.owner, ids, ms(time.Now().Add(l.o.Lease)))
		cancel()
		if err != nil && ctx.Err() == nil {
			l.log.Warn("runlog: renewing stream leases failed", "runs", len(ids), "err", err)
		}
	}
}

// pruneLoop deletes ended runs older than the retention.
func (l *Log) pruneLoop(ctx context.Context) {
	every := min(l.o.Retention/4, time.Minute)
	// Not at once: a process that only opens the store to check it
	// (mastra-server validate, no migrations) has no tables to prune.
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := l.db.prune(pctx, ms(time.Now().Add(-l.o.Retention)))
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			l.log.Warn("runlog: pruning ended streams failed", "err", err)
		case n > 0:
			l.log.Debug("runlog: pruned ended streams", "runs", n)
		}
		t.Reset(every)
	}
}

// listenLoop relays notifications of logged chunks (from any instance) to
// this instance's followers, reconnecting when cut; followers poll in the
// meantime.
func (l *Log) listenLoop(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		err := l.store.ListenStreams(ctx, func() { l.listening.Store(true); failures = 0 }, func(payload string) {
			if payload == "*" {
				l.hub.SignalAll()
				return
			}
			for _, id := range strings.Fields(payload) {
				l.hub.Signal(id)
			}
		})
		l.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		if failures%60 == 0 { // at once, then once a minute
			l.log.Warn("runlog: listening for stream chunks failed; followers poll until it is back", "err", err)
		}
		failures++
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Listening reports whether notifications are being received (Postgres).
func (l *Log) Listening() bool { return l.listening.Load() }
