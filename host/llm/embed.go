package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strings"
)

// MaxEmbedBatch is how many inputs one /embeddings request carries at most
// (OpenAI's limit, and what Mastra's bundled provider sends): a longer
// EmbedRequest.Input is split into several requests.
const MaxEmbedBatch = 2048

// EmbedRequest asks for the embeddings of some texts.
type EmbedRequest struct {
	// Model is the provider's model name (OpenAI) or deployment (Azure).
	Model string
	// Input are the texts, embedded in this order.
	Input []string
	// Dimensions shortens the vectors (OpenAI's text-embedding-3-*); 0
	// leaves the model's own length and is not sent.
	Dimensions int
}

// Embeddings is an embedding model's answer.
type Embeddings struct {
	// Vectors holds one vector per input, in the input's order.
	Vectors [][]float32
	// Usage counts the input tokens (InputTokens = TotalTokens).
	Usage Usage
}

// Embedder turns texts into vectors. Implementations are safe for
// concurrent use.
type Embedder interface {
	Embed(ctx context.Context, req EmbedRequest) (*Embeddings, error)
}

// Compile-time checks that the providers implement Embedder.
var (
	_ Embedder = (*OpenAI)(nil)
	_ Embedder = (*Azure)(nil)
	_ Embedder = EchoEmbedder{}
)

// Embed asks POST {base}/embeddings for the vectors of req.Input, in
// batches of at most MaxEmbedBatch; see chatClient.send for the retries.
func (o *OpenAI) Embed(ctx context.Context, req EmbedRequest) (*Embeddings, error) {
	return o.c.embed(ctx, req, func(string) string { return o.base + "/embeddings" })
}

// Embed asks deployment req.Model
// ({endpoint}/openai/deployments/{deployment}/embeddings?api-version=…)
// for the vectors of req.Input.
func (a *Azure) Embed(ctx context.Context, req EmbedRequest) (*Embeddings, error) {
	return a.c.embed(ctx, req, func(deployment string) string {
		return a.base + "/openai/deployments/" + url.PathEscape(deployment) + "/embeddings?" + a.query
	})
}

// wireEmbedRequest is the body of POST /embeddings.
type wireEmbedRequest struct {
	Model          string   `json:"model,omitempty"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

// wireEmbedResponse is its answer. data may come in any order: index says
// which input a vector belongs to.
type wireEmbedResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Usage *struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
	Error *wireError `json:"error"`
}

// embed sends req in batches to url(req.Model) and joins the answers.
func (c *chatClient) embed(ctx context.Context, req EmbedRequest, url func(model string) string) (*Embeddings, error) {
	if req.Model == "" {
		return nil, fmt.Errorf("llm: %s: embedding request names no model", c.provider)
	}
	out := &Embeddings{Vectors: make([][]float32, 0, len(req.Input))}
	for batch := range slices.Chunk(req.Input, MaxEmbedBatch) {
		w := wireEmbedRequest{Input: batch, EncodingFormat: "float", Dimensions: req.Dimensions}
		if c.sendModel {
			w.Model = req.Model
		}
		body, err := json.Marshal(w)
		if err != nil {
			return nil, fmt.Errorf("llm: %s: encoding embedding request: %w", c.provider, err)
		}
		vecs, usage, err := c.embedBatch(ctx, url(req.Model), body, len(batch))
		if err != nil {
			return nil, err
		}
		out.Vectors = append(out.Vectors, vecs...)
		out.Usage = out.Usage.Add(usage)
	}
	return out, nil
}

// embedBatch makes one /embeddings request for n inputs.
func (c *chatClient) embedBatch(ctx context.Context, url string, body []byte, n int) ([][]float32, Usage, error) {
	cl, err := c.send(ctx, url, body, false, c.maxRetries)
	if err != nil {
		return nil, Usage{}, err
	}
	defer cl.close(nil)
	raw, err := io.ReadAll(io.LimitReader(cl.body, maxResponseBody))
	if err != nil {
		return nil, Usage{}, c.readError(ctx, cl, err, "reading embeddings")
	}
	var w wireEmbedResponse
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, Usage{}, fmt.Errorf("llm: %s: decoding embeddings: %w", c.provider, err)
	}
	if w.Error != nil {
		return nil, Usage{}, c.bodyError(w.Error)
	}
	if len(w.Data) != n {
		return nil, Usage{}, fmt.Errorf("llm: %s: %d embeddings for %d inputs", c.provider, len(w.Data), n)
	}
	vecs := make([][]float32, n)
	for _, d := range w.Data {
		if d.Index < 0 || d.Index >= n || vecs[d.Index] != nil {
			return nil, Usage{}, fmt.Errorf("llm: %s: embedding index %d out of range or repeated", c.provider, d.Index)
		}
		if len(d.Embedding) == 0 {
			return nil, Usage{}, fmt.Errorf("llm: %s: embedding %d is empty", c.provider, d.Index)
		}
		vecs[d.Index] = d.Embedding
	}
	dim := len(vecs[0])
	for i, v := range vecs {
		if len(v) != dim {
			return nil, Usage{}, fmt.Errorf("llm: %s: embedding %d has %d dimensions, embedding 0 has %d", c.provider, i, len(v), dim)
		}
	}
	var u Usage
	if w.Usage != nil {
		u = Usage{InputTokens: w.Usage.PromptTokens, TotalTokens: w.Usage.TotalTokens}
	}
	return vecs, u, nil
}

// EchoDimensions is the length of the echo embedder's vectors.
const EchoDimensions = 256

// EchoEmbedder is the deterministic offline embedder for development and
// tests, the counterpart of Echo. It is not a language model: a text's
// vector is its words (lower-cased runs of letters and digits) hashed into
// EchoDimensions buckets with a sign, then scaled to length 1, so texts that
// share words are near each other and the same text always gets the same
// vector. Usage counts words.
type EchoEmbedder struct{}

// Embed returns the echo vectors of req.Input; req.Model and
// req.Dimensions are ignored.
func (EchoEmbedder) Embed(ctx context.Context, req EmbedRequest) (*Embeddings, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("llm: echo: %w", err)
	}
	out := &Embeddings{Vectors: make([][]float32, len(req.Input))}
	for i, text := range req.Input {
		var words int
		out.Vectors[i], words = HashEmbedding(text, EchoDimensions)
		out.Usage.InputTokens += words
	}
	out.Usage.TotalTokens = out.Usage.InputTokens
	return out, nil
}

// HashEmbedding is the echo embedder's vector of text with dims
// dimensions, and the number of words it found. A text without words gets
// a vector with a single 1, so that it still has length 1.
func HashEmbedding(text string, dims int) ([]float32, int) {
	v := make([]float32, dims)
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r > 127)
	})
	for _, w := range words {
		h := fnv64(w)
		sign := float32(1)
		if h>>63 == 1 {
			sign = -1
		}
		v[h%uint64(dims)] += sign
	}
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		v[0] = 1
		return v, len(words)
	}
	norm := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= norm
	}
	return v, len(words)
}

// fnv64 is FNV-1a, 64 bits.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// EmbedChoice is one embedding model an embedder may answer with.
type EmbedChoice struct {
	Embedder Embedder
	// Ref is "provider/model", for errors and logs.
	Ref string
	// Model is the model name sent to the provider.
	Model string
}

// Fallbacks is an embedder that asks its first choice and, when that fails
// with an error another provider may not have (ErrUnavailable, a timeout),
// the next. The choices must be the same model (say OpenAI's and an Azure
// deployment of it): vectors of different models are not comparable (the
// vector store refuses a vector of another length than its index's).
type Fallbacks struct {
	Choices []EmbedChoice
	// OnFallback, when set, is told of each fallback (a log line, a
	// metric); it must not block.
	OnFallback func(from, to string, err error)
}

// Embed embeds req.Input with the first choice that answers; req.Model is
// replaced by each choice's own.
func (f *Fallbacks) Embed(ctx context.Context, req EmbedRequest) (*Embeddings, error) {
	if len(f.Choices) == 0 {
		return nil, errors.New("llm: no embedding model")
	}
	for i, c := range f.Choices {
		req.Model = c.Model
		out, err := c.Embedder.Embed(ctx, req)
		if err == nil {
			return out, nil
		}
		worth := ctx.Err() == nil && (errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded))
		if !worth || i == len(f.Choices)-1 {
			return nil, err
		}
		if f.OnFallback != nil {
			f.OnFallback(c.Ref, f.Choices[i+1].Ref, err)
		}
	}
	panic("unreachable")
}
