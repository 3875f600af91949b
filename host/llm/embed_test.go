package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// embedAnswer writes an /embeddings answer for n inputs, the vector of
// input i being [i, i+0.5], listed last input first (the client must sort
// by index).
func embedAnswer(w http.ResponseWriter, n int) {
	var data []string
	for i := n - 1; i >= 0; i-- {
		data = append(data, fmt.Sprintf(`{"object":"embedding","index":%d,"embedding":[%d,%d.5]}`, i, i, i))
	}
	writeJSON(w, 200, `{"object":"list","data":[`+strings.Join(data, ",")+`],"model":"text-embedding-3-small","usage":{"prompt_tokens":`+
		fmt.Sprint(3*n)+`,"total_tokens":`+fmt.Sprint(3*n)+`}}`)
}

func inputsOf(s seen) int {
	in, _ := s.Body["input"].([]any)
	return len(in)
}

func TestOpenAIEmbedWire(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { embedAnswer(w, 2) })
	o, _ := newTestOpenAI(f, nil)
	got, err := o.Embed(context.Background(), EmbedRequest{Model: "text-embedding-3-small", Input: []string{"a b", "c"}, Dimensions: 512})
	if err != nil {
		t.Fatal(err)
	}
	req := f.last()
	if req.Method != "POST" || req.Path != "/v1/embeddings" || req.Header.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("request %s %s auth %q", req.Method, req.Path, req.Header.Get("Authorization"))
	}
	if !jsonEqual(t, req.RawBody, `{"model":"text-embedding-3-small","input":["a b","c"],"encoding_format":"float","dimensions":512}`) {
		t.Errorf("body = %s", req.RawBody)
	}
	if len(got.Vectors) != 2 || got.Vectors[0][0] != 0 || got.Vectors[1][0] != 1 || got.Vectors[1][1] != 1.5 {
		t.Errorf("vectors = %v; want input order [[0 0.5] [1 1.5]]", got.Vectors)
	}
	if got.Usage.InputTokens != 6 || got.Usage.TotalTokens != 6 {
		t.Errorf("usage = %+v", got.Usage)
	}
}

// More inputs than one request may carry go in several requests, and the
// vectors come back in the input's order.
func TestEmbedBatches(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		embedAnswer(w, map[int]int{0: MaxEmbedBatch, 1: 3}[n])
	})
	o, _ := newTestOpenAI(f, nil)
	in := make([]string, MaxEmbedBatch+3)
	for i := range in {
		in[i] = "x"
	}
	got, err := o.Embed(context.Background(), EmbedRequest{Model: "m", Input: in})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || inputsOf(reqs[0]) != MaxEmbedBatch || inputsOf(reqs[1]) != 3 {
		t.Fatalf("%d requests; want 2 of %d and 3 inputs", len(reqs), MaxEmbedBatch)
	}
	if len(got.Vectors) != len(in) || got.Vectors[MaxEmbedBatch][0] != 0 || got.Vectors[MaxEmbedBatch-1][0] != MaxEmbedBatch-1 {
		t.Errorf("%d vectors, or not in input order", len(got.Vectors))
	}
	if got.Usage.InputTokens != 3*len(in) {
		t.Errorf("usage %+v: want both batches counted", got.Usage)
	}
}

// 429 and 5xx are retried, honouring Retry-After; a 400 is not, and its
// message comes back without the key.
func TestEmbedRetriesAndErrors(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, `{"error":{"message":"slow down","type":"rate_limit_exceeded"}}`)
		case 1:
			writeJSON(w, 503, `{"error":{"message":"busy","type":"server_error"}}`)
		case 2:
			embedAnswer(w, 1)
		default:
			writeJSON(w, 400, `{"error":{"message":"bad key `+testKey+`","type":"invalid_request_error","code":"context_length_exceeded"}}`)
		}
	})
	o, waits := newTestOpenAI(f, nil)
	if _, err := o.Embed(context.Background(), EmbedRequest{Model: "m", Input: []string{"a"}}); err != nil {
		t.Fatalf("after a 429 and a 503: %v", err)
	}
	if len(*waits) != 2 || (*waits)[0].Seconds() != 1 {
		t.Errorf("waits = %v; want 2, the first the provider's 1s", *waits)
	}
	_, err := o.Embed(context.Background(), EmbedRequest{Model: "m", Input: []string{"a"}})
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 || errors.Is(err, ErrUnavailable) {
		t.Fatalf("400: err = %v", err)
	}
	if strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %q leaks the key", err)
	}
	if len(f.requests()) != 4 {
		t.Errorf("%d requests; a 400 is not retried", len(f.requests()))
	}
}

// A provider that answers 5xx past the retries is ErrUnavailable (503
// upstream of us), and an answer that does not match the inputs is an
// error, never a misaligned vector.
func TestEmbedBadAnswers(t *testing.T) {
	answers := []string{
		`{"data":[{"index":0,"embedding":[1,2]}]}`,                                     // 2 inputs, 1 vector
		`{"data":[{"index":0,"embedding":[1,2]},{"index":0,"embedding":[1,2]}]}`,       // index repeated
		`{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[1,2,3]}]}`,     // lengths differ
		`{"error":{"message":"quota","type":"insufficient_quota"}}`,                    // error in a 200
		`{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[]}]}`,          // empty vector
		`{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":"AAAA"}]}`,      // base64, not asked for
		`{"data":[{"index":5,"embedding":[1,2]},{"index":1,"embedding":[1,2]}]}`,       // out of range
		`{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[1,2]}]} trash`, // not JSON
	}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, answers[n]) })
	o, _ := newTestOpenAI(f, nil)
	for i := range answers {
		if got, err := o.Embed(context.Background(), EmbedRequest{Model: "m", Input: []string{"a", "b"}}); err == nil {
			t.Errorf("answer %d: got %v, want an error", i, got.Vectors)
		}
	}
	down := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 502, `{"error":"gateway"}`) })
	o, _ = newTestOpenAI(down, nil)
	if _, err := o.Embed(context.Background(), EmbedRequest{Model: "m", Input: []string{"a"}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("502 x3: err = %v; want ErrUnavailable", err)
	}
	if n := len(down.requests()); n != testRetries+1 {
		t.Errorf("%d requests; want %d", n, testRetries+1)
	}
}

func TestAzureEmbed(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { embedAnswer(w, 1) })
	a := newTestAzure(t, AzureConfig{Endpoint: f.srv.URL, APIKey: testKey})
	if _, err := a.Embed(context.Background(), EmbedRequest{Model: "emb deploy", Input: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	req := f.last()
	if req.Path != "/openai/deployments/emb deploy/embeddings" || req.RawQuery != "api-version=2024-10-21" {
		t.Errorf("url %s?%s", req.Path, req.RawQuery)
	}
	if req.Header.Get("Api-Key") != testKey || req.Header.Get("Authorization") != "" {
		t.Errorf("auth headers %v", req.Header)
	}
	if _, ok := req.Body["model"]; ok {
		t.Errorf("body names a model: %s", req.RawBody)
	}
}

func cosine(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestEchoEmbedder(t *testing.T) {
	got, err := EchoEmbedder{}.Embed(context.Background(), EmbedRequest{Input: []string{
		"My dog is called Rex", "what is my DOG called?", "The invoice is due on Friday", "",
	}})
	if err != nil {
		t.Fatal(err)
	}
	v := got.Vectors
	if len(v) != 4 || len(v[0]) != EchoDimensions {
		t.Fatalf("%d vectors of %d", len(v), len(v[0]))
	}
	for i := range v {
		if n := cosine(v[i], v[i]); n < 0.999 || n > 1.001 {
			t.Errorf("vector %d has length² %f; want 1", i, n)
		}
	}
	if near, far := cosine(v[0], v[1]), cosine(v[0], v[2]); near <= far {
		t.Errorf("cos(dog, dog) = %f <= cos(dog, invoice) = %f", near, far)
	}
	again, _ := EchoEmbedder{}.Embed(context.Background(), EmbedRequest{Input: []string{"My dog is called Rex"}})
	if fmt.Sprint(again.Vectors[0]) != fmt.Sprint(v[0]) {
		t.Error("the same text got another vector")
	}
	if got.Usage.InputTokens != 5+5+6 {
		t.Errorf("usage %+v; want words counted", got.Usage)
	}
}

// A fallback is taken for an unavailable provider, never for a request
// the provider refused (the next one would refuse it too).
func TestEmbedFallbacks(t *testing.T) {
	down := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if strings.Contains(r.URL.Path, "refuse") {
			writeJSON(w, 400, `{"error":{"message":"too long"}}`)
			return
		}
		writeJSON(w, 503, `{"error":{"message":"down"}}`)
	})
	up := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { embedAnswer(w, 1) })
	first, _ := newTestOpenAI(down, func(c *OpenAIConfig) { c.MaxRetries = 0 })
	second, _ := newTestOpenAI(up, nil)
	var moves []string
	fb := &Fallbacks{Choices: []EmbedChoice{{first, "openai/a", "a"}, {second, "azure/b", "b"}},
		OnFallback: func(from, to string, err error) { moves = append(moves, from+">"+to) }}
	got, err := fb.Embed(context.Background(), EmbedRequest{Input: []string{"x"}})
	if err != nil || len(got.Vectors) != 1 {
		t.Fatalf("fallback: %v", err)
	}
	if up.last().Body["model"] != "b" || fmt.Sprint(moves) != "[openai/a>azure/b]" {
		t.Errorf("model %v, moves %v", up.last().Body["model"], moves)
	}
	refuse, _ := newTestOpenAI(down, func(c *OpenAIConfig) { c.BaseURL = down.srv.URL + "/refuse" })
	fb.Choices[0].Embedder = refuse
	if _, err := fb.Embed(context.Background(), EmbedRequest{Input: []string{"x"}}); err == nil || len(up.requests()) != 1 {
		t.Errorf("400: err %v, %d requests to the fallback; want the 400 and none", err, len(up.requests()))
	}
}
