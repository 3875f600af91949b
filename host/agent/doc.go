// Package agent runs agents: it assembles the prompt, loads the thread's
// history, calls the model in a loop that runs tools, streams Mastra's
// chunks and saves the completed turn.
//
// A [Service] holds the configured [Agent] values and a memory store.
// [Service.Generate] returns a whole [Result]; [Service.Stream] hands
// [Chunk] values to a callback as the reply arrives and returns the same
// Result at the end. The HTTP layer decodes requests into an [Input] and
// writes chunks out as server-sent events; it never touches memory for a
// turn.
//
// # A turn
//
//  1. A ThreadID that exists under another resource fails with
//     memory.ErrNotFound before anything else happens: another tenant's
//     thread is neither read nor written.
//  2. The prompt is a system message (the agent's instructions, then
//     Input.Instructions), the last Agent.LastMessages messages of the
//     thread, then the new messages. Stored v2 content becomes model
//     messages: text parts become text, and tool invocations become an
//     assistant message with tool calls followed by one tool message per
//     call. A call that was never answered is left out and a client tool's
//     result sent in this turn is placed right after its call, so the
//     replay is a valid OpenAI sequence.
//  3. The model is called. When it calls server tools ([Tool]) they run
//     one by one: an unknown tool, arguments that are not a JSON object or
//     do not match the tool's input schema (JSON Schema, host/toolschema;
//     "invalid arguments: /city: …"), a tool error or a panic become the
//     result {"error": "…"} that the model sees on the next call. The loop stops when the model answers
//     without tool calls, when it calls a client tool (Input.ClientTools;
//     finish reason "tool-calls", the call is saved as pending) or after
//     MaxSteps model calls (finish reason "tool-calls", as in Mastra).
//  4. The turn is saved in one memory.Store.AppendTurn: the input
//     messages and one assistant message. A model error or a cancelled turn
//     saves nothing.
//
// An agent with [SubAgent]s delegates through the tools agent-<id>
// (delegate.go): the sub-agent's turn runs in this process for the
// caller's resource (Input.Owner), in a thread of its own, seeing its
// prompt and the caller's conversation without tool parts.
//
// With [SemanticRecall] (recall.go), before the model is called the user's
// message is embedded once and the nearest earlier messages are put in the
// prompt; after the save, an [EmbedQueue] job embeds the saved messages.
// Neither can fail the turn.
//
// # Chunks
//
// Stream emits, in order (payloads as JSON):
//
//	start        {id: agentId, messageId, threadId, resourceId}
//	step-start   {messageId, request: {}, warnings: []}          per model call
//	text-start   {id: "txt-N"}
//	text-delta   {id, text}                                       one per piece
//	text-end     {type: "text-end", id}
//	tool-call-input-streaming-start {toolCallId, toolName}        streamed calls
//	tool-call-delta                 {argsTextDelta, toolCallId, toolName}
//	tool-call-input-streaming-end   {toolCallId}
//	tool-call    {toolCallId, toolName, args}
//	tool-result  {args, toolCallId, toolName, result}             server tools
//	tool-error   {toolCallId, toolName, args, error: {message, name}}
//	tool-output  {output, toolCallId, toolName}  from "USER": a chunk of a
//	             running tool's own work (a sub-agent's, a workflow run's)
//	step-finish  {messageId, stepResult: {reason, warnings, isContinued},
//	              output: {text, toolCalls, usage}, metadata: {id, modelId}}
//	finish       {messageId, stepResult: {reason, warnings, isContinued: false},
//	              output: {text, toolCalls, usage}, metadata: {modelId}, usage}
//
// A call that waits for a human (approval.go) ends the stream with
// tool-call-approval {toolCallId, toolName, args, resumeSchema} or
// tool-call-suspended {toolCallId, toolName, suspendPayload, args,
// resumeSchema?}, then finish with reason "suspended"; a resumed stream
// starts with start and the call's tool-call again, then its tool-result,
// or tool-output-denied {toolCallId, toolName, args, approval: {id,
// approved: false, reason}} for a declined call.
//
// usage is {inputTokens, outputTokens, totalTokens}; threadId and
// resourceId in start are this server's addition. No chunk is emitted
// before the model produced its first piece of reply (or finished), so a
// failure before that is a plain error the caller can answer with a status.
// A failure after it emits error {type: "error", error: {message, name}}
// with a safe message ("model provider error", "model provider
// unavailable", "model timed out", "could not save the conversation"),
// then step-finish (when a step is open) and finish with reason "error",
// carrying the output so far (text, tool calls, usage) and the model's id.
// A turn cancelled with an [EndCause] (a shutdown, a run taken over) and a
// save refused by the commit gate end the same way, with their own message;
// a turn whose client went away ends without chunks. That end is written by
// a [Tracker] only (ending.go), inside the agent for every exit of a live
// stream (so the HTTP faces never end one), and by the stream log, through
// [EndLost], for a run whose runner died: a client gets the same end
// whoever wrote it.
//
// # Saved messages
//
// Messages are Mastra v2 content. User and system input is one text part.
// A role "tool" input message (a client tool's result) is saved as an
// assistant message with one tool-invocation part in state "result". The
// reply is one assistant message whose parts are, per model call, a
// step-start part {model: "provider/model"}, a text part when there was
// text, and one tool-invocation part per call (state "result", or "call"
// for a pending client tool; a failed tool's result is {"error": "…"});
// content is the whole reply text and metadata is {modelId, provider,
// usage}. createdAt strictly increases within a turn. A new thread gets
// the title "".
//
// # Errors
//
// [ErrUnknownAgent] and [ErrInvalidInput] are wrapped with detail. Model
// errors are wrapped with %w, so errors.As finds a *llm.StatusError and
// errors.Is matches llm.ErrUnavailable and context.DeadlineExceeded;
// store errors keep memory.ErrNotFound and memory.ErrUnavailable.
//
// # Imports
//
// agent imports host/llm, host/memory, host/reqctx and host/toolschema, never host/server
// or host/plugin: a Wasm tool reaches it as a [Tool].
package agent
