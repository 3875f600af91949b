package limits

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// A turn no request started (a workflow's agent step) counts against its
// run's resource with the global limits: a tenant cannot spend model
// tokens past its budget by starting workflows, and a request of that
// resource sees what the steps spent.
func TestBackgroundTurnsCountAgainstTheirResource(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := memory.Open(ctx, memory.Options{SQLitePath: filepath.Join(t.TempDir(), "m.db"), MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := agent.NewService(store, []*agent.Agent{{ID: "a", Model: llm.Echo{}, Provider: "echo", LastMessages: 10}}, "a", log)
	if err != nil {
		t.Fatal(err)
	}
	l := NewMemory(log)
	budget := Limits{TokensPerMinute: 5}
	svc.SetObserver(l.Agents(svc, nil, budget))

	// A step's turn: no request, so no subject in its context.
	if _, err := svc.Generate(ctx, agent.Input{Messages: []llm.Message{{Role: "user", Content: "spend some tokens please"}}, ResourceID: "tenant-a"}); err != nil {
		t.Fatalf("the first background turn: %v", err)
	}
	_, err = svc.Generate(ctx, agent.Input{Messages: []llm.Message{{Role: "user", Content: "and more"}}, ResourceID: "tenant-a"})
	var over *ExceededError
	if !errors.As(err, &over) {
		t.Fatalf("a background turn past tenant-a's budget: %v; want *ExceededError", err)
	}
	// The same budget a request bound to tenant-a is counted against.
	if err := l.CheckTokens(ctx, Subject{Key: "resource:tenant-a", Limits: budget}); !errors.As(err, &over) {
		t.Fatalf("tenant-a's requests after its steps spent the budget: %v; want *ExceededError", err)
	}
	// Another resource is untouched.
	if _, err := svc.Generate(ctx, agent.Input{Messages: []llm.Message{{Role: "user", Content: "hi"}}, ResourceID: "tenant-b"}); err != nil {
		t.Fatalf("tenant-b's background turn: %v", err)
	}
}

// A turn counts against its principal (an admin's user here) and the
// resource it runs for: an admin's calls for a tenant spend that tenant's
// budget too. A principal stored by name (a workflow run's) comes back
// with the limits configured now.
func TestTurnsCountAgainstPrincipalAndResource(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := agent.NewService(nil, []*agent.Agent{{ID: "a", Model: llm.Echo{}, Provider: "echo"}}, "a", log)
	if err != nil {
		t.Fatal(err)
	}
	l := NewMemory(log)
	global := Limits{TokensPerMinute: 5}
	svc.SetObserver(l.Agents(svc, nil, global))
	budgets := Budgets{Global: global, Tokens: map[string]Limits{"ops": {TokensPerMinute: 1000}}}
	admin, ok := budgets.Subject(Subject{Key: "user:ops", Token: "ops"}.Principal())
	if !ok || admin.Limits.TokensPerMinute != 1000 {
		t.Fatalf("the admin's principal = %+v, %v; want user:ops with its own limits", admin, ok)
	}
	in := agent.Input{Messages: []llm.Message{{Role: "user", Content: "spend some tokens please"}}, ResourceID: "tenant-a", Ephemeral: true}
	if _, err := svc.Generate(WithSubject(ctx, admin), in); err != nil {
		t.Fatalf("the admin's turn for tenant-a: %v", err)
	}
	var over *ExceededError
	if err := l.CheckTokens(ctx, ResourceSubject("tenant-a", global)); !errors.As(err, &over) {
		t.Errorf("tenant-a after the admin's turn for it: %v; want *ExceededError", err)
	}
	if err := l.CheckTokens(ctx, admin); err != nil {
		t.Errorf("the admin's own budget: %v; want room left", err)
	}
	if _, err := svc.Generate(WithSubject(ctx, admin), in); !errors.As(err, &over) {
		t.Errorf("the admin's next turn for tenant-a: %v; want *ExceededError (tenant-a's budget)", err)
	}
}

// A turn of work no request carries (a workflow step) counts as one
// request of its subjects, and is refused over their requests per minute
// with the limit's error; a request's own turns are counted through their
// request only.
func TestWorkTurnsCountAsRequests(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := agent.NewService(nil, []*agent.Agent{{ID: "a", Model: llm.Echo{}, Provider: "echo"}}, "a", log)
	if err != nil {
		t.Fatal(err)
	}
	l := NewMemory(log)
	svc.SetObserver(l.Agents(svc, nil, Limits{}))
	starter := Subject{Key: "resource:tenant-a", Limits: Limits{RequestsPerMinute: 1}, Token: "a"}
	in := agent.Input{Messages: []llm.Message{{Role: "user", Content: "hi"}}, ResourceID: "tenant-a", Ephemeral: true}
	for i := range 2 {
		if _, err := svc.Generate(WithSubject(ctx, starter), in); err != nil {
			t.Fatalf("request turn %d: %v; want it counted through its request only", i+1, err)
		}
	}
	step := AsWork(WithSubject(ctx, starter))
	if _, err := svc.Generate(step, in); err != nil {
		t.Fatalf("the first step's turn: %v", err)
	}
	_, err = svc.Generate(step, in)
	if over := (*ExceededError)(nil); !errors.As(err, &over) || err.Error() != "limits: requests per minute over 1" {
		t.Errorf("the second step's turn: %v; want limits: requests per minute over 1", err)
	}
}
