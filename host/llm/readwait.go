package llm

import (
	"context"
	"io"
)

// beforeReadKey is the context key of a stream's before-read hook.
type beforeReadKey struct{}

// WithBeforeRead returns ctx carrying f, which a streamed call runs each
// time it is about to read more of the provider's response from the
// network (and once when the stream ends). A server that holds the chunks
// of events which arrived together, to send them with one write, flushes
// them in f: they never wait on the provider's next bytes.
func WithBeforeRead(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, beforeReadKey{}, f)
}

// beforeRead is ctx's hook, or nil.
func beforeRead(ctx context.Context) func() {
	f, _ := ctx.Value(beforeReadKey{}).(func())
	return f
}

// hookedReader runs hook before each Read of r. The SSE reader reads its
// source only when what it has buffered holds no whole line: the moment
// the stream would wait.
type hookedReader struct {
	r    io.Reader
	hook func()
}

func (h hookedReader) Read(p []byte) (int, error) {
	h.hook()
	return h.r.Read(p)
}

// streamSource is body, read through ctx's before-read hook if it has one.
func streamSource(ctx context.Context, body io.Reader) io.Reader {
	if f := beforeRead(ctx); f != nil {
		return hookedReader{r: body, hook: f}
	}
	return body
}

// streamEnded runs ctx's hook once the provider's stream is read to its
// end: nothing held waits on what the stream's caller does next.
func streamEnded(ctx context.Context) {
	if f := beforeRead(ctx); f != nil {
		f()
	}
}
