package memory

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/mastra-server/mastra-server/host/store"
)

// Errors returned by Store methods. Callers map them to HTTP statuses.
var (
	ErrNotFound    = store.Named("memory: thread not found", store.ErrNotFound)
	ErrConflict    = store.Named("memory: thread already exists", store.ErrConflict)
	ErrUnavailable = store.Named("memory: database unavailable", store.ErrUnavailable)
	// ErrMessageConflict is a message id that is taken by a message the
	// caller may not write (another resource's), or taken at all where
	// only new messages are saved (a turn). It wraps ErrConflict and never
	// says whose the message is.
	ErrMessageConflict = fmt.Errorf("memory: message id already in use: %w", ErrConflict)
)

// Thread is one conversation, owned by one resource (a user or tenant).
type Thread struct {
	ID         string
	ResourceID string
	Title      string
	Metadata   map[string]any // nil when none
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Message is one stored message. Content is Mastra's v2 content JSON
// ({"format":2,"parts":[…],"content":"…"}), kept as stored so nothing a
// Mastra server wrote is lost on the way out.
type Message struct {
	ID         string
	ThreadID   string
	ResourceID string
	Role       string // user, assistant, system or tool
	Type       string // "v2"
	Content    json.RawMessage
	CreatedAt  time.Time
	// parsed is Content parsed, when the store read the message through
	// its memo (ParsedContent).
	parsed *parsedContent
}

// threadRow is the mastra_threads table as @mastra/pg defines it.
type threadRow struct {
	bun.BaseModel `bun:"table:mastra_threads"`

	ID         string         `bun:"id,pk"`
	ResourceID string         `bun:"resourceId,notnull"`
	Title      string         `bun:"title,notnull"`
	Metadata   metadataColumn `bun:"metadata,type:jsonb,nullzero"`
	CreatedAt  time.Time      `bun:"createdAt,notnull"`
	UpdatedAt  time.Time      `bun:"updatedAt,notnull"`
	CreatedAtZ bun.NullTime   `bun:"createdAtZ"`
	UpdatedAtZ bun.NullTime   `bun:"updatedAtZ"`
}

func (r *threadRow) thread() Thread {
	return Thread{
		ID:         r.ID,
		ResourceID: r.ResourceID,
		Title:      r.Title,
		Metadata:   map[string]any(r.Metadata),
		CreatedAt:  pick(r.CreatedAtZ, r.CreatedAt),
		UpdatedAt:  pick(r.UpdatedAtZ, r.UpdatedAt),
	}
}

func newThreadRow(t Thread) *threadRow {
	return &threadRow{
		ID:         t.ID,
		ResourceID: t.ResourceID,
		Title:      t.Title,
		Metadata:   metadataColumn(t.Metadata),
		CreatedAt:  t.CreatedAt,
		UpdatedAt:  t.UpdatedAt,
		CreatedAtZ: bun.NullTime{Time: t.CreatedAt},
		UpdatedAtZ: bun.NullTime{Time: t.UpdatedAt},
	}
}

// messageRow is the mastra_messages table as @mastra/pg defines it.
type messageRow struct {
	bun.BaseModel `bun:"table:mastra_messages"`

	ID         string       `bun:"id,pk"`
	ThreadID   string       `bun:"thread_id,notnull"`
	Content    string       `bun:"content,notnull"`
	Role       string       `bun:"role,notnull"`
	Type       string       `bun:"type,notnull"`
	CreatedAt  time.Time    `bun:"createdAt,notnull"`
	ResourceID *string      `bun:"resourceId"`
	CreatedAtZ bun.NullTime `bun:"createdAtZ"`
}

func (r *messageRow) message() Message {
	m := Message{
		ID:        r.ID,
		ThreadID:  r.ThreadID,
		Role:      r.Role,
		Type:      r.Type,
		Content:   json.RawMessage(r.Content),
		CreatedAt: pick(r.CreatedAtZ, r.CreatedAt),
	}
	if r.ResourceID != nil {
		m.ResourceID = *r.ResourceID
	}
	if !json.Valid(m.Content) {
		// A row whose content is not JSON (very old Mastra data) is passed
		// on as a v2 text message rather than failing the whole read.
		m.Content = TextContent(r.Content, m.CreatedAt)
	}
	return m
}

func newMessageRow(m Message) *messageRow {
	typ := m.Type
	if typ == "" {
		typ = "v2"
	}
	r := &messageRow{
		ID:         m.ID,
		ThreadID:   m.ThreadID,
		Content:    string(m.Content),
		Role:       m.Role,
		Type:       typ,
		CreatedAt:  m.CreatedAt,
		CreatedAtZ: bun.NullTime{Time: m.CreatedAt},
	}
	if m.ResourceID != "" {
		rid := m.ResourceID
		r.ResourceID = &rid
	}
	return r
}

// pick prefers the timezone-aware copy of a timestamp, as Mastra reads it.
func pick(z bun.NullTime, plain time.Time) time.Time {
	if !z.IsZero() {
		return z.Time.UTC()
	}
	return plain.UTC()
}
