package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mastra-server/mastra-server/host/reqctx"
)

type echoIn struct {
	Message string `json:"message"`
}

// remoteServer is a Go SDK server over streamable HTTP with echo, fail and
// secret; it records the Authorization header of each request.
func remoteServer(t *testing.T) (*sdk.Server, *httptest.Server, *atomic.Value) {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: "remote", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Description: "Echoes a message."},
		func(_ context.Context, _ *sdk.CallToolRequest, in echoIn) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "Echo: " + in.Message}}}, nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "fail", Description: "Always fails."},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return nil, nil, errors.New("the disk is full")
		})
	sdk.AddTool(s, &sdk.Tool{Name: "secret", Description: "Not for agents."},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "classified"}}}, nil, nil
		})
	var auth atomic.Value
	auth.Store("")
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return s, ts, &auth
}

func TestClientOverHTTP(t *testing.T) {
	srv, ts, auth := remoteServer(t)
	c := NewClient(ClientConfig{Name: "remote", URL: ts.URL, Headers: map[string]string{"Authorization": "Bearer remote-key"},
		Timeout: 5 * time.Second, Allow: []string{"echo", "fail", "later"}})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()

	tools, err := c.Tools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools {
		names = append(names, tl.Name())
	}
	if strings.Join(names, ",") != "remote_echo,remote_fail" {
		t.Fatalf("tools = %v; want the allowed remote_echo and remote_fail", names)
	}
	echo := tools[0]
	if echo.Description() != "Echoes a message." || !strings.Contains(string(echo.InputSchema()), `"message"`) {
		t.Errorf("echo = %q %s; want the server's description and schema", echo.Description(), echo.InputSchema())
	}
	out, err := echo.Execute(ctx, json.RawMessage(`{"message":"hi"}`))
	if err != nil || string(out) != `"Echo: hi"` {
		t.Errorf("echo = %s, %v; want \"Echo: hi\"", out, err)
	}
	if got := auth.Load().(string); got != "Bearer remote-key" {
		t.Errorf("the server saw Authorization %q; want the configured header", got)
	}
	if _, err := tools[1].Execute(ctx, json.RawMessage(`{}`)); err == nil || !strings.Contains(err.Error(), "the disk is full") {
		t.Errorf("fail = %v; want the tool's error text", err)
	}
	if _, err := c.Tool("secret").Execute(ctx, json.RawMessage(`{}`)); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("secret = %v; want refused by the allow-list", err)
	}

	// A tool added on the server reaches the client through
	// tools/list_changed.
	sdk.AddTool(srv, &sdk.Tool{Name: "later", Description: "Added later."},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "late"}}}, nil, nil
		})
	later := c.Tool("later")
	deadline := time.Now().Add(5 * time.Second)
	for later.Description() != "Added later." && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if later.Description() != "Added later." {
		t.Errorf("later = %q; want the description listed after tools/list_changed", later.Description())
	}
}

// A server that is down fails the call with a clear error, at once for the
// calls within the backoff, and the client connects once it is back.
func TestClientServerDown(t *testing.T) {
	_, ts, _ := remoteServer(t)
	url := ts.URL
	ts.Close()
	c := NewClient(ClientConfig{Name: "gone", URL: url, Timeout: 2 * time.Second})
	t.Cleanup(func() { c.Close() })
	_, err := c.Tool("echo").Execute(context.Background(), json.RawMessage(`{"message":"x"}`))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("call to a down server = %v; want ErrUnavailable", err)
	}
	if d := c.Tool("echo").Description(); !strings.Contains(d, "gone") {
		t.Errorf("description of an unlisted tool = %q; want a stand-in naming the server", d)
	}
}

func TestClientOverStdio(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "stdioserver")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/stdioserver").CombinedOutput(); err != nil {
		t.Fatalf("build the stdio server: %v\n%s", err, out)
	}
	t.Setenv("MCP_TEST_PARENT_SECRET", "leaked")
	c := NewClient(ClientConfig{Name: "local", Command: bin, Env: map[string]string{"GREETING": "hello"}, Timeout: 10 * time.Second})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	tools, err := c.Tools(ctx)
	if err != nil || len(tools) != 2 {
		t.Fatalf("tools = %v, %v; want echo and env", tools, err)
	}
	if out, err := c.Tool("echo").Execute(ctx, json.RawMessage(`{"message":"over stdio"}`)); err != nil || string(out) != `"Echo: over stdio"` {
		t.Errorf("echo = %s, %v", out, err)
	}
	if out, err := c.Tool("env").Execute(ctx, json.RawMessage(`{"name":"GREETING"}`)); err != nil || string(out) != `"hello"` {
		t.Errorf("env GREETING = %s, %v; want the configured value", out, err)
	}
	if out, err := c.Tool("env").Execute(ctx, json.RawMessage(`{"name":"MCP_TEST_PARENT_SECRET"}`)); err != nil || string(out) != `""` {
		t.Errorf("env of the server's own variable = %s, %v; want it not passed on", out, err)
	}
}

// A templated header takes each caller's own value, per call; a caller
// without one is refused before anything is sent.
func TestClientHeaderTemplates(t *testing.T) {
	_, ts, auth := remoteServer(t)
	c := NewClient(ClientConfig{Name: "remote", URL: ts.URL, Headers: map[string]string{"Authorization": "Bearer {{user}}-{{context.team}}"},
		Timeout: 5 * time.Second})
	t.Cleanup(func() { c.Close() })
	as := func(user, team string) context.Context {
		v := reqctx.New()
		v.SetString(reqctx.UserKey, user)
		v.SetString("team", team)
		return reqctx.With(context.Background(), v)
	}
	echo := c.Tool("echo")
	for _, who := range [][2]string{{"alice", "red"}, {"bob", "blue"}, {"alice", "red"}} {
		if out, err := echo.Execute(as(who[0], who[1]), json.RawMessage(`{"message":"hi"}`)); err != nil || string(out) != `"Echo: hi"` {
			t.Fatalf("echo as %s = %s, %v", who[0], out, err)
		}
		if got, want := auth.Load().(string), "Bearer "+who[0]+"-"+who[1]; got != want {
			t.Errorf("as %s the server saw %q; want %q", who[0], got, want)
		}
	}
	auth.Store("")
	if _, err := echo.Execute(context.Background(), json.RawMessage(`{"message":"hi"}`)); err == nil || !strings.Contains(err.Error(), "no value for {{user}}") {
		t.Errorf("echo without a caller = %v; want refused naming {{user}}", err)
	}
	if got := auth.Load().(string); got != "" {
		t.Errorf("a call without a caller reached the server with %q", got)
	}
}

// A server of the legacy HTTP+SSE transport (protocol 2024-11-05) is
// reached when it refuses the streamable POST.
func TestClientFallsBackToSSE(t *testing.T) {
	srv, _, _ := remoteServer(t)
	ts := httptest.NewServer(sdk.NewSSEHandler(func(*http.Request) *sdk.Server { return srv }, nil))
	t.Cleanup(ts.Close)
	c := NewClient(ClientConfig{Name: "legacy", URL: ts.URL, Timeout: 5 * time.Second, Allow: []string{"echo"}})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	tools, err := c.Tools(ctx)
	if err != nil || len(tools) != 1 || tools[0].Name() != "legacy_echo" {
		t.Fatalf("tools over SSE = %v, %v", tools, err)
	}
	// Calls after the connecting one still reach the server: the event
	// stream outlives the connection's context.
	for i := range 3 {
		if out, err := tools[0].Execute(ctx, json.RawMessage(`{"message":"sse"}`)); err != nil || string(out) != `"Echo: sse"` {
			t.Fatalf("echo %d over SSE = %s, %v", i, out, err)
		}
	}
}

// A stateful server that restarted (its sessions gone) is reconnected to
// within the call, which then succeeds.
func TestClientReconnectsAfterServerRestart(t *testing.T) {
	srv, _, _ := remoteServer(t)
	var h atomic.Pointer[sdk.StreamableHTTPHandler]
	h.Store(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Load().ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	c := NewClient(ClientConfig{Name: "r", URL: ts.URL, Timeout: 5 * time.Second})
	t.Cleanup(func() { c.Close() })
	echo := c.Tool("echo")
	ctx := context.Background()
	if _, err := echo.Execute(ctx, json.RawMessage(`{"message":"before"}`)); err != nil {
		t.Fatal(err)
	}
	// A new handler knows none of the old sessions, as after a restart.
	h.Store(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil))
	if out, err := echo.Execute(ctx, json.RawMessage(`{"message":"after"}`)); err != nil || string(out) != `"Echo: after"` {
		t.Errorf("echo after the restart = %s, %v; want it answered on a new session", out, err)
	}
}
