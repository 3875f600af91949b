package app

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

// resourceTool records the scoped resource its call saw.
type resourceTool struct{ seen *string }

func (resourceTool) Name() string                 { return "who" }
func (resourceTool) Description() string          { return "answers nothing; records its caller" }
func (resourceTool) InputSchema() json.RawMessage { return nil }
func (t resourceTool) Execute(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
	*t.seen = ""
	if v := reqctx.From(ctx); v != nil {
		*t.seen, _ = v.GetString(reqctx.ResourceIDKey)
	}
	return json.RawMessage(`{}`), nil
}

// A workflow's tool step runs for its run's resource: a Wasm tool with the
// agents or workflows grant then acts for that resource (the scoped one,
// which a guest's resourceId cannot override), not for whatever the guest
// names or the plugin's own default.
func TestWorkflowToolStepIsBoundToTheRunsResource(t *testing.T) {
	var seen string
	tools := toolRunner{"who": resourceTool{seen: &seen}}
	if _, err := tools.RunTool(context.Background(), "who", json.RawMessage(`{}`), "tenant-a"); err != nil {
		t.Fatal(err)
	}
	if seen != "tenant-a" {
		t.Fatalf("tool saw resource %q, want tenant-a", seen)
	}
}
