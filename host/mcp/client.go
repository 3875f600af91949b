package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// ClientConfig is one remote MCP server ([mcp_clients.<name>]): URL for
// streamable HTTP (the legacy HTTP+SSE transport when the server refuses
// it), or Command for a stdio subprocess.
type ClientConfig struct {
	Name string
	// URL is the streamable HTTP endpoint; Headers go with every request.
	URL     string
	Headers map[string]string
	// Command, Args and Env start a stdio server. Env is added to a
	// minimal environment (HOME, LOGNAME, PATH, SHELL, TERM, USER), as
	// Mastra's MCPClient does: the server's own secrets are not passed on.
	Command string
	Args    []string
	Env     map[string]string
	// Timeout bounds each call (connecting included).
	Timeout time.Duration
	// Allow lists the remote tools offered; empty offers all.
	Allow []string
	// RequireApproval reports whether a call of a remote tool waits for a
	// human's approval (the agent's approval path); nil: none does.
	RequireApproval func(remote string) bool
	Logger          *slog.Logger
	// HTTPClient sends the requests of a URL server; nil: a client of its
	// own.
	HTTPClient *http.Client
}

// Client is a connection to one remote MCP server, made on first use and
// made again after a failure, no sooner than a backoff allows; its tool
// list is cached and refreshed when the server says it changed. It is safe
// for concurrent use.
type Client struct {
	cfg ClientConfig
	log *slog.Logger

	mu     sync.Mutex
	conns  map[string]*conn      // by the rendered values of templated headers ("" without)
	tools  map[string]remoteMeta // the allowed remote tools, by remote name
	closed bool
}

// conn is one session, with the failures that space its reconnections.
type conn struct {
	mu      sync.Mutex // held while connecting; guards session, failed, retryAt
	session *sdk.ClientSession
	failed  int       // connection failures in a row
	retryAt time.Time // no new attempt before this
	used    time.Time // for evicting the least recently used; guarded by Client.mu
}

// maxConns bounds the sessions of a client with templated headers, one per
// caller's credentials; the least recently used is closed past it.
const maxConns = 64

// ErrUnavailable is wrapped by the error of a call made while the server
// cannot be reached.
var ErrUnavailable = errors.New("mcp server unavailable")

// NewClient returns a client of cfg; it connects on first use.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	return &Client{cfg: cfg, log: cfg.Logger.With("mcp_client", cfg.Name), conns: map[string]*conn{}}
}

// Name is the client's name, the prefix of its tools' names.
func (c *Client) Name() string { return c.cfg.Name }

// minimalEnv are the variables a stdio server inherits.
var minimalEnv = []string{"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"}

func (c *Client) transport(headers map[string]string) sdk.Transport {
	if c.cfg.URL != "" {
		hc := c.cfg.HTTPClient
		if hc == nil {
			hc = &http.Client{}
		}
		if len(headers) > 0 {
			next := hc.Transport
			if next == nil {
				next = http.DefaultTransport
			}
			hc2 := *hc
			hc2.Transport = headerTransport{headers: headers, next: next}
			hc = &hc2
		}
		// Retries of the transport itself are off: a call fails at once
		// with the model seeing why, and the client's own backoff spaces
		// reconnections.
		return &sdk.StreamableClientTransport{Endpoint: c.cfg.URL, HTTPClient: hc, MaxRetries: -1}
	}
	cmd := exec.Command(c.cfg.Command, c.cfg.Args...)
	cmd.Env = []string{}
	for _, k := range minimalEnv {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.cfg.Env)) {
		cmd.Env = append(cmd.Env, k+"="+c.cfg.Env[k])
	}
	return &sdk.CommandTransport{Command: cmd, TerminateDuration: time.Second}
}

// headerTransport adds the configured headers to every request.
type headerTransport struct {
	headers map[string]string
	next    http.RoundTripper
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.headers {
		r.Header.Set(k, v)
	}
	return h.next.RoundTrip(r)
}

// connect returns the session for the caller of ctx, connecting (and
// listing the tools) when there is none. Templated headers take the
// caller's values, and each caller's credentials get a session of their
// own, so that no request ever carries another caller's. A failure is
// remembered: until the backoff has passed, calls fail at once rather than
// each waiting for a dead server.
func (c *Client) connect(ctx context.Context) (string, *sdk.ClientSession, error) {
	headers, key, err := renderHeaders(ctx, c.cfg.Headers)
	if err != nil {
		return "", nil, fmt.Errorf("mcp client %s: %w", c.cfg.Name, err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return "", nil, fmt.Errorf("mcp client %s: closed", c.cfg.Name)
	}
	cn := c.conns[key]
	if cn == nil {
		cn = &conn{}
		c.conns[key] = cn
		c.evict()
	}
	cn.used = time.Now()
	c.mu.Unlock()

	// Connecting holds this session's lock only: turns reading the tools'
	// descriptions, and other callers' sessions, do not wait for it.
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.session != nil {
		return key, cn.session, nil
	}
	if wait := time.Until(cn.retryAt); wait > 0 {
		return "", nil, fmt.Errorf("mcp client %s: %w (next attempt in %s)", c.cfg.Name, ErrUnavailable, wait.Round(time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	cl := sdk.NewClient(&sdk.Implementation{Name: "mastra-server", Version: "1"}, &sdk.ClientOptions{
		Logger: c.cfg.Logger,
		ToolListChangedHandler: func(_ context.Context, req *sdk.ToolListChangedRequest) {
			// Refresh outside the notification's handler: listing is a
			// request on the same session.
			go c.refresh(req.Session)
		},
	})
	cs, err := cl.Connect(ctx, c.transport(headers), nil)
	if err != nil && c.cfg.URL != "" && ctx.Err() == nil {
		// A server of the legacy HTTP+SSE transport (protocol 2024-11-05)
		// refuses the streamable POST: try that transport.
		if scs, serr := c.connectSSE(ctx, cl, headers); serr == nil {
			cs, err = scs, nil
		} else {
			err = fmt.Errorf("%w (and over the legacy SSE transport: %w)", err, serr)
		}
	}
	if err == nil {
		var tools map[string]remoteMeta
		if tools, err = c.list(ctx, cs); err == nil {
			c.mu.Lock()
			live := c.conns[key] == cn // not evicted or closed meanwhile
			if live {
				c.tools = tools
			}
			c.mu.Unlock()
			if !live {
				cs.Close()
				return "", nil, fmt.Errorf("mcp client %s: closed", c.cfg.Name)
			}
			cn.session, cn.failed, cn.retryAt = cs, 0, time.Time{}
			return key, cs, nil
		}
		cs.Close()
	}
	cn.failed++
	cn.retryAt = time.Now().Add(backoff(cn.failed))
	c.log.Warn("mcp client: cannot connect", "attempt", cn.failed, "err", err.Error())
	return "", nil, fmt.Errorf("mcp client %s: %w: %w", c.cfg.Name, ErrUnavailable, err)
}

// connectSSE connects over the legacy HTTP+SSE transport. Its event
// stream is a GET that lives as long as the session, so it runs under a
// context of its own, cancelled only if ctx ends before the connection is
// made.
func (c *Client) connectSSE(ctx context.Context, cl *sdk.Client, headers map[string]string) (*sdk.ClientSession, error) {
	hc := c.transport(headers).(*sdk.StreamableClientTransport).HTTPClient
	sctx, scancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, scancel)
	cs, err := cl.Connect(sctx, &sdk.SSEClientTransport{Endpoint: c.cfg.URL, HTTPClient: hc}, nil)
	if err != nil || !stop() {
		scancel()
		if err == nil {
			cs.Close()
			err = ctx.Err()
		}
		return nil, err
	}
	return cs, nil
}

// evict closes the least recently used session past maxConns (c.mu held).
func (c *Client) evict() {
	if len(c.conns) <= maxConns {
		return
	}
	var oldest *conn
	var oldestKey string
	for k, cn := range c.conns {
		if oldest == nil || cn.used.Before(oldest.used) {
			oldest, oldestKey = cn, k
		}
	}
	delete(c.conns, oldestKey)
	go oldest.close()
}

// close ends the session, waiting for a connection in progress.
func (cn *conn) close() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.session == nil {
		return nil
	}
	err := cn.session.Close()
	cn.session = nil
	return err
}

// backoff is 1s × 1.5^(n−1), at most 30s, with full jitter (the SDK's own
// reconnection schedule); the first retry may come at once.
func backoff(n int) time.Duration {
	d := float64(time.Second)
	for i := 1; i < n && d < float64(30*time.Second); i++ {
		d *= 1.5
	}
	d = min(d, float64(30*time.Second))
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// remoteMeta is what the model is shown of a remote tool; the schema is
// kept as JSON, read on every turn.
type remoteMeta struct {
	description string
	schema      json.RawMessage
}

// list reads the server's tools, keeping the allowed ones.
func (c *Client) list(ctx context.Context, cs *sdk.ClientSession) (map[string]remoteMeta, error) {
	out := map[string]remoteMeta{}
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		if len(c.cfg.Allow) > 0 && !slices.Contains(c.cfg.Allow, t.Name) {
			continue
		}
		m := remoteMeta{description: t.Description}
		if t.InputSchema != nil {
			if b, err := json.Marshal(t.InputSchema); err == nil {
				m.schema = b
			}
		}
		out[t.Name] = m
	}
	return out, nil
}

// refresh lists the tools again after tools/list_changed on cs.
func (c *Client) refresh(cs *sdk.ClientSession) {
	if cs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	tools, err := c.list(ctx, cs)
	if err != nil {
		c.log.Warn("mcp client: tool list refresh failed", "err", err.Error())
		return
	}
	c.mu.Lock()
	c.tools = tools
	c.mu.Unlock()
}

// forget closes a session the server no longer has, leaving no backoff:
// the server answered, so it is up.
func (c *Client) forget(key string, cs *sdk.ClientSession) {
	c.mu.Lock()
	cn := c.conns[key]
	c.mu.Unlock()
	if cn != nil {
		cn.mu.Lock()
		if cn.session == cs {
			cn.session = nil
		}
		cn.mu.Unlock()
	}
	cs.Close()
}

// drop forgets a session that failed, so that the next call reconnects.
func (c *Client) drop(key string, cs *sdk.ClientSession) {
	c.mu.Lock()
	cn := c.conns[key]
	c.mu.Unlock()
	if cn != nil {
		cn.mu.Lock()
		if cn.session == cs {
			cn.session = nil
			cn.failed++
			cn.retryAt = time.Now().Add(backoff(cn.failed))
		}
		cn.mu.Unlock()
	}
	cs.Close()
}

// Tools connects (within ctx) and returns the remote server's allowed
// tools as agent tools, sorted by name.
func (c *Client) Tools(ctx context.Context) ([]*RemoteTool, error) {
	if _, _, err := c.connect(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	names := slices.Sorted(maps.Keys(c.tools))
	c.mu.Unlock()
	out := make([]*RemoteTool, 0, len(names))
	for _, n := range names {
		out = append(out, c.Tool(n))
	}
	return out, nil
}

// Tool returns remote tool name as an agent tool, whether or not the server
// is reachable now: its description and schema are the server's once it
// has been listed.
func (c *Client) Tool(name string) *RemoteTool { return &RemoteTool{c: c, remote: name} }

func (c *Client) meta(remote string) (remoteMeta, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.tools[remote]
	return m, ok
}

// Close ends the session (and a stdio server's process).
func (c *Client) Close() error {
	c.mu.Lock()
	conns := c.conns
	c.conns, c.closed = map[string]*conn{}, true
	c.mu.Unlock()
	var errs []error
	for _, cn := range conns {
		errs = append(errs, cn.close())
	}
	return errors.Join(errs...)
}

// RemoteTool is one tool of a remote MCP server, named <client>_<tool> as
// Mastra's MCPClient names it. It implements agent.Tool.
type RemoteTool struct {
	c      *Client
	remote string
}

// Name is <client>_<tool>.
func (t *RemoteTool) Name() string { return t.c.cfg.Name + "_" + t.remote }

// Description is the server's, or a stand-in while it has not been listed.
func (t *RemoteTool) Description() string {
	if m, ok := t.c.meta(t.remote); ok && m.description != "" {
		return m.description
	}
	return fmt.Sprintf("Tool %s of the MCP server %s.", t.remote, t.c.cfg.Name)
}

// RequireApproval reports whether each call waits for a human's approval
// ([mcp_clients.<name>] require_approval): the agent then suspends the
// turn before the call, as for any tool that needs approval
// (agent.ApprovalTool).
func (t *RemoteTool) RequireApproval() bool {
	return t.c.cfg.RequireApproval != nil && t.c.cfg.RequireApproval(t.remote)
}

// InputSchema is the server's, or any object while it has not been listed.
func (t *RemoteTool) InputSchema() json.RawMessage {
	if m, ok := t.c.meta(t.remote); ok && m.schema != nil {
		return m.schema
	}
	return json.RawMessage(`{"type":"object"}`)
}

// Execute calls the tool. The result is the structured content when there
// is one, else the text of the contents as a JSON string. A server that is
// down, slow or answers garbage, and a tool that reports an error, are
// errors the model sees as the tool's result; a broken session is dropped
// and the next call reconnects.
func (t *RemoteTool) Execute(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, t.c.cfg.Timeout)
	defer cancel()
	key, cs, err := t.c.connect(ctx)
	if err != nil {
		return nil, err
	}
	if len(t.c.cfg.Allow) > 0 && !slices.Contains(t.c.cfg.Allow, t.remote) {
		return nil, fmt.Errorf("mcp client %s: tool %s is not allowed", t.c.cfg.Name, t.remote)
	}
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: t.remote, Arguments: args})
	if errors.Is(err, sdk.ErrSessionMissing) {
		// The server forgot the session (it restarted): the call never ran
		// there, so it is safe to make once more on a new session.
		t.c.forget(key, cs)
		if key, cs, err = t.c.connect(ctx); err != nil {
			return nil, err
		}
		res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: t.remote, Arguments: args})
	}
	if err != nil {
		var werr *jsonrpc.Error // a JSON-RPC error answer: the session is fine
		if !errors.As(err, &werr) {
			t.c.drop(key, cs)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("mcp %s: tool %s: no answer within %s", t.c.cfg.Name, t.remote, t.c.cfg.Timeout)
		}
		return nil, fmt.Errorf("mcp %s: tool %s: %w", t.c.cfg.Name, t.remote, err)
	}
	text := contentText(res.Content)
	if res.IsError {
		if text == "" {
			text = "the tool reported an error"
		}
		return nil, fmt.Errorf("%s", text)
	}
	if res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			return b, nil
		}
	}
	return json.Marshal(text)
}

// contentText joins the text of the contents; other kinds are named, not
// inlined (an image's bytes mean nothing to a chat model as text).
func contentText(cs []sdk.Content) string {
	var parts []string
	for _, c := range cs {
		switch v := c.(type) {
		case *sdk.TextContent:
			parts = append(parts, v.Text)
		case *sdk.ImageContent:
			parts = append(parts, "[image "+v.MIMEType+"]")
		case *sdk.AudioContent:
			parts = append(parts, "[audio "+v.MIMEType+"]")
		case *sdk.EmbeddedResource:
			if v.Resource != nil && v.Resource.Text != "" {
				parts = append(parts, v.Resource.Text)
			}
		case *sdk.ResourceLink:
			parts = append(parts, "[resource "+v.URI+"]")
		}
	}
	return strings.Join(parts, "\n")
}
