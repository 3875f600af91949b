package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/tetratelabs/wazero/api"
)

// The mastra functions on workflows and threads. Each goes through the
// host's DataCaller, which binds it to the caller's resource.

func (p *Plugin) workflowAllowed(id string) bool {
	return slices.Contains(p.spec.Grants.Workflows, "*") || slices.Contains(p.spec.Grants.Workflows, id)
}

// dataArg reads an optional JSON argument: nil for (0, 0), errno otherwise
// when it is too large or not JSON. The bytes are copied: guest memory may
// move while the host waits.
func dataArg(mod api.Module, ptr, n uint32, what string) (json.RawMessage, uint32) {
	if n == 0 {
		return nil, errnoSuccess
	}
	if n > maxDataArg {
		return nil, errno2Big
	}
	b := mustRead(mod, ptr, n, what)
	if !json.Valid(b) {
		return nil, errnoInval
	}
	return append(json.RawMessage(nil), b...), errnoSuccess
}

// dataCall runs one call and answers as agent_generate does: the JSON
// result, or the error text for EINVAL, EBUSY and EIO, goes to (buf,
// limit) if it fits and to the result slot. ENOENT carries no text, so a
// run or thread of another resource answers exactly as a missing one.
func dataCall(ctx context.Context, mod api.Module, buf, limit uint32, call func(DataCaller) (json.RawMessage, error)) uint64 {
	st := stateFrom(ctx)
	st.result = nil
	if st.p.h.data == nil {
		return packHiLo(errnoNoSys, 0)
	}
	out, err := call(st.p.h.data)
	switch {
	case err == nil:
		return st.reply(mod, buf, limit, errnoSuccess, out)
	case errors.Is(err, ErrNotFound):
		return packHiLo(errnoNoEnt, 0)
	case errors.Is(err, ErrInvalid):
		return st.reply(mod, buf, limit, errnoInval, []byte(err.Error()))
	case errors.Is(err, ErrConflict):
		return st.reply(mod, buf, limit, errnoBusy, []byte(err.Error()))
	}
	return st.reply(mod, buf, limit, errnoFor(ctx, err), []byte(err.Error()))
}

// workflowCheck is the common gate of the workflow functions.
func workflowCheck(st *reqState, id string) uint32 {
	if st.init || !st.p.workflowAllowed(id) {
		return errnoPerm
	}
	return errnoSuccess
}

func (st *reqState) dataCall(wf, run, thread string, body json.RawMessage) DataCall {
	return DataCall{Plugin: st.p.spec.Name, ResourceID: st.p.spec.ResourceID, Workflow: wf, RunID: run,
		ThreadID: thread, Body: body}
}

// workflow_start(id, id_len, input, input_len, buf, buf_limit i32) -> status_len i64
var workflowStart = newHostFunc("workflow_start", workflowStartFn,
	types(i32, i32, i32, i32, i32, i32), types(i64),
	"id", "id_len", "input", "input_len", "buf", "buf_limit").needs(grantWorkflows)

func workflowStartFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	id := mustString(mod, uint32(stack[0]), uint32(stack[1]), "workflow id")
	input, errno := dataArg(mod, uint32(stack[2]), uint32(stack[3]), "workflow input")
	if errno == errnoSuccess {
		errno = workflowCheck(st, id)
	}
	if errno != errnoSuccess {
		st.result = nil
		stack[0] = packHiLo(errno, 0)
		return
	}
	stack[0] = dataCall(ctx, mod, uint32(stack[4]), uint32(stack[5]), func(d DataCaller) (json.RawMessage, error) {
		return d.StartWorkflow(ctx, st.dataCall(id, "", "", input))
	})
}

// workflow_resume(id, id_len, run, run_len, body, body_len, buf, buf_limit i32) -> status_len i64
var workflowResume = newHostFunc("workflow_resume", workflowResumeFn,
	types(i32, i32, i32, i32, i32, i32, i32, i32), types(i64),
	"id", "id_len", "run", "run_len", "body", "body_len", "buf", "buf_limit").needs(grantWorkflows)

func workflowResumeFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	id := mustString(mod, uint32(stack[0]), uint32(stack[1]), "workflow id")
	run := mustString(mod, uint32(stack[2]), uint32(stack[3]), "run id")
	body, errno := dataArg(mod, uint32(stack[4]), uint32(stack[5]), "resume body")
	if errno == errnoSuccess {
		errno = workflowCheck(st, id)
	}
	if errno == errnoSuccess && run == "" {
		errno = errnoInval
	}
	if errno != errnoSuccess {
		st.result = nil
		stack[0] = packHiLo(errno, 0)
		return
	}
	stack[0] = dataCall(ctx, mod, uint32(stack[6]), uint32(stack[7]), func(d DataCaller) (json.RawMessage, error) {
		return d.ResumeWorkflow(ctx, st.dataCall(id, run, "", body))
	})
}

// workflow_run(id, id_len, run, run_len, buf, buf_limit i32) -> status_len i64
var workflowRun = newHostFunc("workflow_run", workflowRunFn,
	types(i32, i32, i32, i32, i32, i32), types(i64),
	"id", "id_len", "run", "run_len", "buf", "buf_limit").needs(grantWorkflows)

func workflowRunFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	id := mustString(mod, uint32(stack[0]), uint32(stack[1]), "workflow id")
	run := mustString(mod, uint32(stack[2]), uint32(stack[3]), "run id")
	errno := workflowCheck(st, id)
	if errno == errnoSuccess && run == "" {
		errno = errnoInval
	}
	if errno != errnoSuccess {
		st.result = nil
		stack[0] = packHiLo(errno, 0)
		return
	}
	stack[0] = dataCall(ctx, mod, uint32(stack[4]), uint32(stack[5]), func(d DataCaller) (json.RawMessage, error) {
		return d.WorkflowRun(ctx, st.dataCall(id, run, "", nil))
	})
}

// threads_list(query, query_len, buf, buf_limit i32) -> status_len i64
var threadsList = newHostFunc("threads_list", threadsListFn,
	types(i32, i32, i32, i32), types(i64),
	"query", "query_len", "buf", "buf_limit").needs(grantThreads)

func threadsListFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	q, errno := dataArg(mod, uint32(stack[0]), uint32(stack[1]), "threads query")
	if errno == errnoSuccess && st.init {
		errno = errnoPerm
	}
	if errno != errnoSuccess {
		st.result = nil
		stack[0] = packHiLo(errno, 0)
		return
	}
	stack[0] = dataCall(ctx, mod, uint32(stack[2]), uint32(stack[3]), func(d DataCaller) (json.RawMessage, error) {
		return d.ListThreads(ctx, st.dataCall("", "", "", q))
	})
}

// thread_messages(thread, thread_len, query, query_len, buf, buf_limit i32) -> status_len i64
var threadMessages = newHostFunc("thread_messages", threadMessagesFn,
	types(i32, i32, i32, i32, i32, i32), types(i64),
	"thread", "thread_len", "query", "query_len", "buf", "buf_limit").needs(grantThreads)

func threadMessagesFn(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFrom(ctx)
	thread := mustString(mod, uint32(stack[0]), uint32(stack[1]), "thread id")
	q, errno := dataArg(mod, uint32(stack[2]), uint32(stack[3]), "messages query")
	switch {
	case errno != errnoSuccess:
	case st.init:
		errno = errnoPerm
	case thread == "":
		errno = errnoInval
	}
	if errno != errnoSuccess {
		st.result = nil
		stack[0] = packHiLo(errno, 0)
		return
	}
	stack[0] = dataCall(ctx, mod, uint32(stack[4]), uint32(stack[5]), func(d DataCaller) (json.RawMessage, error) {
		return d.ThreadMessages(ctx, st.dataCall("", "", thread, q))
	})
}
