// Package observe stores what the server traces, in Mastra's shapes, so
// Mastra's observability routes (and Studio's Traces page) can read it
// back: a span per agent turn (agent_run), model call (model_generation),
// tool call (tool_call), workflow step (workflow_step, under a
// workflow_run root per run) and plugin call made inside them (generic).
//
// Spans are recorded when they end and handed to a bounded queue; one
// goroutine writes them in batches (memory.Store.SaveSpans), so a turn
// never waits for the database. The writer is woken when a batch is full
// or the flush interval passes, not for every span: a goroutine's wake-up
// per span was a share of a turn's CPU. When the queue is full a span is dropped
// and counted, not waited for. A second loop deletes spans past the
// retention.
//
// Like host/metrics and host/tracing, the Recorder implements the observer
// interfaces of the packages it watches; they do not import it. Placed
// after the tracing observer, it reuses the OpenTelemetry trace and span
// ids, so a stored trace and the exported one are the same trace.
package observe

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
)

// Store is where spans go: memory.Store.
type Store interface {
	SaveSpans(ctx context.Context, spans []memory.Span) error
	SaveMetrics(ctx context.Context, ms []memory.MetricEvent) error
	PruneSpans(ctx context.Context, cutoff time.Time, limit int) (int64, error)
	PruneObservabilityEvents(ctx context.Context, cutoff time.Time) error
	SaveScore(ctx context.Context, sc memory.Score) error
	SaveLogs(ctx context.Context, logs []memory.LogEvent) error
}

// Options configures New. Zero sizes and intervals are not defaults: the
// configuration's ([observability]) are the only ones.
type Options struct {
	Store Store
	// CaptureContent stores inputs and outputs (messages, tool arguments
	// and results).
	CaptureContent bool
	// QueueSize bounds the spans waiting; BatchSize is the most written in
	// one statement; FlushInterval is the longest one waits.
	QueueSize, BatchSize int
	FlushInterval        time.Duration
	// Retention deletes spans older than it; 0 keeps them.
	Retention time.Duration
	// ServiceName is every span's serviceName.
	ServiceName string
	// OTelIDs reuses the ids of the OpenTelemetry span each observed
	// operation runs in (the tracing observer runs first).
	OTelIDs bool
	// Scorers are each agent's scorers, by agent id; WorkflowScorers each
	// workflow's, by workflow id; AllScorers every configured one (those
	// attached to nothing can still grade a stored trace on request).
	Scorers, WorkflowScorers map[string][]*Scorer
	AllScorers               []*Scorer
	Logger                   *slog.Logger
}

// Recorder records spans and writes them. Start it, then Close it.
type Recorder struct {
	o Options

	mu     sync.Mutex // guards queued
	queued []*pending // at most o.QueueSize
	// full wakes the writer when a batch is queued.
	full chan struct{}

	dropped, written, failed atomic.Uint64

	// scores queues replies to grade (scorejobs.go); queue, when set,
	// keeps them durably; budget charges judges' tokens.
	scores                                           chan ScoreJob
	queue                                            atomic.Pointer[ScoreQueue]
	budget                                           atomic.Pointer[TokenBudget]
	scored, scoresDropped, scoresFailed, judgeFailed atomic.Uint64

	// logs queues log lines of runs (logs.go).
	logs        chan memory.LogEvent
	logsDropped atomic.Uint64

	stop context.CancelFunc
	wg   sync.WaitGroup
}

const scoreLoops = 2

// New returns a recorder; nothing is written until Start.
func New(o Options) *Recorder {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.QueueSize < 1 {
		o.QueueSize = 1
	}
	if o.BatchSize < 1 {
		o.BatchSize = 1
	}
	return &Recorder{o: o, full: make(chan struct{}, 1), scores: make(chan ScoreJob, o.QueueSize),
		logs: make(chan memory.LogEvent, o.QueueSize)}
}

// Start runs the writer and the retention loop until Close.
func (r *Recorder) Start(ctx context.Context) {
	ctx, r.stop = context.WithCancel(context.WithoutCancel(ctx))
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.writeLoop(ctx)
	}()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.logLoop(ctx)
	}()
	// Two score loops, as River works two score jobs at once: a slow judge
	// holds one, not every score (SQLite grades in these loops).
	for range scoreLoops {
		if !r.HasScorers() {
			break
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.scoreLoop(ctx)
		}()
	}
	if r.o.Retention > 0 {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.pruneLoop(ctx)
		}()
	}
}

// Close writes the spans still queued, waiting at most until ctx is done,
// and stops.
func (r *Recorder) Close(ctx context.Context) {
	if r.stop == nil {
		return
	}
	r.stop()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Dropped counts the spans dropped because the queue was full; Written
// those stored; Failed those lost to a write error.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }
func (r *Recorder) Written() uint64 { return r.written.Load() }
func (r *Recorder) Failed() uint64  { return r.failed.Load() }

// Scored counts the scores stored (failed judges included); ScoresDropped
// the replies not graded because the scorer queue was full; ScoresFailed
// the scores lost to a write error; JudgeFailed the scores recorded as
// failed because the scorer (its judge model) failed.
func (r *Recorder) Scored() uint64        { return r.scored.Load() }
func (r *Recorder) ScoresDropped() uint64 { return r.scoresDropped.Load() }
func (r *Recorder) ScoresFailed() uint64  { return r.scoresFailed.Load() }
func (r *Recorder) JudgeFailed() uint64   { return r.judgeFailed.Load() }

// enqueue hands a span to the writer, or drops it when the queue is full:
// a slow database must never hold a turn.
func (r *Recorder) enqueue(sp *pending) {
	r.mu.Lock()
	n := len(r.queued)
	if n < r.o.QueueSize {
		r.queued = append(r.queued, sp)
		n++
	} else {
		n = -1
	}
	r.mu.Unlock()
	switch {
	case n < 0:
		r.dropped.Add(1)
	case n >= r.o.BatchSize:
		select {
		case r.full <- struct{}{}:
		default: // the writer is awake already, or will be
		}
	}
}

// take moves the oldest queued spans, a batch at most, into batch: none
// when fewer than least are queued.
func (r *Recorder) take(batch []*pending, least int) []*pending {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queued) < max(least, 1) {
		return batch[:0]
	}
	n := min(len(r.queued), r.o.BatchSize)
	batch = append(batch[:0], r.queued[:n]...)
	rest := copy(r.queued, r.queued[n:])
	clear(r.queued[rest:]) // written spans are not kept alive
	r.queued = r.queued[:rest]
	return batch
}

func (r *Recorder) writeLoop(ctx context.Context) {
	batch := make([]*pending, 0, r.o.BatchSize)
	timer := time.NewTimer(r.o.FlushInterval)
	defer timer.Stop()
	// flush writes what is queued, in batches, while least are queued.
	flush := func(least int) {
		for {
			if batch = r.take(batch, least); len(batch) == 0 {
				return
			}
			r.write(batch)
			clear(batch)
		}
	}
	for {
		select {
		case <-r.full:
			flush(r.o.BatchSize)
		case <-timer.C:
			flush(1)
			timer.Reset(r.o.FlushInterval)
		case <-ctx.Done():
			// Write what is queued now; later spans are dropped.
			flush(1)
			return
		}
	}
}

// write stores one batch. A failed batch is logged and counted, not
// retried: the next batches must not queue behind a database that is down.
func (r *Recorder) write(pend []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	batch := make([]memory.Span, 0, len(pend))
	for _, p := range pend {
		if !p.metricOnly {
			batch = append(batch, p.Span)
		}
	}
	if len(batch) > 0 {
		if err := r.o.Store.SaveSpans(ctx, batch); err != nil {
			r.failed.Add(uint64(len(batch)))
			r.o.Logger.Warn("observability: spans not stored", "spans", len(batch), "err", err)
			return
		}
		r.written.Add(uint64(len(batch)))
	}
	ms := make([]memory.MetricEvent, 0, 2*len(pend)) // about 2 a span: a turn has 2 spans and 4 events
	for _, p := range pend {
		ms = appendMetrics(ms, p)
	}
	if err := r.o.Store.SaveMetrics(ctx, ms); err != nil {
		r.o.Logger.Warn("observability: metrics not stored", "metrics", len(ms), "err", err)
	}
}

// pruneLoop deletes spans past the retention, at most every tenth of it
// (and at least hourly), in chunks.
func (r *Recorder) pruneLoop(ctx context.Context) {
	every := min(r.o.Retention/10, time.Hour)
	every = max(every, time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	// The first delete waits one period: the recorder starts before the
	// first migration, and on a fresh database the tables are not there yet.
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.prune(ctx)
	}
}

const pruneChunk = 5000

func (r *Recorder) prune(ctx context.Context) {
	cutoff := time.Now().Add(-r.o.Retention)
	for ctx.Err() == nil {
		n, err := r.o.Store.PruneSpans(ctx, cutoff, pruneChunk)
		if err != nil {
			if ctx.Err() == nil {
				r.o.Logger.Warn("observability: retention delete failed", "err", err)
			}
			return
		}
		if n < pruneChunk {
			break
		}
	}
	if err := r.o.Store.PruneObservabilityEvents(ctx, cutoff); err != nil && ctx.Err() == nil {
		r.o.Logger.Warn("observability: retention delete failed", "err", err)
	}
}
