package agent

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// scripted is an in-process model whose answer is a function of the
// request: no wire, so a benchmark measures the agent alone.
type scripted func(req llm.Request) *llm.Response

func (m scripted) Generate(_ context.Context, req llm.Request) (*llm.Response, error) {
	return m(req), nil
}

func (m scripted) Stream(_ context.Context, req llm.Request, on func(llm.Delta) error) (*llm.Response, error) {
	resp := m(req)
	if resp.Text != "" {
		if err := on(llm.Delta{Text: resp.Text}); err != nil {
			return nil, err
		}
	}
	for i, tc := range resp.ToolCalls {
		start := llm.ToolCall{ID: tc.ID, Name: tc.Name}
		if err := on(llm.Delta{ToolCallStart: &start, ToolCallIndex: i}); err != nil {
			return nil, err
		}
		if err := on(llm.Delta{ToolCallIndex: i, ArgsDelta: string(tc.Arguments)}); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

var usage1 = llm.Usage{InputTokens: 10, OutputTokens: 2, TotalTokens: 12}

// bossModel calls each of tools with the prompt "task <the user's
// message>", then answers with what they returned.
func bossModel(tools ...string) scripted {
	return func(req llm.Request) *llm.Response {
		last := req.Messages[len(req.Messages)-1]
		if last.Role == llm.RoleTool {
			var out []string
			for _, m := range req.Messages {
				if m.Role == llm.RoleTool {
					out = append(out, m.Content)
				}
			}
			return &llm.Response{Text: "done: " + strings.Join(out, " + "), FinishReason: llm.FinishStop, Usage: usage1}
		}
		resp := &llm.Response{FinishReason: llm.FinishToolCalls, Usage: usage1}
		for i, name := range tools {
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: fmt.Sprintf("c%d", i), Name: name,
				Arguments: []byte(fmt.Sprintf(`{"prompt":%q}`, "task "+last.Content))})
		}
		return resp
	}
}

// parrot answers with every message it was sent but the system prompt.
var parrot = scripted(func(req llm.Request) *llm.Response {
	var seen []string
	for _, m := range req.Messages {
		if m.Role != llm.RoleSystem {
			seen = append(seen, m.Content)
		}
	}
	return &llm.Response{Text: strings.Join(seen, "|"), FinishReason: llm.FinishStop, Usage: usage1}
})

var secretRE = regexp.MustCompile(`secret-[a-z]+-\d+`)

// oneSecret reports whether s names exactly one secret, possibly several
// times, and which.
func oneSecret(s string) (string, bool) {
	found := secretRE.FindAllString(s, -1)
	for _, f := range found[1:] {
		if f != found[0] {
			return "", false
		}
	}
	if len(found) == 0 {
		return "", false
	}
	return found[0], true
}

// 200 turns of two tenants at once, each delegating to an isolated and a
// shared sub-agent (400 delegations): no sub-agent turn sees, and no
// thread of either tenant holds, anything of another turn (Mastra #21625,
// where concurrent users' delegations shared the sub-agent's memory).
func TestConcurrentDelegationsDoNotBleed(t *testing.T) {
	store := openStore(t, memory.Options{DatabaseURL: pgtest.NewDatabase(t), MaxOpenConns: 20})
	var mu sync.Mutex
	var bled []string
	watch := func(m scripted) scripted {
		return func(req llm.Request) *llm.Response {
			var all []string
			for _, msg := range req.Messages {
				if msg.Role != llm.RoleSystem {
					all = append(all, msg.Content)
				}
			}
			if _, ok := oneSecret(strings.Join(all, " ")); !ok {
				mu.Lock()
				bled = append(bled, strings.Join(all, " | "))
				mu.Unlock()
			}
			return m(req)
		}
	}
	svc := newService(t, store,
		&Agent{ID: "boss", Model: bossModel("agent-scout", "agent-keeper"), Provider: "test", LastMessages: 10,
			SubAgents: []SubAgent{{ID: "scout"}, {ID: "keeper", Memory: MemoryShared}}},
		&Agent{ID: "scout", Model: watch(parrot), Provider: "test", LastMessages: 10},
		&Agent{ID: "keeper", Model: watch(parrot), Provider: "test", LastMessages: 10},
	)
	tenants := []string{"acme", "globex"}
	const turns = 200
	var wg sync.WaitGroup
	errs := make(chan error, turns)
	for i := range turns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tenant := tenants[i%2]
			secret := fmt.Sprintf("secret-%s-%d", tenant, i)
			res, err := svc.Generate(context.Background(), Input{AgentID: "boss", ResourceID: tenant,
				ThreadID: fmt.Sprintf("th-%d", i), Messages: user(secret)})
			if err != nil {
				errs <- err
				return
			}
			if got, ok := oneSecret(res.Text); !ok || got != secret || strings.Count(res.Text, secret) != 4 {
				errs <- fmt.Errorf("turn %d answered %q; want its own secret from both sub-agents", i, res.Text)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(bled) > 0 {
		t.Errorf("%d sub-agent calls saw more than one turn's secret, e.g. %q", len(bled), bled[0])
	}

	ctx := context.Background()
	for _, tenant := range tenants {
		for _, res := range []string{tenant, SubAgentResource(tenant, "scout")} {
			page, err := store.ListThreads(ctx, memory.ThreadQuery{ResourceID: res, PerPage: -1})
			if err != nil {
				t.Fatal(err)
			}
			// The caller's threads and the shared sub-agent's: two per
			// turn; the isolated sub-agent's: one per delegation.
			want := turns
			if res != tenant {
				want = turns / 2
			}
			if len(page.Threads) != want {
				t.Errorf("resource %s holds %d threads; want %d", res, len(page.Threads), want)
			}
			for _, th := range page.Threads {
				for _, m := range messages(t, store, th.ID) {
					text := content(t, m).Text()
					if s, ok := oneSecret(text); !ok || !strings.HasPrefix(s, "secret-"+tenant+"-") {
						t.Errorf("thread %s of %s holds %q", th.ID, res, text)
					}
				}
			}
		}
	}
}
