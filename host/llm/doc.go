// Package llm talks to chat models: it owns the providers' wire formats and
// gives the rest of the server one small interface, [Model], with a whole
// reply ([Model.Generate]) and a streamed one ([Model.Stream]).
//
// # Providers
//
//   - [OpenAI] speaks OpenAI chat completions (POST {base}/chat/completions,
//     "Authorization: Bearer"), which also covers Ollama, vLLM, LM Studio,
//     OpenRouter, Groq and other compatible servers through
//     [OpenAIConfig].BaseURL.
//   - [Azure] speaks Azure OpenAI: the same body without a model field, sent
//     to /openai/deployments/{deployment}/chat/completions?api-version=…
//     with an "api-key" header.
//   - [Anthropic] speaks Anthropic's Messages API (POST {base}/v1/messages,
//     "x-api-key", "anthropic-version"): tool_use/tool_result blocks,
//     cache_control breakpoints ([AnthropicConfig].Cache), extended thinking
//     streamed as [Delta].Reasoning and replayed from [Message].Reasoning, and
//     cache read/write tokens in [Usage]. A setting it has no field for (seed,
//     penalties) is an [*UnsupportedSettingError] before anything is sent.
//   - [Echo] is a deterministic offline model for development and tests. It
//     is not a real model and must be labeled as such wherever it appears.
//
// Which providers exist, and which of these clients serves each, is the
// registry's business (internal/providers, used by config and host/app);
// this package takes explicit settings and has no defaults of its own.
//
// # Embeddings
//
// [OpenAI] and [Azure] are also an [Embedder]: POST {base}/embeddings (Azure:
// /openai/deployments/{deployment}/embeddings) with encoding_format float,
// in batches of [MaxEmbedBatch] inputs, with the retries below; vectors are
// placed by their index. [EchoEmbedder] is the offline counterpart of Echo
// (words hashed into [EchoDimensions] buckets), and [Fallbacks] moves to the
// next embedding model when one is unavailable.
//
// # Structured output
//
// [Request].ResponseFormat asks for one JSON document matching a schema:
// a strict "json_schema" response_format on the OpenAI wire, and on
// Anthropic's output_config.format or, for the models without it, a forced
// "json" tool. Either way the JSON comes back as the reply's text.
//
// # Streams
//
// A streamed reply arrives as server-sent events. Each piece is handed to the
// caller as a [Delta] as soon as it is read; tool-call argument fragments are
// assembled by index into [Response].ToolCalls, and the final usage chunk
// fills [Response].Usage. Finish reasons use Mastra's spelling
// ([FinishStop], [FinishToolCalls], …).
//
// # Errors, retries and timeouts
//
// A non-2xx answer, or an error object inside a stream, is a [*StatusError]
// with a short message that never holds the API key. Connection errors, 408,
// 409, 429 and 5xx are retried with a doubling backoff or the provider's
// Retry-After, but only before any of the reply has been read, so a caller
// never sees a token twice. When the retries run out, the error matches
// [ErrUnavailable] (callers answer 503).
//
// The configured Timeout bounds the wait for the response headers and any
// stall between two reads of the body; when it fires, the error matches
// context.DeadlineExceeded (callers answer 504). Cancelling ctx cancels the
// upstream request.
//
// # Imports
//
// This package imports only the standard library and nothing from host/:
// turning stored messages into [Message] values is the agent's job.
package llm
