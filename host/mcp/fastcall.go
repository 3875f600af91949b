package mcp

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The fast path of tools/call. The SDK's stateless transport makes a
// session per request and decodes the body several times, each with a
// decoder that allocates tens of KB: ~0.5 ms of CPU for a call whose tool
// costs a few µs (README, Benchmarks). The one request that matters for
// cost, a single JSON tools/call POST of a known tool with plain arguments,
// is answered here with the SDK's own answer, byte for byte
// (TestFastCallMatchesSDK): the same tool handler, the SDK's JSON-RPC
// encoder, its headers. Anything else, or anything this code is not sure
// of, goes to the SDK untouched: other methods, batches, notifications,
// _meta other than 2026-07-28's plain one, unknown tools, odd headers or
// protocol versions, bodies without a length.

// fastVersions are the MCP-Protocol-Version headers the fast path serves
// ("" is the SDK's default, 2025-03-26); 2026-07-28 and later change the
// request's shape (SEP-2575) and stay with the SDK.
var fastVersions = map[string]bool{"": true, "2024-11-05": true, "2025-03-26": true, "2025-06-18": true, "2025-11-25": true,
	perRequest: true}

// perRequest is the protocol version whose requests carry the client's
// version, info and capabilities in params._meta and name the method and
// tool in headers (SEP-2575); its results carry the server's info and a
// resultType. The fast path serves the shape the SDK clients send (their
// default capabilities) and leaves any other to the SDK.
const perRequest = "2026-07-28"

// fastHandler answers what it can and hands the rest to sdk.
type fastHandler struct {
	s   *Server
	sdk http.Handler
	max int64 // the body cap (0: none), as the SDK applies it
}

func (f fastHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !f.eligible(r) {
		f.sdk.ServeHTTP(w, r)
		return
	}
	body := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		// A short body: the SDK reads what there is and says what is wrong.
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
		f.sdk.ServeHTTP(w, r)
		return
	}
	version := r.Header.Get("MCP-Protocol-Version")
	call, ok := f.s.parseCall(body, version)
	if ok && version == perRequest {
		ok = r.Header.Get("Mcp-Method") == "tools/call" && r.Header.Get("Mcp-Name") == call.tool.Name && !call.tool.headerArgs
	}
	if !ok {
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.sdk.ServeHTTP(w, r)
		return
	}
	res := f.s.call(r.Context(), call.tool, call.args, false)
	if version == perRequest {
		res.Meta = sdk.Meta{sdk.MetaKeyServerInfo: f.s.impl}
	}
	raw, err := marshalNoEscape(res)
	if err == nil && version == perRequest {
		// resultType is set by the SDK alone; its encoding writes it last.
		raw = append(raw[:len(raw)-1:len(raw)-1], `,"resultType":"complete"}`...)
	}
	if err == nil {
		var out []byte
		if out, err = jsonrpc.EncodeMessage(&jsonrpc.Response{ID: call.id, Result: raw}); err == nil {
			h := w.Header()
			h.Set("Cache-Control", "no-cache, no-transform")
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write(out)
			f.s.fastCalls.Add(1)
			return
		}
	}
	// Not reached with the results built here; answered as the SDK would
	// a handler's failure.
	f.s.log.ErrorContext(r.Context(), "mcp: encoding a tools/call result", "err", err.Error())
	http.Error(w, "failed to encode the result", http.StatusInternalServerError)
}

// eligible reports whether the request's HTTP side is one the SDK would
// accept and answer as plain JSON: a POST of application/json with a known
// length within the cap, accepting JSON and event streams, no DNS
// rebinding, a protocol version of fastVersions, none of the headers that
// change the SDK's behaviour.
func (f fastHandler) eligible(r *http.Request) bool {
	h := r.Header
	if r.Method != http.MethodPost || r.ContentLength <= 0 || (f.max > 0 && r.ContentLength > f.max) ||
		!fastVersions[h.Get("MCP-Protocol-Version")] || len(h.Values("Last-Event-ID")) > 0 || len(h.Values("Mcp-Session-Id")) > 0 {
		return false
	}
	for k := range h {
		if strings.HasPrefix(k, "Mcp-Param-") ||
			(h.Get("MCP-Protocol-Version") != perRequest && (strings.HasPrefix(k, "Mcp-Method") || strings.HasPrefix(k, "Mcp-Name"))) {
			return false
		}
	}
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "application/json" {
		return false
	}
	var jsonOK, streamOK bool
	for _, v := range h.Values("Accept") {
		for _, tok := range strings.Split(v, ",") {
			base, _, _ := strings.Cut(tok, ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json":
				jsonOK = true
			case "text/event-stream":
				streamOK = true
			}
		}
	}
	if !jsonOK || !streamOK {
		return false
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && la != nil && loopback(la.String()) && !loopback(r.Host) {
		return false // the SDK refuses it (DNS rebinding)
	}
	return true
}

// loopback reports a loopback host or host:port, as the SDK judges one.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = strings.Trim(addr, "[]")
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

type fastCall struct {
	id   jsonrpc.ID
	tool *Tool
	args json.RawMessage
}

// parseCall reads a single tools/call request of a known tool whose
// arguments are an object or absent, with the _meta of version (only
// perRequest's). Keys are matched exactly, as the SDK's decoder does
// (encoding/json's structs would match "Method" too), and a body nested
// deeper than the SDK allows is left to it.
func (s *Server) parseCall(body []byte, version string) (fastCall, bool) {
	if nestedBeyond(body, 1000) {
		return fastCall{}, false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || len(top) != 4 {
		return fastCall{}, false
	}
	var rpcVersion, method string
	var id any
	var params map[string]json.RawMessage
	if json.Unmarshal(top["jsonrpc"], &rpcVersion) != nil || rpcVersion != "2.0" ||
		json.Unmarshal(top["method"], &method) != nil || method != "tools/call" ||
		top["id"] == nil || json.Unmarshal(top["id"], &id) != nil ||
		top["params"] == nil || json.Unmarshal(top["params"], &params) != nil || params == nil {
		return fastCall{}, false
	}
	jid, err := jsonrpc.MakeID(id)
	if err != nil || !jid.IsValid() {
		return fastCall{}, false
	}
	var name string
	if params["name"] == nil || json.Unmarshal(params["name"], &name) != nil {
		return fastCall{}, false
	}
	args, hasArgs := params["arguments"]
	meta, hasMeta := params["_meta"]
	if hasMeta != (version == perRequest) || (hasMeta && !plainMeta(meta)) {
		return fastCall{}, false
	}
	if len(params) != 1+boolInt(hasArgs)+boolInt(hasMeta) {
		return fastCall{}, false
	}
	if hasArgs {
		if args = bytes.TrimSpace(args); len(args) == 0 || args[0] != '{' {
			return fastCall{}, false
		}
	}
	t, ok := s.byName[name]
	if !ok || t.Resume != nil {
		// A tool that may ask for input answers by protocol version and
		// reads the client's answers: the SDK's path.
		return fastCall{}, false
	}
	return fastCall{id: jid, tool: t, args: args}, true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// plainMeta reports the _meta an SDK client sends with every request of
// perRequest: that version, its info, and capabilities of roots at most.
// Anything else (a progress token, a log level, other capabilities, a
// client info the SDK might read otherwise) is the SDK's to judge.
func plainMeta(raw json.RawMessage) bool {
	var meta map[string]json.RawMessage
	if json.Unmarshal(raw, &meta) != nil || len(meta) < 2 || len(meta) > 3 {
		return false
	}
	var version string
	if json.Unmarshal(meta[sdk.MetaKeyProtocolVersion], &version) != nil || version != perRequest {
		return false
	}
	var caps map[string]json.RawMessage
	if json.Unmarshal(meta[sdk.MetaKeyClientCapabilities], &caps) != nil || caps == nil {
		return false
	}
	for k, v := range caps {
		var roots struct {
			ListChanged bool `json:"listChanged"`
		}
		var keys map[string]json.RawMessage
		if k != "roots" || json.Unmarshal(v, &keys) != nil || len(keys) > 1 || (len(keys) == 1 && keys["listChanged"] == nil) ||
			json.Unmarshal(v, &roots) != nil {
			return false
		}
	}
	if info, ok := meta[sdk.MetaKeyClientInfo]; ok {
		var keys map[string]json.RawMessage
		if json.Unmarshal(info, &keys) != nil || keys == nil {
			return false
		}
		for k, v := range keys {
			var s string
			if (k != "name" && k != "version" && k != "title") || json.Unmarshal(v, &s) != nil {
				return false
			}
		}
	} else if len(meta) != 2 {
		return false
	}
	return true
}

// nestedBeyond reports JSON nested deeper than max (the SDK refuses it).
func nestedBeyond(data []byte, max int) bool {
	depth, inString, escaped := 0, false, false
	for _, b := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			if depth++; depth > max {
				return true
			}
		case b == '}' || b == ']':
			depth--
		}
	}
	return false
}

// marshalNoEscape is JSON without HTML escaping, as the SDK writes results.
func marshalNoEscape(res *sdk.CallToolResult) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
