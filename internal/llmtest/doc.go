// Package llmtest is test support: an in-process server that speaks OpenAI's
// chat-completions wire format (a whole chat.completion JSON body, or an SSE
// stream of chat.completion.chunk events ending in [DONE]) and answers each
// request as a test scripts it, recording the requests it got.
//
// A test builds one with NewServer and a script, or with Replies for a fixed
// sequence of answers, and points the real OpenAI client at it:
//
//	fake := llmtest.NewServer(t, llmtest.Replies(
//		llmtest.Reply{Calls: []llmtest.Call{{ID: "call_1", Name: "weather", Args: `{"city":"Paris"}`}}},
//		llmtest.Reply{Text: "It is 21C in Paris."},
//	))
//	model := fake.Model(10 * time.Second)
//	…
//	reqs := fake.Requests()
//
// A Reply can also fail the request (Status), break the stream after its
// text (MidStreamError), or hold the answer until the request is cancelled
// (StallBeforeAnswer, HangAfterFirstToken; Cancelled reports it).
//
// POST …/embeddings answers in OpenAI's embeddings format with
// llm.HashEmbedding vectors (EmbedDimensions long), so a test knows which
// texts are near each other; EmbedStatus fails chosen requests and
// EmbedRequests / Embedded count what was embedded.
//
// Only tests import this package; production code never does.
package llmtest
