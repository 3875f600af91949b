package agent

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

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

// MaxIdempotencyKey is the longest idempotency key accepted, in bytes.
const MaxIdempotencyKey = 255

// ErrIdempotencyKeyReused is a request whose idempotency key an earlier,
// different request of the resource already used: its turn is not run, and
// the earlier one's reply is not handed out as if it were this one's.
var ErrIdempotencyKeyReused = errors.New("agent: idempotency key already used by a different request")

// idemSecretName names the database secret (memory.Store.Secret) that keys
// the derivation of idempotent turns' message ids.
const idemSecretName = "idempotency"

// idemSecret is the secret of idemSecretName, loaded on the first turn with
// a key rather than at start: the server starts while the database is down.
type idemSecret struct {
	mu  sync.Mutex // guards key
	key []byte
}

func (k *idemSecret) get(ctx context.Context, store *memory.Store) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key == nil {
		key, err := store.Secret(ctx, idemSecretName)
		if err != nil {
			return nil, fmt.Errorf("agent: idempotency secret: %w", err)
		}
		k.key = key
	}
	return k.key, nil
}

// idemTurn is what an idempotency key derives for one request: the ids its
// messages are saved under and the digest of the request, stored with the
// reply so a retry can tell it is the same request.
type idemTurn struct {
	in     []string
	reply  string
	digest string
}

// digestKey is the reply metadata entry that holds the request's digest.
const digestKey = "requestDigest"

// deriveIdem derives the ids and digest of a turn with an idempotency key.
// The ids are an HMAC of the resource and the key under the server's
// secret, so a retry writes the same ids (and cannot write them twice), two
// resources' equal keys never meet, and nobody without the secret can
// compute them to take them first (N7). They are formatted as random
// (version 4) UUIDs, the kind Mastra makes: without the secret they are
// indistinguishable from random ones.
func deriveIdem(secret []byte, a *Agent, in Input, inputs int) idemTurn {
	mac := hmac.New(sha256.New, secret)
	sum := func(parts ...string) []byte {
		mac.Reset()
		for _, p := range parts {
			// Length-prefixed: no choice of resource or key can make two
			// different lists of parts hash alike.
			mac.Write(binary.AppendUvarint(nil, uint64(len(p))))
			mac.Write([]byte(p))
		}
		return mac.Sum(nil)
	}
	id := func(parts ...string) string {
		var u uuid.UUID
		copy(u[:], sum(parts...))
		u[6] = u[6]&0x0f | 0x40 // version 4
		u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
		return u.String()
	}
	var t idemTurn
	for i := 0; i < inputs; i++ {
		t.in = append(t.in, id("message", in.ResourceID, in.IdempotencyKey, "input", strconv.Itoa(i)))
	}
	t.reply = id("message", in.ResourceID, in.IdempotencyKey, "reply")
	thread := in.ThreadID
	if in.ThreadMade {
		thread = "" // the client named none, and its retry names none either
	}
	t.digest = hex.EncodeToString(sum("request", a.ID, in.ResourceID, thread, canonicalMessages(in.Messages)))
	return t
}

// canonicalMessages is the request's messages as they reach the model,
// whatever JSON spelled them: two requests whose messages differ only in
// formatting (spacing, key order, a string or a text part) are the same.
func canonicalMessages(msgs []llm.Message) string {
	type call struct {
		ID, Name  string
		Arguments string
	}
	type message struct {
		Role, Content, ToolCallID, Name string
		ToolCalls                       []call
	}
	out := make([]message, len(msgs))
	for i, m := range msgs {
		out[i] = message{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID, Name: m.Name}
		for _, tc := range m.ToolCalls {
			out[i].ToolCalls = append(out[i].ToolCalls, call{ID: tc.ID, Name: tc.Name, Arguments: string(tc.Arguments)})
		}
	}
	b, _ := json.Marshal(out) // strings only: cannot fail
	return string(b)
}

// replay loads the turn a request with the same idempotency key saved
// before. ok is false when there is none; ErrIdempotencyKeyReused when the
// turn saved was another request's.
func (r *run) replay(ctx context.Context, t idemTurn) (ok bool, err error) {
	msgs, err := r.s.store.MessagesByID(ctx, r.in.ResourceID, append(append([]string(nil), t.in...), t.reply))
	if err != nil {
		return false, fmt.Errorf("agent: look up idempotency key: %w", err)
	}
	var reply *memory.Message
	for i := range msgs {
		if msgs[i].ID == t.reply {
			reply = &msgs[i]
		}
	}
	if reply == nil {
		return false, nil
	}
	c, err := memory.ParseContent(reply.Content)
	if err != nil {
		return false, fmt.Errorf("agent: stored reply %s: %w", t.reply, err)
	}
	if d, _ := c.Metadata[digestKey].(string); d != t.digest {
		return false, ErrIdempotencyKeyReused
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
	r.res.Suspension = suspensionOf(c.Metadata) // a turn that still waits
	if u, ok := c.Metadata["usage"]; ok {
		var p usagePayload
		if b, err := json.Marshal(u); err == nil && json.Unmarshal(b, &p) == nil {
			r.res.Usage = p.usage()
		}
	}
	if v, ok := c.Metadata[objectKey]; ok {
		// The structured output the first attempt answered.
		if b, err := json.Marshal(v); err == nil {
			r.res.Object = b
		}
		r.res.UsedFallbackValue, _ = c.Metadata[fallbackKey].(bool)
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
			if w := r.res.Suspension; w != nil {
				typ := ChunkToolCallSuspended
				if w.Approval {
					typ = ChunkToolCallApproval
				}
				return r.send(typ, w.ChunkPayload())
			}
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
	if r.res.Object != nil {
		c := r.chunk(ChunkObjectResult, nil)
		c.Object = r.res.Object
		if r.res.UsedFallbackValue {
			c.Metadata = map[string]any{"fallback": true}
		}
		return r.sendChunk(c)
	}
	return nil
}
