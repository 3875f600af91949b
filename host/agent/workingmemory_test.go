package agent

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

const testTemplate = "# User\n- **Name**:\n- **City**:\n"

func wmService(t *testing.T, store *memory.Store, model llm.Model, wm *WorkingMemory) *Service {
	t.Helper()
	svc, err := NewService(store, []*Agent{{ID: "a", Instructions: "Be brief.", Model: model, Provider: "openai",
		ModelID: "gpt-test", LastMessages: 10, WorkingMemory: wm}}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(context.Background()) })
	return svc
}

func userTurn(thread, resource, text string) Input {
	return Input{ThreadID: thread, ResourceID: resource, Messages: []llm.Message{{Role: llm.RoleUser, Content: text}}}
}

func systemOf(req llmtest.Request) string {
	if len(req.Messages) == 0 || req.Messages[0].Role != "system" {
		return ""
	}
	return req.Messages[0].Text()
}

// The model sees the working memory in its instructions and keeps it with
// the updateWorkingMemory tool; the next thread of the same resource sees
// what it stored.
func TestWorkingMemoryToolInATurn(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		update := `{"memory":"# User\n- **Name**: Ada\n- **City**:\n"}`
		fake := newFake(t,
			llmtest.Reply{Calls: []llmtest.Call{{ID: "call_wm", Name: WorkingMemoryTool, Args: update}}},
			llmtest.Reply{Text: "Hello Ada."},
		)
		svc := wmService(t, store, fake.Model(10*time.Second), &WorkingMemory{Scope: ScopeResource, Template: testTemplate})

		res, err := svc.Generate(ctx, userTurn("t-1", "user-1", "I am Ada."))
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != "Hello Ada." || len(res.ToolResults) != 1 || res.ToolResults[0].Type != ChunkToolResult {
			t.Fatalf("result text %q, tool results %+v", res.Text, res.ToolResults)
		}
		got, err := store.WorkingMemory(ctx, memory.WorkingMemoryRef{ResourceID: "user-1"})
		if err != nil || got != "# User\n- **Name**: Ada\n- **City**:\n" {
			t.Errorf("stored working memory = %q, %v", got, err)
		}

		reqs := fake.Requests()
		sys := systemOf(reqs[0])
		for _, want := range []string{"Be brief.", "WORKING_MEMORY_SYSTEM_INSTRUCTION", "<working_memory_template>\n" + strings.TrimSpace(testTemplate)} {
			if !strings.Contains(sys, want) {
				t.Errorf("system prompt lacks %q:\n%s", want, sys)
			}
		}
		var tool *llmtest.Tool
		for i := range reqs[0].Tools {
			if reqs[0].Tools[i].Function.Name == WorkingMemoryTool {
				tool = &reqs[0].Tools[i]
			}
		}
		if tool == nil || !strings.Contains(string(tool.Function.Parameters), `"memory":{"description"`) ||
			!strings.Contains(string(tool.Function.Parameters), `"type":"string"`) {
			t.Fatalf("tools offered = %+v; want updateWorkingMemory with {memory: string}", reqs[0].Tools)
		}
		if last := reqs[1].Last(); last.Role != "tool" || last.Text() != `{"success":true}` {
			t.Errorf("tool result the model saw = %s", reqs[1].Dump())
		}

		// Another thread of the same resource starts with it.
		if _, err := svc.Generate(ctx, userTurn("t-2", "user-1", "Where do I live?")); err != nil {
			t.Fatal(err)
		}
		reqs = fake.Requests()
		if sys := systemOf(reqs[2]); !strings.Contains(sys, "<working_memory_data>\n# User\n- **Name**: Ada") {
			t.Errorf("next thread's system prompt lacks the working memory:\n%s", sys)
		}
	})
}

// Markdown updates are a compare-and-set: when another writer changed the
// working memory after the model read it, the model's replacement is not
// stored; it gets the current text back and retries.
func TestWorkingMemoryToolLostRaceIsRetried(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		ref := memory.WorkingMemoryRef{ResourceID: "user-1"}
		var once sync.Once
		replies := llmtest.Replies(
			llmtest.Reply{Calls: []llmtest.Call{{ID: "c1", Name: WorkingMemoryTool, Args: `{"memory":"- Name: Ada"}`}}},
			llmtest.Reply{Calls: []llmtest.Call{{ID: "c2", Name: WorkingMemoryTool, Args: `{"memory":"- Name: Ada\n- City: Paris"}`}}},
			llmtest.Reply{Text: "Noted."},
		)
		fake := llmtest.NewServer(t, func(req llmtest.Request) llmtest.Reply {
			once.Do(func() { // another conversation writes while this turn runs
				if _, err := store.UpdateWorkingMemory(ctx, ref, func(string) (string, error) { return "- City: Paris", nil }); err != nil {
					t.Error(err)
				}
			})
			return replies(req)
		})
		svc := wmService(t, store, fake.Model(10*time.Second), &WorkingMemory{Scope: ScopeResource, Template: testTemplate})
		if _, err := svc.Generate(ctx, userTurn("t-1", "user-1", "I am Ada.")); err != nil {
			t.Fatal(err)
		}
		reqs := fake.Requests()
		var first map[string]any
		if err := json.Unmarshal([]byte(reqs[1].Last().Text()), &first); err != nil {
			t.Fatalf("first tool result: %v (%s)", err, reqs[1].Dump())
		}
		if first["success"] != false || first["workingMemory"] != "- City: Paris" {
			t.Errorf("first update's result = %v; want success false with the other writer's text", first)
		}
		if got, _ := store.WorkingMemory(ctx, ref); got != "- Name: Ada\n- City: Paris" {
			t.Errorf("stored = %q; want the retried update holding both", got)
		}
	})
}

// A schema makes updates JSON patches merged into the object; with thread
// scope it lives in the thread's metadata, and the tool creates the thread
// in its first turn.
func TestWorkingMemoryJSONMergeThreadScope(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		schema := json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"},"city":{"type":"string"},"likes":{"type":"array"}},"required":["name"]}`)
		fake := newFake(t,
			llmtest.Reply{Calls: []llmtest.Call{{ID: "c1", Name: WorkingMemoryTool, Args: `{"memory":{"name":"Ada","city":"Paris"}}`}}},
			// A partial patch, sent as a string the way Mastra's
			// instructions ask: merged, null removes.
			llmtest.Reply{Calls: []llmtest.Call{{ID: "c2", Name: WorkingMemoryTool, Args: `{"memory":"{\"city\":null,\"likes\":[\"tea\"]}"}`}}},
			llmtest.Reply{Text: "Done."},
		)
		svc := wmService(t, store, fake.Model(10*time.Second), &WorkingMemory{Scope: ScopeThread, Schema: schema})
		if _, err := svc.Generate(ctx, userTurn("new-thread", "user-1", "I am Ada from Paris; I moved; I like tea.")); err != nil {
			t.Fatal(err)
		}
		th, err := store.Thread(ctx, "user-1", "new-thread")
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(th.Metadata["workingMemory"].(string)), &got); err != nil {
			t.Fatalf("metadata.workingMemory = %v: %v", th.Metadata, err)
		}
		if b, _ := json.Marshal(got); string(b) != `{"likes":["tea"],"name":"Ada"}` {
			t.Errorf("working memory = %s; want the merge of both updates", b)
		}
		if page, _ := store.ListMessages(ctx, memory.MessageQuery{ThreadID: "new-thread", ResourceID: "user-1"}); page.Total != 2 {
			t.Errorf("turn saved %d messages in the thread the tool created; want 2", page.Total)
		}
		if sys := systemOf(fake.Requests()[0]); !strings.Contains(sys, `{"city":"","likes":[],"name":""}`) {
			t.Errorf("system prompt lacks the empty JSON template:\n%s", sys)
		}
	})
}

// An ephemeral turn has no memory: no working memory, no tool.
func TestWorkingMemoryNotInEphemeralTurns(t *testing.T) {
	store := sqliteStore(t)
	fake := newFake(t, llmtest.Reply{Text: "Hi."})
	svc := wmService(t, store, fake.Model(10*time.Second), &WorkingMemory{Scope: ScopeResource, Template: testTemplate})
	in := userTurn("", "user-1", "Hi")
	in.Ephemeral = true
	if _, err := svc.Generate(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	req := fake.Requests()[0]
	if strings.Contains(systemOf(req), "WORKING_MEMORY") || len(req.Tools) != 0 {
		t.Errorf("ephemeral turn got working memory: %s, tools %+v", systemOf(req), req.Tools)
	}
}

func TestWorkingMemoryConfigChecked(t *testing.T) {
	model := llm.Echo{}
	for name, wm := range map[string]*WorkingMemory{
		"scope":  {Scope: "user", Template: "x"},
		"schema": {Scope: ScopeResource, Schema: json.RawMessage(`{"type":"array"}`)},
	} {
		if _, err := NewService(nil, []*Agent{{ID: "a", Model: model, WorkingMemory: wm}}, "", nil); err == nil {
			t.Errorf("%s: NewService accepted %+v", name, wm)
		}
	}
	clash := &weather{}
	_, err := NewService(nil, []*Agent{{ID: "a", Model: model, Tools: []Tool{namedTool{clash, WorkingMemoryTool}},
		WorkingMemory: &WorkingMemory{Scope: ScopeResource, Template: "x"}}}, "", nil)
	if err == nil || !strings.Contains(err.Error(), "the name of the working memory tool") {
		t.Errorf("NewService with a tool named %s = %v", WorkingMemoryTool, err)
	}
}

type namedTool struct {
	Tool
	name string
}

func (n namedTool) Name() string { return n.name }
