package transport

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Two tool calls side by side are one wait, not two: the wait a request
// reports never exceeds the time from the first call's start to the last
// one's end, which a sum of the two would.
func TestOverlappingWaitsCountOnce(t *testing.T) {
	var wait time.Duration
	var n int
	var span time.Duration
	h := Entry(EntryOptions{Log: quiet(), Observers: []Observer{waitReader{&wait, &n}}})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			t0 := time.Now()
			BeginWait(ctx)
			BeginWait(ctx)
			time.Sleep(20 * time.Millisecond)
			EndWait(ctx)
			EndWait(ctx)
			span = time.Since(t0)
			EndWait(ctx) // one too many: ignored
		}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	if n != 2 {
		t.Errorf("waits = %d; want 2", n)
	}
	if wait <= 0 || wait > span {
		t.Errorf("wait = %v; want above 0 and at most the %v between the first start and the last end", wait, span)
	}
	// Outside Entry the calls do nothing.
	BeginWait(context.Background())
	EndWait(context.Background())
}

type waitReader struct {
	wait *time.Duration
	n    *int
}

func (waitReader) Start(r *http.Request, _ *Info) context.Context { return r.Context() }
func (waitReader) StreamStarted(*Info)                            {}
func (o waitReader) End(_ context.Context, info *Info)            { *o.wait, *o.n = info.Wait() }
