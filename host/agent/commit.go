package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// This file makes a turn's answer and its save agree: a commit gate lets
// the HTTP layer's first-byte timeout and the save decide, once, which of
// them wins, and an idempotency key makes a retried request find the turn
// its first attempt saved instead of saving it again.

type commitGateKey struct{}

// WithCommitGate returns ctx carrying gate. A turn calls gate just before
// it saves: false means the request has already been answered (a timeout)
// and the turn is dropped unsaved; true means whoever answers now waits for
// the save and sends its outcome. gate is called at most once per turn.
func WithCommitGate(ctx context.Context, gate func() bool) context.Context {
	return context.WithValue(ctx, commitGateKey{}, gate)
}

// CommitGate returns the gate of ctx, nil when there is none.
func CommitGate(ctx context.Context) func() bool {
	g, _ := ctx.Value(commitGateKey{}).(func() bool)
	return g
}

// ErrAnswered is a turn dropped before its save because its request had
// already been answered (the first-byte timeout fired first).
var ErrAnswered = errors.New("agent: request already answered; turn not saved")

// idemNamespace derives message ids from idempotency keys.
var idemNamespace = uuid.MustParse("0b8f5e4e-6f1c-4c55-9d43-7a0f6f0e2c11")

// MaxIdempotencyKey is the longest idempotency key accepted, in bytes.
const MaxIdempotencyKey = 255

// idemIDs are the ids a turn with an idempotency key saves its messages
// under: derived from the resource and the key, so a retry writes the same
// ids (and cannot write them twice) while two resources' equal keys never
// meet.
func idemIDs(resource, key string, inputs int) (in []string, reply string) {
	base := resource + "\x00" + key + "\x00"
	for i := 0; i < inputs; i++ {
		in = append(in, uuid.NewSHA1(idemNamespace, fmt.Appendf(nil, "%sinput\x00%d", base, i)).String())
	}
	return in, uuid.NewSHA1(idemNamespace, []byte(base+"reply")).String()
}

// replay loads the turn a request with the same idempotency key saved
// before. ok is false when there is none.
func (r *run) replay(ctx context.Context, inIDs []string, replyID string) (ok bool, err error) {
	msgs, err := r.s.store.MessagesByID(ctx, r.in.ResourceID, append(append([]string(nil), inIDs...), replyID))
	if err != nil {
		return false, fmt.Errorf("agent: look up idempotency key: %w", err)
	}
	var reply *memory.Message
	for i := range msgs {
		if msgs[i].ID == replyID {
			reply = &msgs[i]
		}
	}
	if reply == nil {
		return false, nil
	}
	c, err := memory.ParseContent(reply.Content)
	if err != nil {
		return false, fmt.Errorf("agent: stored reply %s: %w", replyID, err)
	}
	r.res.MessageID, r.res.ThreadID = reply.ID, reply.ThreadID
	r.res.Text = c.Content
	if r.res.Text == "" {
		r.res.Text = c.Text()
	}
	r.res.FinishReason, _ = c.Metadata["finishReason"].(string)
	if r.res.FinishReason == "" {
		r.res.FinishReason = llm.FinishStop
	}
	if u, ok := c.Metadata["usage"]; ok {
		var p usagePayload
		if b, err := json.Marshal(u); err == nil && json.Unmarshal(b, &p) == nil {
			r.res.Usage = p.usage()
		}
	}
	r.res.Messages = msgs
	r.res.Remembered = nil
	r.res.Replayed = true
	return true, nil
}

// emitReplay streams a replayed turn as one step with its whole text.
func (r *run) emitReplay() error {
	if r.emit == nil {
		return nil
	}
	r.live = true
	out := stepOutput{Text: r.res.Text, ToolCalls: []Chunk{}, Usage: usageOf(r.res.Usage)}
	res := stepResult{Reason: r.res.FinishReason, Warnings: []any{}}
	steps := []func() error{
		func() error {
			return r.send(ChunkStart, startPayload{ID: r.a.ID, MessageID: r.res.MessageID, ThreadID: r.res.ThreadID, ResourceID: r.res.ResourceID})
		},
		func() error {
			return r.send(ChunkStepStart, stepStartPayload{MessageID: r.res.MessageID, Warnings: []any{}})
		},
		func() error {
			if r.res.Text == "" {
				return nil
			}
			if err := r.send(ChunkTextStart, textIDPayload{ID: "txt-0"}); err != nil {
				return err
			}
			if err := r.send(ChunkTextDelta, textDeltaPayload{ID: "txt-0", Text: r.res.Text}); err != nil {
				return err
			}
			return r.send(ChunkTextEnd, textEndPayload{Type: ChunkTextEnd, ID: "txt-0"})
		},
		func() error {
			return r.send(ChunkStepFinish, stepFinishPayload{MessageID: r.res.MessageID, StepResult: res, Output: out,
				Metadata: stepMetadata{ModelID: r.modelID()}})
		},
		func() error {
			return r.send(ChunkFinish, finishPayload{MessageID: r.res.MessageID, StepResult: res, Output: out,
				Metadata: stepMetadata{ModelID: r.modelID()}, Usage: usageOf(r.res.Usage)})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
