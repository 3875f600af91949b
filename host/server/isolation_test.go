package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/agent"
	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/mcp"
	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/reqctx"
	"github.com/mastra-server/mastra-server/host/workflow"
	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// The two-token isolation suite (issue 9). Tenant A (aliceToken, res-alice)
// owns threads, messages and turns; tenant B (bobToken, res-bob) attacks
// them through every built-in route: by A's ids, by naming A's resource in
// the query, the body, memory.resource and requestContext (JSON, base64,
// mastra__resourceId). Every case asserts that B gets nothing of A's and
// that A's data reads back byte for byte the same afterwards; the admin
// token reaches across resources where the route allows it. A route of
// Server.Routes without a case here fails TestIsolationCoversEveryRoute.

// isolationCases is the suite's list of routes, "METHOD path" as in
// routes.go, each with its case. A new route needs its case here.
var isolationCases = map[string]func(t *testing.T, e *isoEnv){
	"GET /threads":                                      caseRootListThreads,
	"GET /threads/:threadId":                            caseRootGetThread,
	"DELETE /threads/:threadId":                         caseRootDeleteThread,
	"POST /agent/generate":                              caseTurn(false, false, "/agent/generate"),
	"POST /agent/stream":                                caseTurn(false, true, "/agent/stream"),
	"POST /chat/:agentId":                               caseChat,
	"GET /chat/:agentId/:chatId/stream":                 caseChatResume,
	"GET /api/agents":                                   caseNoTenantData("/api/agents"),
	"GET /api/agents/:agentId":                          caseNoTenantData("/api/agents/assistant", "/api/agents/providers"),
	"POST /api/agents/:agentId/generate":                caseTurn(true, false, "/api/agents/assistant/generate"),
	"POST /api/agents/:agentId/stream":                  caseTurn(true, true, "/api/agents/assistant/stream"),
	"POST /api/agents/:agentId/generate/vnext":          caseTurn(true, false, "/api/agents/assistant/generate/vnext"),
	"POST /api/agents/:agentId/stream/vnext":            caseTurn(true, true, "/api/agents/assistant/stream/vnext"),
	"GET /api/memory/status":                            caseNoTenantData("/api/memory/status?agentId=assistant"),
	"GET /api/memory/config":                            caseNoTenantData("/api/memory/config?agentId=assistant"),
	"GET /api/memory/search":                            caseSearchMemory,
	"GET /api/memory/threads":                           caseAPIListThreads,
	"POST /api/memory/threads":                          caseAPICreateThread,
	"GET /api/memory/threads/:threadId":                 caseAPIGetThread,
	"PATCH /api/memory/threads/:threadId":               caseAPIUpdateThread,
	"GET /api/memory/threads/:threadId/working-memory":  caseGetWorkingMemory,
	"POST /api/memory/threads/:threadId/working-memory": caseUpdateWorkingMemory,
	"DELETE /api/memory/threads/:threadId":              caseAPIDeleteThread,
	"GET /api/memory/threads/:threadId/messages":        caseAPIListMessages,
	"POST /api/memory/save-messages":                    caseSaveMessages,
	"POST /api/memory/messages/delete":                  caseDeleteMessages,
	"GET /api/tools":                                    caseNoTenantData("/api/tools"),
	"GET /api/tools/:toolId":                            caseNoTenantData("/api/tools/whoami"),
	"POST /api/tools/:toolId/execute":                   caseTool("/api/tools/whoami/execute"),
	"GET /api/agents/:agentId/tools/:toolId":            caseNoTenantData("/api/agents/assistant/tools/whoami"),
	"POST /api/agents/:agentId/tools/:toolId/execute":   caseTool("/api/agents/assistant/tools/whoami/execute"),
	"GET /api/openapi.json":                             caseNoTenantData("/api/openapi.json"),
	"GET /docs":                                         caseNoTenantData("/docs"),
	"GET /playground":                                   caseNoTenantData("/playground"),
}

func init() {
	// The workflow routes' cases are in isolation_workflow_test.go, the
	// stream reconnects' in isolation_resume_test.go.
	for k, v := range workflowIsolationCases {
		isolationCases[k] = v
	}
	// Those of Mastra Studio's routes, in isolation_studio_test.go.
	for k, v := range studioIsolationCases {
		isolationCases[k] = v
	}
	// The stream reconnects', in isolation_resume_test.go.
	for k, v := range resumeIsolationCases {
		isolationCases[k] = v
	}
	// The MCP routes', in isolation_mcp_test.go.
	for k, v := range mcpIsolationCases {
		isolationCases[k] = v
	}
}

// TestIsolationCoversEveryRoute fails when a route is added to routes.go
// without an isolation case, or when a case names a route that is gone.
func TestIsolationCoversEveryRoute(t *testing.T) {
	s, _, _ := isoServer(t, "sqlite")
	served := map[string]bool{}
	for _, rt := range s.Routes() {
		key := rt.Method + " " + rt.Path
		served[key] = true
		if isolationCases[key] == nil {
			t.Errorf("route %s (touches %s) has no two-token isolation case: add one to isolationCases in host/server/isolation_test.go "+
				"that tries to reach tenant A's data through it as tenant B and checks A's data is unchanged", key, rt.Touches)
		}
	}
	for key := range isolationCases {
		if !served[key] {
			t.Errorf("isolationCases lists %s, which Server.Routes no longer has: remove its case", key)
		}
	}
}

// TestTwoTokenIsolation runs every route's case on both stores, each in
// its own subtest, and after each one reads A's data back.
func TestTwoTokenIsolation(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) { twoTokenIsolation(t, kind) })
	}
}

func twoTokenIsolation(t *testing.T, kind string) {
	{
		s, base, eng := isoServer(t, kind)
		e := newIsoEnv(t, s.store, eng, base)
		for _, rt := range s.Routes() {
			key := rt.Method + " " + rt.Path
			run := isolationCases[key]
			if run == nil {
				continue // TestIsolationCoversEveryRoute reports it
			}
			t.Run(key, func(t *testing.T) {
				e.t = t
				run(t, e)
				e.checkAUnchanged(t)
				e.checkNoLeak(t)
			})
		}
	}
}

// TestIsolationWithoutToken: every route answers 401 without a token and
// with a wrong one, even when the request names A's resource and ids, and
// A's data is unchanged.
func TestIsolationWithoutToken(t *testing.T) {
	s, base, eng := isoServer(t, "sqlite")
	e := newIsoEnv(t, s.store, eng, base)
	ids := strings.NewReplacer(":threadId", "a-thread", ":agentId", "assistant", ":toolId", "whoami",
		":workflowId", "approve", ":runId", "a-run-suspended")
	body := `{"message":"x","messages":"x","threadId":"a-thread","resourceId":"res-alice","memory":{"thread":"a-thread","resource":"res-alice"},` +
		`"requestContext":{"mastra__resourceId":"res-alice"},"title":"pwned","messageIds":["alice-saved-1"],"data":{"n":1}}`
	for _, rt := range s.Routes() {
		path := ids.Replace(rt.Path) + "?agentId=assistant&runId=a-run-pending&resourceId=res-alice&requestContext=" + e.ctxB64
		for _, auth := range [][]string{nil, {"Authorization", "Bearer tok-wrong-0000000000"}, {"Authorization", "Basic " + aliceToken}} {
			h := append([]string{"Content-Type", jsonCT}, auth...)
			r := do(t, rt.Method, base+path, body, h...)
			if r.status != 401 || r.body["error"] != "Invalid or expired token" {
				t.Errorf("%s %s with %v = %d %s; want 401", rt.Method, rt.Path, auth, r.status, r.raw)
			}
			if strings.Contains(r.raw, "alice-secret") {
				t.Errorf("%s %s without a token leaked A's data: %s", rt.Method, rt.Path, r.raw)
			}
		}
	}
	e.checkAUnchanged(t)
}

// isoServer is a server with token auth, the echo agent, a tool that
// reports the resource it ran for and that resource's threads, and the
// workflow engine with the approve workflow, on a fresh database of kind
// (sqlite or postgres).
func isoServer(t *testing.T, kind string) (*Server, string, *workflow.Engine) {
	t.Helper()
	var store *memory.Store
	var eng *workflow.Engine
	if kind == "sqlite" {
		path := filepath.Join(t.TempDir(), "m.db")
		store = openStore(t, memory.Options{SQLitePath: path})
		eng = isoWorkflows(t, workflow.Options{SQLitePath: path})
	} else {
		u := pgtest.NewDatabase(t)
		store = openStore(t, memory.Options{DatabaseURL: u})
		eng = isoWorkflows(t, workflow.Options{DatabaseURL: u})
	}
	whoami := fnTool{"whoami", func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		res, _ := reqctx.From(ctx).GetString(reqctx.ResourceIDKey)
		threads := []string{}
		if res != "" {
			p, err := store.ListThreads(ctx, memory.ThreadQuery{ResourceID: res, PerPage: -1})
			if err != nil {
				return nil, err
			}
			for _, th := range p.Threads {
				threads = append(threads, th.ID)
			}
		}
		return json.Marshal(map[string]any{"resource": res, "threads": threads})
	}}
	agents := []*agent.Agent{
		{ID: "assistant", Name: "Assistant", Model: llm.Echo{}, Provider: "echo", LastMessages: 10, Tools: []agent.Tool{whoami}},
		// Working memory of both scopes, for the working-memory routes.
		{ID: "wm", Name: "WM", Model: llm.Echo{}, Provider: "echo", LastMessages: 10,
			WorkingMemory: &agent.WorkingMemory{Scope: agent.ScopeResource, Template: "# Notes\n"}},
		{ID: "wmt", Name: "WMT", Model: llm.Echo{}, Provider: "echo", LastMessages: 10,
			WorkingMemory: &agent.WorkingMemory{Scope: agent.ScopeThread, Template: "# Notes\n"}},
		// Semantic recall, for memory search.
		{ID: "recall", Name: "Recall", Model: llm.Echo{}, Provider: "echo", LastMessages: 10,
			SemanticRecall: &agent.SemanticRecall{Embedder: llm.EchoEmbedder{}, EmbedderRef: "echo", TopK: 5, Before: 1, After: 1, Scope: "resource"}},
		// Its turns wait for an approval, for the approval routes.
		{ID: "approver", Name: "Approver", Model: callThenAnswer{"whoami"}, Provider: "openai", ModelID: "fake",
			Tools: []agent.Tool{whoami}, RequireApproval: true},
	}
	svc, err := agent.NewService(store, agents, "assistant", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	withAuth(&cfg)
	cfg.OpenAPI = true // the document and /docs, which must answer every token alike
	cfg.Playground = true
	s, ts := newTestServer(t, Options{Config: cfg, Store: store, Agents: svc, Workflows: eng, DefaultResourceID: "anon", Vectors: []string{"docs"},
		Embedders: MastraEmbedders, ScoreTrace: isoScoreTrace,
		Runs: openRuns(t, store, runsOptions{}), MCPServers: []MCPServer{{ID: "main", Agents: []string{"assistant"}, Tools: []string{"whoami"},
			Resources: []mcp.Resource{{URI: "docs://readme", MIMEType: "text/markdown", Text: "# Readme"}}}}})
	return s, ts.URL, eng
}

// isoEnv holds A's data as A saw it after seeding, and every answer B got.
type isoEnv struct {
	t      *testing.T
	store  *memory.Store
	eng    *workflow.Engine
	base   string
	aMsgs  []string // ids of A's messages
	aSnap  map[string]string
	bSeen  []isoSeen
	taken  response // B creating a thread id B already has: the answer any taken id gets
	ctxB64 string   // requestContext naming A's resource, base64 as client-js sends it
	ctxRaw string   // the same as JSON
	n      int      // for fresh ids
}

// isoSeen is one answer B got: its headers that name a thread or resource,
// and its body.
type isoSeen struct{ req, answer string }

// probes are the ways B names A's resource in a query string.
func (e *isoEnv) probes() []string {
	return []string{"", "resourceId=res-alice", "resourceid=res-alice", "requestContext=" + e.ctxB64,
		"requestContext=" + e.ctxRaw, "resourceId=res-alice&requestContext=" + e.ctxB64}
}

func newIsoEnv(t *testing.T, store *memory.Store, eng *workflow.Engine, base string) *isoEnv {
	t.Helper()
	ctx := `{"mastra__resourceId":"res-alice","mastra__user":"alice","resourceId":"res-alice"}`
	e := &isoEnv{t: t, store: store, eng: eng, base: base,
		ctxB64: url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(ctx))), ctxRaw: url.QueryEscape(ctx)}
	must := func(r response, what string) {
		t.Helper()
		if r.status != 200 {
			t.Fatalf("seed: %s = %d %s", what, r.status, r.raw)
		}
	}
	// A: a titled thread with metadata, a turn with an idempotency key, a
	// saved message, and a second thread made by a Mastra turn whose user
	// message carries a client id.
	must(e.as(aliceToken, "POST", "/api/memory/threads?agentId=assistant",
		`{"threadId":"a-thread","title":"alice title","metadata":{"owner":"alice-meta","n":1}}`), "A create")
	must(e.as(aliceToken, "POST", "/agent/generate", `{"message":"alice-secret one","threadId":"a-thread"}`,
		"Idempotency-Key", "shared-key"), "A turn")
	must(e.as(aliceToken, "POST", "/api/memory/save-messages?agentId=assistant",
		`{"messages":[{"id":"alice-saved-1","role":"user","content":"alice-secret saved","threadId":"a-thread"}]}`), "A save")
	must(e.as(aliceToken, "POST", "/api/agents/assistant/generate",
		`{"messages":[{"id":"ui-msg-7f3a","role":"user","content":"alice-secret two"}],"memory":{"thread":"a-second","resource":"res-alice"}}`), "A api turn")
	// A's working memory: the resource's, and a-thread's own.
	must(e.as(aliceToken, "POST", "/api/memory/threads/a-thread/working-memory?agentId=wm",
		`{"workingMemory":"# Notes\nalice-secret resource memory"}`), "A resource working memory")
	must(e.as(aliceToken, "POST", "/api/memory/threads/a-thread/working-memory?agentId=wmt",
		`{"workingMemory":"# Notes\nalice-secret thread memory"}`), "A thread working memory")
	// B: one thread of his own. Carol: a third resource, for the admin.
	must(e.as(bobToken, "POST", "/agent/generate", `{"message":"bob own","threadId":"b-thread"}`), "B turn")
	seed(t, store, "res-carol", "c-thread", "carol one", "carol two")

	e.taken = e.as(bobToken, "POST", "/api/memory/threads?agentId=assistant", `{"threadId":"b-thread"}`)
	if e.taken.status != 409 {
		t.Fatalf("B creating his own b-thread again = %d %s; want 409", e.taken.status, e.taken.raw)
	}
	for _, th := range []string{"a-thread", "a-second"} {
		for _, m := range e.as(aliceToken, "GET", "/api/memory/threads/"+th+"/messages?perPage=1000", "").body["messages"].([]any) {
			e.aMsgs = append(e.aMsgs, m.(map[string]any)["id"].(string))
		}
	}
	if len(e.aMsgs) != 5 {
		t.Fatalf("seed: A has %d messages %v; want 5", len(e.aMsgs), e.aMsgs)
	}
	e.seedWorkflows(t)
	e.aSnap = e.snapshotA(t)
	return e
}

// as sends a request with a token; headers are extra header pairs.
func (e *isoEnv) as(tok, method, path, body string, headers ...string) response {
	e.t.Helper()
	h := append([]string{"Authorization", "Bearer " + tok}, headers...)
	if body != "" {
		h = append(h, "Content-Type", jsonCT)
	}
	return do(e.t, method, e.base+path, body, h...)
}

// b sends a request as B and keeps the answer for the leak check.
func (e *isoEnv) b(method, path, body string, headers ...string) response {
	e.t.Helper()
	r := e.as(bobToken, method, path, body, headers...)
	e.bSeen = append(e.bSeen, isoSeen{method + " " + path,
		r.header.Get("X-Thread-Id") + " " + r.header.Get("X-Resource-Id") + " " + r.raw})
	return r
}

func (e *isoEnv) admin(method, path, body string) response {
	e.t.Helper()
	return e.as(adminToken, method, path, body)
}

func (e *isoEnv) fresh(prefix string) string {
	e.n++
	return fmt.Sprintf("%s-%d", prefix, e.n)
}

// snapshotA reads all of A's data as A, through both faces of the store.
func (e *isoEnv) snapshotA(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	get := func(path string) response {
		t.Helper()
		r := e.as(aliceToken, "GET", path, "")
		if r.status != 200 {
			t.Fatalf("A reading %s = %d %s", path, r.status, r.raw)
		}
		out[path] = r.raw
		return r
	}
	list := get("/api/memory/threads?perPage=1000")
	get("/threads?perPage=1000")
	for _, id := range threadIDs(t, list) {
		get("/api/memory/threads/" + id)
		get("/api/memory/threads/" + id + "/messages?perPage=1000")
		get("/threads/" + id + "?perPage=1000")
		get("/api/memory/threads/" + id + "/working-memory?agentId=wm")
		get("/api/memory/threads/" + id + "/working-memory?agentId=wmt")
	}
	get("/api/workflows/approve/runs")
	get("/api/workflows/approve/runs?status=suspended")
	get("/api/workflows/run-counts")
	for _, id := range aRuns {
		get("/api/workflows/approve/runs/" + id)
	}
	return out
}

// checkAUnchanged: A's threads, titles, metadata, messages, contents and
// counts read back exactly as after seeding.
func (e *isoEnv) checkAUnchanged(t *testing.T) {
	t.Helper()
	now := e.snapshotA(t)
	for path, was := range e.aSnap {
		if now[path] != was {
			t.Errorf("A's data changed: GET %s\n was %s\n now %s", path, was, now[path])
		}
	}
	for path := range now {
		if _, ok := e.aSnap[path]; !ok {
			t.Errorf("A has a new thread: GET %s = %s", path, now[path])
		}
	}
}

// checkNoLeak: nothing B got back names A's resource, threads, texts,
// title, metadata or message ids.
func (e *isoEnv) checkNoLeak(t *testing.T) {
	t.Helper()
	markers := append([]string{"alice", "a-thread", "a-second", "ui-msg-7f3a"}, e.aMsgs...)
	for _, seen := range e.bSeen {
		for _, m := range markers {
			if strings.Contains(seen.answer, m) {
				t.Errorf("B saw %q of A's: %s answered %s", m, seen.req, seen.answer)
			}
		}
	}
	e.bSeen = nil
}

func wantStatus(t *testing.T, r response, status int, what string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s = %d %s; want %d", what, r.status, r.raw, status)
	}
}

// wantNotFound: the 404 of a thread B cannot see, exactly the answer for an
// id nobody has, so existence does not leak either.
func (e *isoEnv) wantNotFound(t *testing.T, r response, nobody response, what string) {
	t.Helper()
	if r.status != 404 || r.body["error"] != "Thread not found" {
		t.Errorf("%s = %d %s; want 404 Thread not found", what, r.status, r.raw)
	}
	if r.raw != nobody.raw {
		t.Errorf("%s = %s; want exactly the answer for a missing thread: %s", what, r.raw, nobody.raw)
	}
}

func (e *isoEnv) wantTaken(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != e.taken.status || r.raw != e.taken.raw {
		t.Errorf("%s = %d %s; want exactly the answer for B's own taken id: %d %s", what, r.status, r.raw, e.taken.status, e.taken.raw)
	}
}

// wantOnlyB: a thread listing with none of A's threads.
func wantOnlyB(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != 200 {
		t.Errorf("%s = %d %s; want 200", what, r.status, r.raw)
		return
	}
	for _, th := range r.body["threads"].([]any) {
		if res := th.(map[string]any)["resourceId"]; res != "res-bob" {
			t.Errorf("%s lists a thread of %v: %v", what, res, th)
		}
	}
	if !slices.Contains(threadIDs(t, r), "b-thread") {
		t.Errorf("%s = %s; want B's own b-thread listed", what, r.raw)
	}
}

// adminList: the admin lists every resource without naming one, and one
// resource when naming it.
func (e *isoEnv) adminList(t *testing.T, path string) {
	t.Helper()
	r := e.admin("GET", path, "")
	ids := threadIDs(t, r)
	for _, want := range []string{"a-thread", "a-second", "b-thread", "c-thread"} {
		if !slices.Contains(ids, want) {
			t.Errorf("admin GET %s = %v; want %s among every resource's threads", path, ids, want)
		}
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	r = e.admin("GET", path+sep+"resourceId=res-alice", "")
	if ids := threadIDs(t, r); len(ids) != 2 || !slices.Contains(ids, "a-thread") || !slices.Contains(ids, "a-second") {
		t.Errorf("admin GET %s naming res-alice = %v; want A's two threads", path, ids)
	}
}

func caseRootListThreads(t *testing.T, e *isoEnv) {
	for _, q := range e.probes() {
		wantOnlyB(t, e.b("GET", "/threads?perPage=1000&"+q, ""), "B GET /threads?"+q)
	}
	e.adminList(t, "/threads?perPage=1000")
}

func caseRootGetThread(t *testing.T, e *isoEnv) {
	nobody := e.b("GET", "/threads/no-such-thread", "")
	for _, id := range []string{"a-thread", "a-second"} {
		for _, q := range e.probes() {
			e.wantNotFound(t, e.b("GET", "/threads/"+id+"?"+q, ""), nobody, "B GET /threads/"+id+"?"+q)
		}
	}
	r := e.admin("GET", "/threads/a-thread?perPage=1000", "")
	if r.raw != e.aSnap["/threads/a-thread?perPage=1000"] {
		t.Errorf("admin GET /threads/a-thread = %d %s; want what A reads", r.status, r.raw)
	}
}

func caseRootDeleteThread(t *testing.T, e *isoEnv) {
	nobody := e.b("DELETE", "/threads/no-such-thread", "")
	for _, id := range []string{"a-thread", "a-second"} {
		for _, q := range e.probes() {
			e.wantNotFound(t, e.b("DELETE", "/threads/"+id+"?"+q, ""), nobody, "B DELETE /threads/"+id+"?"+q)
		}
	}
	e.adminDeletes(t, "/threads/%s")
}

// adminDeletes: the admin deletes a thread of another resource (Carol's,
// made for the purpose) by id alone.
func (e *isoEnv) adminDeletes(t *testing.T, pathf string) {
	t.Helper()
	id := e.fresh("c-del")
	seed(t, e.store, "res-carol", id, "carol doomed")
	wantStatus(t, e.admin("DELETE", fmt.Sprintf(pathf, id), ""), 200, "admin DELETE "+id)
	if _, err := e.store.Thread(context.Background(), "", id); err == nil {
		t.Errorf("admin DELETE %s: the thread is still there", id)
	}
}

func caseAPIListThreads(t *testing.T, e *isoEnv) {
	for _, q := range append(e.probes(), "agentId=assistant&resourceId=res-alice",
		"metadata="+url.QueryEscape(`{"owner":"alice-meta"}`), "orderBy=updatedAt&sortDirection=ASC&resourceId=res-alice") {
		r := e.b("GET", "/api/memory/threads?perPage=1000&"+q, "")
		if strings.HasPrefix(q, "metadata=") {
			if r.status != 200 || len(threadIDs(t, r)) != 0 {
				t.Errorf("B filtering by A's metadata = %d %s; want no thread", r.status, r.raw)
			}
			continue
		}
		wantOnlyB(t, r, "B GET /api/memory/threads?"+q)
	}
	e.adminList(t, "/api/memory/threads?perPage=1000")
}

// caseSearchMemory: A's messages are embedded (as the recall agent's jobs
// would embed them); A finds them, B finds nothing of A's whichever way he
// names A's resource or thread, and a thread of A's is the 404 of a
// missing thread.
func caseSearchMemory(t *testing.T, e *isoEnv) {
	ctx := context.Background()
	msgs, err := e.store.MessagesByID(ctx, "res-alice", e.aMsgs)
	if err != nil || len(msgs) != len(e.aMsgs) {
		t.Fatalf("A's messages: %d, %v", len(msgs), err)
	}
	if err := e.store.CreateVectorIndex(ctx, agent.RecallSpace, "memory_messages_256", llm.EchoDimensions, memory.MetricCosine); err != nil {
		t.Fatal(err)
	}
	var recs []memory.VectorRecord
	for _, m := range msgs {
		c, _ := memory.ParseContent(m.Content)
		v, _ := llm.HashEmbedding(c.Text(), llm.EchoDimensions)
		recs = append(recs, memory.VectorRecord{ID: m.ID, Vector: v,
			Metadata: map[string]any{"message_id": m.ID, "thread_id": m.ThreadID, "resource_id": "res-alice", "role": m.Role}})
	}
	if err := e.store.UpsertVectors(ctx, agent.RecallSpace, "memory_messages_256", recs); err != nil {
		t.Fatal(err)
	}
	const q = "/api/memory/search?agentId=recall&searchQuery=secret+one"
	if r := e.as(aliceToken, "GET", q+"&threadId=a-thread", ""); r.status != 200 || r.body["count"].(float64) < 1 {
		t.Fatalf("A searching her memory = %d %s; want her messages", r.status, r.raw)
	}
	for _, p := range append(e.probes(), "threadId=b-thread&resourceId=res-alice",
		"memoryConfig="+url.QueryEscape(`{"semanticRecall":{"scope":"resource","topK":10}}`)) {
		r := e.b("GET", q+"&"+p, "")
		if r.status != 200 || r.body["count"] != 0.0 {
			t.Errorf("B search ?%s = %d %s; want nothing", p, r.status, r.raw)
		}
	}
	nobody := e.b("GET", q+"&threadId=nobody-thread", "")
	for _, p := range []string{"threadId=a-thread", "threadId=a-second&resourceId=res-alice", "threadId=a-thread&requestContext=" + e.ctxB64} {
		e.wantNotFound(t, e.b("GET", q+"&"+p, ""), nobody, "B search ?"+p)
	}
	if r := e.admin("GET", q+"&resourceId=res-alice", ""); r.status != 200 || r.body["count"].(float64) < 1 {
		t.Errorf("admin searching res-alice = %d %s; want A's messages", r.status, r.raw)
	}
	if r := e.admin("GET", q, ""); r.status != 400 {
		t.Errorf("admin search naming no resource = %d %s; want 400", r.status, r.raw)
	}
}

func caseAPICreateThread(t *testing.T, e *isoEnv) {
	// A's ids are taken: exactly the answer B's own taken id gets, and
	// nothing of A's is overwritten (checked after the case).
	for _, body := range []string{
		`{"threadId":"a-thread"}`,
		`{"threadId":"a-thread","resourceId":"res-alice","title":"hijack","metadata":{"owner":"bob"}}`,
		`{"threadId":"a-second","title":"hijack","requestContext":{"mastra__resourceId":"res-alice"}}`,
	} {
		e.wantTaken(t, e.b("POST", "/api/memory/threads?agentId=assistant&resourceId=res-alice&requestContext="+e.ctxB64, body), "B create "+body)
	}
	// Naming A's resource makes a thread of B's, never of A's.
	id := e.fresh("b-made")
	r := e.b("POST", "/api/memory/threads?agentId=assistant&resourceId=res-alice",
		`{"threadId":"`+id+`","resourceId":"res-alice","requestContext":{"mastra__resourceId":"res-alice"}}`)
	if r.status != 200 || r.body["resourceId"] != "res-bob" {
		t.Errorf("B create naming A's resource = %d %s; want a thread of res-bob", r.status, r.raw)
	}
	// The admin creates for any resource it names, and must name one.
	id = e.fresh("c-made")
	r = e.admin("POST", "/api/memory/threads?agentId=assistant", `{"threadId":"`+id+`","resourceId":"res-carol"}`)
	if r.status != 200 || r.body["resourceId"] != "res-carol" {
		t.Errorf("admin create for res-carol = %d %s", r.status, r.raw)
	}
	wantStatus(t, e.admin("POST", "/api/memory/threads?agentId=assistant", `{"threadId":"`+e.fresh("c-none")+`"}`), 400,
		"admin create naming no resource")
	r = e.admin("POST", "/api/memory/threads?agentId=assistant", `{"threadId":"a-thread","resourceId":"res-carol"}`)
	if r.raw != e.taken.raw {
		t.Errorf("admin create over a-thread = %d %s; want the taken answer", r.status, r.raw)
	}
}

func caseAPIGetThread(t *testing.T, e *isoEnv) {
	nobody := e.b("GET", "/api/memory/threads/no-such-thread", "")
	for _, id := range []string{"a-thread", "a-second"} {
		for _, q := range append(e.probes(), "agentId=assistant&resourceId=res-alice") {
			e.wantNotFound(t, e.b("GET", "/api/memory/threads/"+id+"?"+q, ""), nobody, "B GET /api/memory/threads/"+id+"?"+q)
		}
	}
	if r := e.admin("GET", "/api/memory/threads/a-thread", ""); r.raw != e.aSnap["/api/memory/threads/a-thread"] {
		t.Errorf("admin GET a-thread = %d %s; want what A reads", r.status, r.raw)
	}
}

func caseAPIUpdateThread(t *testing.T, e *isoEnv) {
	nobody := e.b("PATCH", "/api/memory/threads/no-such-thread?agentId=assistant", `{"title":"x"}`)
	for _, id := range []string{"a-thread", "a-second"} {
		for _, q := range e.probes() {
			for _, body := range []string{
				`{"title":"pwned"}`,
				`{"title":"pwned","metadata":{"owner":"bob"},"resourceId":"res-bob"}`,
				`{"metadata":{},"resourceId":"res-alice","requestContext":{"mastra__resourceId":"res-alice"}}`,
			} {
				e.wantNotFound(t, e.b("PATCH", "/api/memory/threads/"+id+"?agentId=assistant&"+q, body), nobody,
					"B PATCH "+id+"?"+q+" "+body)
			}
		}
	}
	// B cannot hand his own thread to A either.
	r := e.b("PATCH", "/api/memory/threads/b-thread?agentId=assistant&resourceId=res-alice", `{"title":"gift","resourceId":"res-alice"}`)
	if r.status != 200 || r.body["resourceId"] != "res-bob" {
		t.Errorf("B moving b-thread to res-alice = %d %s; want it kept by res-bob", r.status, r.raw)
	}
	wantStatus(t, e.b("PATCH", "/api/memory/threads/b-thread?agentId=assistant", `{"title":""}`), 200, "B restoring his title")
	// The admin updates a thread of any resource by id.
	r = e.admin("PATCH", "/api/memory/threads/c-thread?agentId=assistant", `{"title":"by admin","metadata":{"k":"v"}}`)
	if r.status != 200 || r.body["title"] != "by admin" || r.body["resourceId"] != "res-carol" {
		t.Errorf("admin PATCH c-thread = %d %s; want it retitled, still Carol's", r.status, r.raw)
	}
}

func caseAPIDeleteThread(t *testing.T, e *isoEnv) {
	nobody := e.b("DELETE", "/api/memory/threads/no-such-thread?agentId=assistant", "")
	for _, id := range []string{"a-thread", "a-second"} {
		for _, q := range e.probes() {
			e.wantNotFound(t, e.b("DELETE", "/api/memory/threads/"+id+"?agentId=assistant&"+q, ""), nobody, "B DELETE "+id+"?"+q)
		}
	}
	e.adminDeletes(t, "/api/memory/threads/%s?agentId=assistant")
}

func caseAPIListMessages(t *testing.T, e *isoEnv) {
	nobody := e.b("GET", "/api/memory/threads/no-such-thread/messages", "")
	for _, id := range []string{"a-thread", "a-second"} {
		for _, q := range append(e.probes(), "agentId=assistant&resourceId=res-alice&perPage=1000&orderBy=createdAt&sortDirection=DESC") {
			e.wantNotFound(t, e.b("GET", "/api/memory/threads/"+id+"/messages?"+q, ""), nobody, "B GET messages of "+id+"?"+q)
		}
	}
	p := "/api/memory/threads/a-thread/messages?perPage=1000"
	if r := e.admin("GET", p, ""); r.raw != e.aSnap[p] {
		t.Errorf("admin GET %s = %d %s; want what A reads", p, r.status, r.raw)
	}
}

func caseSaveMessages(t *testing.T, e *isoEnv) {
	q := "/api/memory/save-messages?agentId=assistant&resourceId=res-alice&requestContext=" + e.ctxB64
	// Into A's threads: 404, as for a thread nobody has.
	nobody := e.b("POST", "/api/memory/save-messages?agentId=assistant",
		`{"messages":[{"role":"user","content":"x","threadId":"no-such-thread"}]}`)
	for _, th := range []string{"a-thread", "a-second"} {
		e.wantNotFound(t, e.b("POST", q, `{"messages":[{"role":"user","content":"planted","threadId":"`+th+`","resourceId":"res-alice"}]}`),
			nobody, "B save into "+th)
	}
	// A's message ids, into B's own thread or A's: refused, the whole batch.
	for _, id := range e.aMsgs {
		r := e.b("POST", q, `{"messages":[{"id":"b-ok-`+id[len(id)-4:]+`","role":"user","content":"fine","threadId":"b-thread"},`+
			`{"id":"`+id+`","role":"user","content":"overwritten","threadId":"b-thread"}]}`)
		if r.status != 409 {
			t.Errorf("B saving A's message id %s into b-thread = %d %s; want 409", id, r.status, r.raw)
		}
		r = e.b("POST", q, `{"messages":[{"id":"`+id+`","role":"assistant","content":"overwritten","threadId":"a-thread"}]}`)
		if r.status != 404 && r.status != 409 {
			t.Errorf("B saving A's message id %s into a-thread = %d %s; want 404 or 409", id, r.status, r.raw)
		}
	}
	if r := e.b("GET", "/api/memory/threads/b-thread/messages", ""); r.body["total"] != 2.0 {
		t.Errorf("b-thread after refused batches = %s; want B's 2 messages only (nothing half-written)", r.raw)
	}
	// Even the admin cannot move A's message into another resource's thread.
	r := e.admin("POST", "/api/memory/save-messages?agentId=assistant",
		`{"messages":[{"id":"`+e.aMsgs[0]+`","role":"user","content":"moved","threadId":"c-thread","resourceId":"res-carol"}]}`)
	if r.status != 409 {
		t.Errorf("admin moving A's message to c-thread = %d %s; want 409", r.status, r.raw)
	}
	// The admin saves into any resource's thread it names.
	id := e.fresh("c-msg")
	r = e.admin("POST", "/api/memory/save-messages?agentId=assistant",
		`{"messages":[{"id":"`+id+`","role":"user","content":"admin note","threadId":"c-thread","resourceId":"res-carol"}]}`)
	if r.status != 200 || !strings.Contains(r.raw, "admin note") {
		t.Errorf("admin save into c-thread = %d %s", r.status, r.raw)
	}
}

func caseDeleteMessages(t *testing.T, e *isoEnv) {
	var quoted []string
	for _, id := range e.aMsgs {
		quoted = append(quoted, `"`+id+`"`)
	}
	all := "[" + strings.Join(quoted, ",") + "]"
	for _, q := range e.probes() {
		for _, body := range []string{`{"messageIds":` + all + `}`, `{"messageIds":"` + e.aMsgs[0] + `"}`,
			`{"messageIds":{"id":"` + e.aMsgs[1] + `"}}`, `{"messageIds":[{"id":"` + e.aMsgs[2] + `"}]}`} {
			r := e.b("POST", "/api/memory/messages/delete?agentId=assistant&"+q, body)
			if r.status != 200 || r.body["message"] != "0 message(s) deleted" {
				t.Errorf("B deleting A's messages (%s) = %d %s; want 0 deleted", body, r.status, r.raw)
			}
		}
	}
	// The admin deletes a message of any resource by id.
	id := e.fresh("c-gone")
	if _, err := e.store.SaveMessages(context.Background(), "res-carol", []memory.Message{{ID: id, ThreadID: "c-thread",
		Role: "user", Content: memory.TextContent("carol doomed", isoTime)}}); err != nil {
		t.Fatal(err)
	}
	r := e.admin("POST", "/api/memory/messages/delete?agentId=assistant", `{"messageIds":["`+id+`"]}`)
	if r.status != 200 || r.body["message"] != "1 message(s) deleted" {
		t.Errorf("admin deleting Carol's message = %d %s; want 1 deleted", r.status, r.raw)
	}
}

// caseNoTenantData: a route that holds no tenant data answers B exactly as
// it answers A, whatever resource B names.
func caseNoTenantData(paths ...string) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		for _, path := range paths {
			noTenantData(t, e, path)
		}
	}
}

func noTenantData(t *testing.T, e *isoEnv, path string) {
	{
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		want := e.as(aliceToken, "GET", path, "")
		if want.status != 200 {
			t.Fatalf("A GET %s = %d %s", path, want.status, want.raw)
		}
		for _, q := range e.probes() {
			if r := e.b("GET", path+sep+q, ""); r.status != 200 || r.raw != want.raw {
				t.Errorf("B GET %s%s%s = %d %s; want A's answer %s", path, sep, q, r.status, r.raw, want.raw)
			}
		}
		if r := e.admin("GET", path, ""); r.raw != want.raw {
			t.Errorf("admin GET %s = %d %s; want A's answer", path, r.status, r.raw)
		}
	}
}

// caseTool: a tool runs for B's resource whatever resource B names in the
// body's or the query's requestContext; the admin's tool call is bound to
// no resource, and cannot be bound by naming one.
func caseTool(path string) func(t *testing.T, e *isoEnv) {
	return func(t *testing.T, e *isoEnv) {
		type who struct {
			Resource string   `json:"resource"`
			Threads  []string `json:"threads"`
		}
		run := func(r response, what string) who {
			t.Helper()
			var w who
			if r.status != 200 || json.Unmarshal([]byte(r.raw), &w) != nil {
				t.Fatalf("%s = %d %s", what, r.status, r.raw)
			}
			return w
		}
		body := `{"data":{"n":1},"requestContext":{"mastra__resourceId":"res-alice","resourceId":"res-alice","mastra__admin":true}}`
		for _, q := range e.probes() {
			w := run(e.b("POST", path+"?"+q, body), "B "+path+"?"+q)
			if w.Resource != "res-bob" || !slices.Contains(w.Threads, "b-thread") {
				t.Errorf("B's tool call %s?%s ran for %+v; want res-bob", path, q, w)
			}
		}
		if w := run(e.as(aliceToken, "POST", path, `{"data":{"n":1}}`), "A "+path); w.Resource != "res-alice" || len(w.Threads) != 2 {
			t.Errorf("A's tool call ran for %+v; want res-alice and her 2 threads", w)
		}
		if w := run(e.admin("POST", path, body), "admin "+path); w.Resource != "" {
			t.Errorf("admin's tool call naming res-alice ran for %+v; want no resource", w)
		}
	}
}

// caseTurn: B cannot continue A's threads (the same 409 as any taken id),
// reusing A's idempotency key or client message id gets B his own fresh
// turn and never A's stored one, and naming A's resource binds nothing.
// The admin may run a turn on any resource's thread it names.
func caseTurn(mastra, stream bool, path string) func(t *testing.T, e *isoEnv) {
	body := func(thread, text string) string {
		if mastra {
			return fmt.Sprintf(`{"messages":[{"role":"user","content":%q}],"memory":{"thread":%q,"resource":"res-alice"},`+
				`"requestContext":{"mastra__resourceId":"res-alice"}}`, text, thread)
		}
		return fmt.Sprintf(`{"message":%q,"threadId":%q,"resourceId":"res-alice","requestContext":{"mastra__resourceId":"res-alice"}}`, text, thread)
	}
	// text reads the answer of a turn, JSON or SSE.
	text := func(t *testing.T, r response) string {
		t.Helper()
		if r.status != 200 {
			t.Errorf("%s = %d %s", path, r.status, r.raw)
			return ""
		}
		if !stream {
			s, _ := r.body["text"].(string)
			return s
		}
		var out strings.Builder
		for _, line := range strings.Split(r.raw, "\n") {
			var c struct {
				Type    string `json:"type"`
				Payload struct {
					Text string `json:"text"`
				} `json:"payload"`
			}
			if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &c) == nil && c.Type == "text-delta" {
				out.WriteString(c.Payload.Text)
			}
		}
		return out.String()
	}
	return func(t *testing.T, e *isoEnv) {
		q := path + "?resourceId=res-alice&requestContext=" + e.ctxB64
		for _, th := range []string{"a-thread", "a-second"} {
			e.wantTaken(t, e.b("POST", q, body(th, "bob asks")), "B turn on "+th)
		}
		if mastra {
			e.wantTaken(t, e.b("POST", q, `{"messages":"bob asks","memory":{"thread":{"id":"a-thread"},"resource":"res-alice"}}`), "B turn on {id: a-thread}")
		}
		// A's idempotency key, and A's client message id, on a thread of
		// B's: B's own turn, never A's replayed. (The first turn route run
		// makes it; the next ones, the same request on the same thread,
		// replay B's own turn, which is right.)
		if got := text(t, e.b("POST", q, body("b-idem", "bob asks"), "Idempotency-Key", "shared-key")); got != "Echo: bob asks" {
			t.Errorf("B's turn with A's idempotency key answered %q; want his own Echo: bob asks", got)
		}
		if mastra {
			b := `{"messages":[{"id":"ui-msg-7f3a","role":"user","content":"bob asks"}],"memory":{"thread":"b-ui-idem","resource":"res-alice"}}`
			if got := text(t, e.b("POST", q, b)); got != "Echo: bob asks" {
				t.Errorf("B's turn with A's client message id answered %q; want his own", got)
			}
			// No memory: an ephemeral turn remembers nothing of anyone's.
			if got := text(t, e.b("POST", q, `{"messages":"bob asks","requestContext":{"mastra__resourceId":"res-alice"}}`)); got != "Echo: bob asks" {
				t.Errorf("B's ephemeral turn answered %q", got)
			}
		}
		// Naming A's resource everywhere, B's new thread is B's.
		id := e.fresh("b-turn")
		if got := text(t, e.b("POST", q, body(id, "bob again"))); got != "Echo: bob again" {
			t.Errorf("B's turn on a new thread answered %q", got)
		}
		r := e.as(bobToken, "GET", "/api/memory/threads/"+id, "")
		if r.status != 200 || r.body["resourceId"] != "res-bob" {
			t.Errorf("B's new thread %s = %d %s; want it under res-bob", id, r.status, r.raw)
		}
		// The admin continues Carol's thread by naming her resource; naming
		// another resource for it is the taken answer.
		before := threadLen(t, e, "c-thread")
		admin := strings.ReplaceAll(body("c-thread", "admin asks"), "res-alice", "res-carol")
		if got := text(t, e.admin("POST", path, admin)); got != "Echo: admin asks" {
			t.Errorf("admin turn on c-thread answered %q", got)
		}
		if after := threadLen(t, e, "c-thread"); after != before+2 {
			t.Errorf("c-thread has %d messages after the admin's turn; want %d", after, before+2)
		}
		if r := e.admin("POST", path, body("c-thread", "admin asks")); r.raw != e.taken.raw {
			t.Errorf("admin turn on c-thread naming res-alice = %d %s; want the taken answer", r.status, r.raw)
		}
	}
}

var isoTime = time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC)

func threadLen(t *testing.T, e *isoEnv, id string) int {
	t.Helper()
	p, err := e.store.ListMessages(context.Background(), memory.MessageQuery{ThreadID: id, PerPage: -1})
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

// caseGetWorkingMemory: B reading the working memory of A's threads gets
// exactly what he gets for a thread nobody has (his own resource's memory,
// no thread), whatever resource he names; the admin reads A's.
func caseGetWorkingMemory(t *testing.T, e *isoEnv) {
	for _, ag := range []string{"wm", "wmt"} {
		nobody := e.b("GET", "/api/memory/threads/no-such-thread/working-memory?agentId="+ag, "")
		wantStatus(t, nobody, 200, "B GET working memory of a missing thread")
		for _, id := range []string{"a-thread", "a-second"} {
			for _, q := range e.probes() {
				path := "/api/memory/threads/" + id + "/working-memory?agentId=" + ag + "&" + q
				r := e.b("GET", path, "")
				if r.raw != nobody.raw || r.header.Get("ETag") != nobody.header.Get("ETag") {
					t.Errorf("B GET %s = %d %s (ETag %s); want exactly the answer for a missing thread: %s (ETag %s)",
						path, r.status, r.raw, r.header.Get("ETag"), nobody.raw, nobody.header.Get("ETag"))
				}
			}
		}
	}
	for ag, want := range map[string]string{"wm": "alice-secret resource memory", "wmt": "alice-secret thread memory"} {
		r := e.admin("GET", "/api/memory/threads/a-thread/working-memory?agentId="+ag, "")
		if wm, _ := r.body["workingMemory"].(string); r.status != 200 || !strings.Contains(wm, want) {
			t.Errorf("admin GET a-thread working memory (%s) = %d %s; want A's %q", ag, r.status, r.raw, want)
		}
	}
}

// caseUpdateWorkingMemory: B writing the working memory of A's threads gets
// the 404 of a missing thread and changes nothing; naming A's resource on
// his own thread writes his own resource's memory; the admin writes Carol's.
func caseUpdateWorkingMemory(t *testing.T, e *isoEnv) {
	for _, ag := range []string{"wm", "wmt"} {
		nobody := e.b("POST", "/api/memory/threads/no-such-thread/working-memory?agentId="+ag, `{"workingMemory":"# Notes\nx"}`)
		for _, id := range []string{"a-thread", "a-second"} {
			for _, q := range e.probes() {
				for _, body := range []string{
					`{"workingMemory":"# Notes\npwned"}`,
					`{"workingMemory":"# Notes\npwned","resourceId":"res-alice"}`,
					`{"workingMemory":"# Notes\npwned","requestContext":{"mastra__resourceId":"res-alice"}}`,
				} {
					path := "/api/memory/threads/" + id + "/working-memory?agentId=" + ag + "&" + q
					e.wantNotFound(t, e.b("POST", path, body, "If-Match", "*"), nobody, "B POST "+path+" "+body)
				}
			}
		}
		// On his own thread, naming A's resource, B writes his own memory.
		r := e.b("POST", "/api/memory/threads/b-thread/working-memory?agentId="+ag+"&resourceId=res-alice",
			`{"workingMemory":"# Notes\nbob memory","resourceId":"res-alice"}`)
		wantStatus(t, r, 200, "B POST his own working memory naming res-alice")
		r = e.b("GET", "/api/memory/threads/b-thread/working-memory?agentId="+ag, "")
		if wm, _ := r.body["workingMemory"].(string); !strings.Contains(wm, "bob memory") {
			t.Errorf("B's own working memory (%s) = %s; want what he wrote", ag, r.raw)
		}
	}
	r := e.admin("POST", "/api/memory/threads/c-thread/working-memory?agentId=wmt", `{"workingMemory":"# Notes\nby admin"}`)
	wantStatus(t, r, 200, "admin POST Carol's thread working memory")
	r = e.admin("GET", "/api/memory/threads/c-thread/working-memory?agentId=wmt", "")
	if wm, _ := r.body["workingMemory"].(string); !strings.Contains(wm, "by admin") {
		t.Errorf("admin GET c-thread working memory = %s; want what the admin wrote", r.raw)
	}
}

// caseChat: useChat's route is a turn like the others. B using A's thread
// ids as his chat id (or threadId) gets exactly the taken answer, whatever
// resource he names; A's client message id is B's own turn; the admin
// continues Carol's thread by naming her resource.
func caseChat(t *testing.T, e *isoEnv) {
	body := func(chat, thread, msgID, text, resource string) string {
		return fmt.Sprintf(`{"id":%q,"threadId":%q,"trigger":"submit-message","resourceId":%q,"requestContext":{"mastra__resourceId":%q},`+
			`"messages":[{"id":%q,"role":"user","parts":[{"type":"text","text":%q}]}]}`, chat, thread, resource, resource, msgID, text)
	}
	text := func(t *testing.T, r response) string {
		t.Helper()
		if r.status != 200 {
			t.Errorf("chat turn = %d %s", r.status, r.raw)
			return ""
		}
		var out strings.Builder
		for _, line := range strings.Split(r.raw, "\n") {
			var c struct{ Type, Delta string }
			if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &c) == nil && c.Type == "text-delta" {
				out.WriteString(c.Delta)
			}
		}
		return out.String()
	}
	q := "/chat/assistant?resourceId=res-alice&requestContext=" + e.ctxB64
	for _, th := range []string{"a-thread", "a-second"} {
		e.wantTaken(t, e.b("POST", q, body(th, "", e.fresh("m"), "bob asks", "res-alice")), "B chat with id "+th)
		e.wantTaken(t, e.b("POST", q, body(e.fresh("b-chat"), th, e.fresh("m"), "bob asks", "res-alice")), "B chat with threadId "+th)
	}
	// A's client message id on a chat of B's: B's own turn (the thread of
	// caseTurn's, where the same request may have run already).
	if got := text(t, e.b("POST", q, body("b-ui-idem", "", "ui-msg-7f3a", "bob asks", "res-alice"))); got != "Echo: bob asks" {
		t.Errorf("B's chat turn with A's message id answered %q; want his own", got)
	}
	id := e.fresh("b-chat")
	if got := text(t, e.b("POST", q, body(id, "", e.fresh("m"), "bob again", "res-alice"))); got != "Echo: bob again" {
		t.Errorf("B's chat turn answered %q", got)
	}
	if r := e.as(bobToken, "GET", "/api/memory/threads/"+id, ""); r.status != 200 || r.body["resourceId"] != "res-bob" {
		t.Errorf("B's new chat thread %s = %d %s; want it under res-bob", id, r.status, r.raw)
	}
	before := threadLen(t, e, "c-thread")
	if got := text(t, e.admin("POST", "/chat/assistant", body("c-thread", "", e.fresh("m"), "admin asks", "res-carol"))); got != "Echo: admin asks" {
		t.Errorf("admin chat turn on c-thread answered %q", got)
	}
	if after := threadLen(t, e, "c-thread"); after != before+2 {
		t.Errorf("c-thread has %d messages after the admin's chat turn; want %d", after, before+2)
	}
	if r := e.admin("POST", "/chat/assistant", body("c-thread", "", e.fresh("m"), "admin asks", "res-alice")); r.raw != e.taken.raw {
		t.Errorf("admin chat turn on c-thread naming res-alice = %d %s; want the taken answer", r.status, r.raw)
	}
}

// caseChatResume: the reconnect route says nothing about any thread: B
// asking for A's chats gets the answer a chat nobody has gets.
func caseChatResume(t *testing.T, e *isoEnv) {
	nobody := e.b("GET", "/chat/assistant/no-such-chat/stream", "")
	wantStatus(t, nobody, 204, "B reconnect to a missing chat")
	for _, th := range []string{"a-thread", "a-second"} {
		for _, q := range e.probes() {
			r := e.b("GET", "/chat/assistant/"+th+"/stream?"+q, "")
			if r.status != nobody.status || r.raw != nobody.raw {
				t.Errorf("B reconnect to %s?%s = %d %s; want the missing chat's %d", th, q, r.status, r.raw, nobody.status)
			}
		}
	}
}
