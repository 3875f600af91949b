// Package plugin runs Wasm plugins (HTTP middleware, routes and agent tools)
// in a sandbox on wazero. A guest speaks the http-wasm handler ABI v0.1.1
// (module http_handler), unchanged, so existing http-wasm guests (TinyGo,
// Rust, Traefik-style plugins) load as they are, plus this server's own host
// module, mastra, for the request context, route parameters, agents, a
// key-value store, workflows and threads.
//
// The package owns compiling, checking, pooling and calling guests and the
// net/http adapter ([Plugin.Middleware], [Plugin.Handler], [Plugin.Call]).
// It leaves configuration to config, routing and the middleware chain to
// host/server and the agent loop to host/agent, and imports neither: agents
// come in through [AgentCaller]. It uses host/reqctx for the request context.
// Its callers see no wazero types.
//
// # Lifecycle
//
// [New] makes a [Host] with a shared compilation cache. [Host.Load] reads
// and compiles a module in its own wazero runtime (memory cap, deadline
// checks), checks its exports and imports against the plugin's [Grants],
// and instantiates MinInstances (at least one), so a bad plugin fails at
// start with an error that names it. [Plugin.Reload] does the same for the
// module file again and swaps pools atomically; calls in flight finish on
// the old instances. [Plugin.Close] and [Host.Close] wait for calls in
// flight until their context is done.
//
// # Calls, pool and failures
//
// Each plugin has a bounded pool: at most MaxInstances live instances. A
// request waits for an instance until its own deadline or the plugin's
// Timeout, whichever is first, then gets 503 {"error":"plugin busy"} with
// Retry-After. Each guest call (handle_request, and handle_response when the
// guest exports it) runs under context.WithTimeout(request, Timeout). The
// same deadline is the connection's write deadline while the guest writes
// the response unbuffered, since wazero cannot stop a guest blocked in the
// host: a client that never reads fails its own request and frees the
// instance.
//
// An instance that trapped (unreachable, out-of-bounds, a runtime panic,
// proc_exit, misuse of a host function), timed out, or whose memory grew past
// 3/4 of its cap is closed and replaced, never reused. Failures answer JSON
// without internal detail and log a line with the plugin's name:
//
//	trap, or next=1 from a route   500 {"error":"plugin failed"}
//	deadline                       504 {"error":"plugin timed out"}
//	no instance in time            503 {"error":"plugin busy"} + Retry-After: 1
//	body over MaxBody              413 {"error":"request body too large"}
//	response etc. over MaxResponse 502 {"error":"plugin response too large"}
//	client went away               nothing
//
// When part of the response was already sent, the handler panics with
// http.ErrAbortHandler so the client sees a cut connection, not a short body.
// [Plugin.Call] returns the same failures as errors wrapping [ErrTrap],
// [ErrTimeout] (which also matches context.DeadlineExceeded), [ErrBusy],
// [ErrClosed], [ErrResponseTooLarge] or *http.MaxBytesError.
//
// # Guest exports
//
//	memory                                   required
//	handle_request() -> i64                  required; returns req_ctx<<32 | next
//	handle_response(req_ctx i32, is_error i32)  optional; called after next
//	_initialize() or _start()                optional; run once per instance
//	                                         (_initialize preferred)
//
// For a middleware, next=1 continues with the guest's changes to the method,
// URI, request headers and body; next=0 answers with what the guest wrote,
// or an empty 200. Routes and tools must return next=0. A guest that does not
// export handle_response frees its instance before the next handler runs.
// Start functions run with no request: there only get_config,
// enable_features, log, log_enabled and the kv_* functions work. A _start
// that calls proc_exit (a WASI "command") fails the load: build reactors.
//
// # Module http_handler
//
// All 19 functions of http-wasm v0.1.1, with its conventions: strings are
// (ptr, len); reads take (buf, buf_limit) and return the full length, writing
// nothing when it does not fit; lists (header names and values) are
// NUL-terminated and returned as count<<32 | len; read_body returns
// eof<<32 | len; a bad pointer, an unknown kind or a forbidden call traps.
// Details of this host:
//
//   - enable_features: buffer_request (1) and buffer_response (2) are
//     supported; trailers (4) are not, so trailer lists are empty and setting
//     a trailer traps. Features enabled during start apply to every request
//     of that instance.
//   - buffer_response holds the whole response (the guest's writes and the
//     next handler's) until the request ends, so handle_response can read and
//     rewrite the status, headers and body; the first write_body after next
//     replaces the body. Without it, the response streams and changing the
//     status, response headers or body after next traps; handle_response
//     still reads the status and response headers the next handler sent
//     (200 and the current headers if it sent nothing).
//   - buffer_request replays what the guest read, followed by the rest of
//     the body, to the next handler. Without it, bytes the guest read are
//     gone downstream. write_body on the request replaces the body.
//   - Changing the method, URI or request headers after next traps. Changes
//     are made on a copy of the request: the caller's *http.Request is never
//     modified. Header names are returned lowercase; the request's Host is
//     the "host" header.
//   - get_uri is the escaped path plus "?query"; set_uri takes the same form.
//   - log levels: -1 debug, 0 info, 1 warn, 2 error, 3 none. Messages go to
//     the Config.Logger tagged plugin=<name>, cut at 4 KiB; with stdout and
//     stderr, at most 50 records per second per plugin (the count of dropped
//     ones is logged with the next record).
//   - read_body is limited to Spec.MaxBody bytes; reading past it fails the
//     request with 413.
//   - What the host holds for the guest during one call counts against
//     Spec.MaxResponse: a buffered response (the next handler's bytes too),
//     a tool's captured answer, headers set or added, a rewritten or
//     buffered request body, RequestContext values set. A write_body or
//     header change past it traps and the request gets 502; the next
//     handler's write past it fails with ErrResponseTooLarge and the request
//     gets 502; a buffered request body past it is 413.
//
// # Module mastra (v1)
//
// Versioned by its name: functions are only ever added; a breaking change
// would be a new module, mastra2. A guest may export the marker function
// mastra_abi_v1 (never called); a module exporting another mastra_abi_vN
// fails Load. Conventions:
//
//   - strings and blobs are (ptr, len); outputs go to (buf, buf_limit);
//   - status_len results are status<<32 | len. When status is 0 and
//     len > buf_limit nothing is written: retry with a larger buffer;
//   - count_len results are as in http_handler;
//   - status and errno values are WASI preview1 numbers: 0 success,
//     1 E2BIG, 10 EBUSY, 11 ECANCELED, 28 EINVAL, 29 EIO, 44 ENOENT, 52 ENOSYS,
//     63 EPERM, 73 ETIMEDOUT;
//   - RequestContext values are JSON text (Mastra's RequestContext);
//   - a bad pointer traps, as in http_handler.
//
// Functions:
//
//	ctx_get(key, key_len, buf, buf_limit i32) -> status_len i64
//	    The JSON value under key. ENOENT if absent; EPERM outside a request.
//	ctx_set(key, key_len, json, json_len i32) -> errno i32
//	    Sets key to a JSON value (at most 64 KiB). EINVAL for invalid JSON or
//	    an empty key, E2BIG if too large or past the call's MaxResponse, EPERM outside a request or when a
//	    route or tool plugin sets a reserved key ("mastra__" prefix, e.g.
//	    mastra__resourceId, mastra__user): only middleware may.
//	ctx_delete(key, key_len i32) -> errno i32
//	    ENOENT if absent; EPERM as for ctx_set.
//	ctx_keys(buf, buf_limit i32) -> count_len i64
//	    All keys, sorted, NUL-terminated.
//	route_param(name, name_len, buf, buf_limit i32) -> status_len i64
//	    A route parameter: the request's path value (http.Request.PathValue),
//	    which the router sets (host/server copies httprouter's :name and
//	    *name into them). ENOENT if absent or empty.
//	agent_generate(agent, agent_len, input, input_len, opts, opts_len,
//	               buf, buf_limit i32) -> status_len i64
//	    Runs the agent to completion and returns its text. input is the user
//	    message (plain text, or a JSON messages array); opts is JSON
//	    ({"threadId","resourceId","maxSteps","output"}, at most 64 KiB, else
//	    E2BIG) or (0, 0). The call
//	    blocks the guest; it gets the request's deadline and RequestContext.
//	    The thread's resource is the request's scoped one (mastra__resourceId,
//	    set by auth or a middleware) whatever the guest passes, else the
//	    guest's resourceId, else the plugin's own (Spec.ResourceID, default
//	    "plugin:<name>"); the [AgentCaller] applies this rule.
//	    The result is also kept in the request's result slot, so when len >
//	    buf_limit the guest fetches it with result_read. Errors: EPERM (agent
//	    not granted, or outside a request), ENOSYS (no agents on this server),
//	    EINVAL (opts not JSON), ETIMEDOUT, ECANCELED, EIO (the agent failed:
//	    the error text is the result, written if it fits and in the slot).
//	    Needs Grants.Agents.
//	result_read(offset, buf, buf_limit i32) -> n i32
//	    Copies the result slot from offset into buf; returns the bytes
//	    copied, 0 past the end.
//	agent_stream_to_response(agent, agent_len, input, input_len, opts,
//	                         opts_len i32) -> errno i32
//	    Runs the agent as agent_generate does (same input, opts, deadline,
//	    RequestContext and resource rule) and streams its reply as the whole
//	    response, as /agent/stream does: status 200, Content-Type
//	    text/event-stream, Cache-Control no-cache, X-Accel-Buffering no, one
//	    "data: <chunk>\n\n" per chunk in Mastra's {type, runId, from,
//	    payload} shape, flushed at once, then "data: [DONE]\n\n". Headers the
//	    guest set before go out too. The head goes out with the first chunk,
//	    so the result says what the guest may still do: 0, the response is
//	    done (also when the agent failed after it began: the stream carries
//	    its "error" chunk and the host logs the failure), write nothing more;
//	    any other errno, nothing was sent and the guest answers as it likes.
//	    Errors: EPERM (agent not granted; outside a request, in a tool, after
//	    next, or once the guest wrote body bytes), ENOSYS, EINVAL, E2BIG as
//	    for agent_generate; ETIMEDOUT, ECANCELED, EIO when the agent failed
//	    before its first chunk (the error text is in the result slot: read
//	    it with result_read until it returns 0). The call's deadline (the
//	    plugin's Timeout) bounds the whole stream; a client that goes away
//	    cancels the model call. Under buffer_response the stream is held,
//	    against MaxResponse, and sent whole at the end. Needs Grants.Agents.
//	kv_get(key, key_len, buf, buf_limit i32) -> status_len i64
//	    The value under key in this plugin's namespace. ENOENT if absent or
//	    expired; EINVAL for a key that is empty or not text (NUL bytes,
//	    invalid UTF-8), E2BIG for a key over 512 bytes; EIO, ETIMEDOUT,
//	    ECANCELED when the store fails (error text in the result slot).
//	    Needs Grants.KV.
//	kv_set(key, key_len, val, val_len i32, ttl_ms i64) -> errno i32
//	    Stores val (at most 1 MiB); ttl_ms <= 0 keeps it without expiry.
//	    E2BIG also when the write would take the resource (the request's
//	    scoped one, else Spec.ResourceID) past Spec.KVMaxKeys live keys or
//	    Spec.KVMaxBytes bytes in this namespace (the value replaced and
//	    expired entries not counted); nothing is stored, the quota is in
//	    the result slot and the first refusal of the call is logged.
//	    Other errors as kv_get. Needs Grants.KV.
//	kv_delete(key, key_len i32) -> errno i32
//	    Removes key (no error if absent). Needs Grants.KV.
//	workflow_start(id, id_len, input, input_len, buf, buf_limit i32) -> status_len i64
//	    Creates a run of workflow id and starts it with input (JSON, at
//	    most 1 MiB, or (0, 0)) as its inputData; returns {"runId"} without
//	    waiting for the run. EINVAL (input not JSON, or not valid for the
//	    workflow's input schema: the text names the field; no run is left).
//	workflow_resume(id, id_len, run, run_len, body, body_len, buf,
//	                buf_limit i32) -> status_len i64
//	    Resumes the suspended run with body {"step","resumeData"} (as the
//	    resume route's body); returns {"message"} once the resume is
//	    claimed. EBUSY when the run is not suspended or another resume won;
//	    EINVAL for bad resume data or step.
//	workflow_run(id, id_len, run, run_len, buf, buf_limit i32) -> status_len i64
//	    The run, as GET /api/workflows/:workflowId/runs/:runId returns it.
//	threads_list(query, query_len, buf, buf_limit i32) -> status_len i64
//	    A page of the resource's threads as GET /api/memory/threads returns
//	    it. query is JSON {"page","perPage" (1-1000, default 100),
//	    "orderBy" ("createdAt"|"updatedAt"), "direction" ("ASC"|"DESC")} or
//	    (0, 0).
//	thread_messages(thread, thread_len, query, query_len, buf,
//	                buf_limit i32) -> status_len i64
//	    A page of a thread's messages as GET
//	    /api/memory/threads/:threadId/messages returns it; query as for
//	    threads_list (perPage default 40, oldest first).
//
// The workflow and thread functions go through the [DataCaller], which
// binds each to the request's scoped resource (mastra__resourceId), else
// the plugin's own (Spec.ResourceID); the guest cannot name one. A run or
// thread of another resource is ENOENT with no text, exactly as a missing
// one. Results and error texts go to (buf, buf_limit) if they fit and to
// the result slot (read a larger one with result_read). Other errors:
// EPERM (outside a request, or a workflow not in Grants.Workflows), ENOSYS
// (no DataCaller), E2BIG (an argument over 1 MiB), EIO, ETIMEDOUT,
// ECANCELED. The workflow functions need Grants.Workflows (ids or "*"),
// the thread functions Grants.Threads.
//
// Keys are namespaced by the plugin's name: two plugins never see each
// other's keys. With no Config.KV the store is in memory ([MemoryKV]).
//
// # Grants and sandbox
//
// A module that imports a function this host does not provide, or a mastra
// function outside its grants (agent_* without Grants.Agents, kv_* without
// Grants.KV, workflow_* without Grants.Workflows, threads_list and
// thread_messages without Grants.Threads), fails Load with a message naming the import. Other modules a
// guest may import:
//
//   - wasi_snapshot_preview1, instantiated only when imported: no arguments,
//     no environment except the variables named in Grants.Env, no files
//     except Grants.Mounts (read-only when asked; each confined to its
//     directory by an os.Root, symbolic links included: see rootfs), real
//     clocks, random from
//     crypto/rand, sleep returns at once; stdout and stderr go to the log,
//     one record per write, cut at 1 KiB, within the log rate limit.
//   - env.abort(msg, file, line, col i32), AssemblyScript's default: traps
//     with the message.
//
// Memory is capped per instance (Spec.MemoryLimit), and what the host holds
// for one call on the guest's behalf (a buffered or captured response,
// headers and request-context values it sets, a request body it rewrites or
// buffers) is capped by Spec.MaxResponse, so a plugin holds at most
// MaxInstances × (MemoryLimit + MaxResponse). There is no network. The
// package has no defaults for these limits: Load refuses a Spec without
// them, and the configuration ([plugins] in mastra.toml) supplies them.
package plugin
