// Package wire holds the JSON shapes of threads, messages and workflow runs
// as Mastra's API returns them, shared by the HTTP API (host/server) and
// the plugins' data calls (host/app), which answer with the same bytes.
//
// It imports only host/memory and host/workflow, whose records it shapes.
package wire

import (
	"encoding/json"
	"time"

	"github.com/mastra-server/mastra-server/host/jsonenc"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/workflow"
)

// Thread is a thread as Mastra's API returns it.
type Thread struct {
	ID         string         `json:"id"`
	Title      string         `json:"title"`
	ResourceID string         `json:"resourceId"`
	CreatedAt  string         `json:"createdAt"`
	UpdatedAt  string         `json:"updatedAt"`
	Metadata   map[string]any `json:"metadata,omitempty"`
}

// ThreadOf shapes a stored thread.
func ThreadOf(t memory.Thread) Thread {
	return Thread{ID: t.ID, Title: t.Title, ResourceID: t.ResourceID,
		CreatedAt: Time(t.CreatedAt), UpdatedAt: Time(t.UpdatedAt), Metadata: t.Metadata}
}

// Message is a stored message as Mastra's API returns it (v2 content).
type Message struct {
	ID         string          `json:"id"`
	Role       string          `json:"role"`
	CreatedAt  string          `json:"createdAt"`
	ThreadID   string          `json:"threadId"`
	ResourceID string          `json:"resourceId,omitempty"`
	Type       string          `json:"type,omitempty"`
	Content    json.RawMessage `json:"content"`
}

// Messages shapes stored messages.
func Messages(ms []memory.Message) []Message {
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = Message{ID: m.ID, Role: m.Role, CreatedAt: Time(m.CreatedAt), ThreadID: m.ThreadID,
			ResourceID: m.ResourceID, Content: m.Content}
	}
	return out
}

// Time formats like JavaScript's Date.toISOString.
func Time(t time.Time) string { return string(jsonenc.ISOTime(make([]byte, 0, 24), t)) }

// ThreadList is a page of threads as GET /api/memory/threads answers it
// (plugins' threads_list answers the same).
type ThreadList struct {
	Threads []Thread `json:"threads"`
	Total   int      `json:"total"`
	Page    int      `json:"page"`
	PerPage int      `json:"perPage"`
	HasMore bool     `json:"hasMore"`
}

// ThreadListOf shapes a page of threads.
func ThreadListOf(p memory.ThreadPage) ThreadList {
	out := ThreadList{Threads: make([]Thread, len(p.Threads)), Total: p.Total, Page: p.Page, PerPage: p.PerPage, HasMore: p.HasMore}
	for i, t := range p.Threads {
		out.Threads[i] = ThreadOf(t)
	}
	return out
}

// MessageList is a page of a thread's messages as GET
// /api/memory/threads/:threadId/messages answers it (plugins'
// thread_messages answers the same).
type MessageList struct {
	Messages   []Message `json:"messages"`
	UIMessages []any     `json:"uiMessages"` // null on local memory, as in Mastra
	Total      int       `json:"total"`
	Page       int       `json:"page"`
	PerPage    int       `json:"perPage"`
	HasMore    bool      `json:"hasMore"`
}

// MessageListOf shapes a page of messages.
func MessageListOf(p memory.MessagePage) MessageList {
	return MessageList{Messages: Messages(p.Messages), Total: p.Total, Page: p.Page, PerPage: p.PerPage, HasMore: p.HasMore}
}

// RunFields are the fields of a workflow run a client may ask for.
var RunFields = []string{"result", "error", "payload", "steps", "activeStepsPath", "serializedStepGraph"}

// Run is a workflow run as GET /api/workflows/:workflowId/runs/:runId
// answers it, with the fields asked for among RunFields, all when nil
// (plugins' workflow_run answers the same, with every field).
func Run(run *workflow.Run, fields []string) map[string]any {
	snap := run.Snapshot
	all := map[string]any{"result": snap.Result, "error": snap.Error, "payload": snap.Context.Input, "steps": snap.Context.Steps,
		"activeStepsPath": snap.ActiveStepsPath, "serializedStepGraph": snap.SerializedStepGraph}
	out := map[string]any{"runId": run.RunID, "workflowName": run.Workflow, "createdAt": run.CreatedAt, "updatedAt": run.UpdatedAt,
		"status": snap.Status}
	if run.ResourceID != "" {
		out["resourceId"] = run.ResourceID
	}
	if fields == nil {
		fields = RunFields
	}
	for _, f := range fields {
		if v := all[f]; v != nil {
			out[f] = v
		}
	}
	return out
}
