package app

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mastra-server/mastra-server/config"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/workflow"
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

// config checks expressions at start against config.ExprEnv; the engine
// runs them against workflow.ExprEnv. A name in one and not the other
// would pass the check and fail every run (or the reverse): the two must
// list the same names with the same types.
func TestExprEnvsAgree(t *testing.T) {
	names := func(v any) map[string]string {
		out := map[string]string{}
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			out[f.Tag.Get("expr")] = f.Type.String()
		}
		return out
	}
	if c, w := names(config.ExprEnv{}), names(workflow.ExprEnv{}); !reflect.DeepEqual(c, w) {
		t.Fatalf("config.ExprEnv %v != workflow.ExprEnv %v", c, w)
	}
}
