package mcp

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Static resources, templates and prompts as an SDK client reads them.
func TestStaticContent(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "dot.png")
	if err := os.WriteFile(png, []byte("\x89PNG fake"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Info{ID: "t", Name: "t"}, nil, Options{TrustedOrigins: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.AddContent(
		[]Resource{{URI: "docs://readme", MIMEType: "text/markdown", Text: "# Hi"}, {URI: "docs://dot", File: png}},
		[]ResourceTemplate{{URITemplate: "docs://items/{id}", MIMEType: "application/json", Text: `{"id":"{id}"}`}},
		[]Prompt{{Name: "greet", Arguments: []PromptArgument{{Name: "who", Required: true}}, Messages: []PromptMessage{
			{Text: "Hello {{who}}, {{ who }}!"},
			{Role: "assistant", Resource: &Resource{URI: "docs://about/{{who}}", MIMEType: "text/plain", Text: "about {{who}}"}},
			{ImageFile: png},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	ctx := context.Background()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "c", Version: "1"}, nil).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: ts.URL, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	list, err := cs.ListResources(ctx, nil)
	if err != nil || len(list.Resources) != 2 {
		t.Fatalf("resources/list = %+v %v", list, err)
	}
	r, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "docs://readme"})
	if err != nil || r.Contents[0].Text != "# Hi" || r.Contents[0].MIMEType != "text/markdown" {
		t.Fatalf("read docs://readme = %+v %v", r, err)
	}
	r, err = cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "docs://dot"})
	if err != nil || string(r.Contents[0].Blob) != "\x89PNG fake" || r.Contents[0].MIMEType != "image/png" {
		t.Fatalf("read docs://dot = %+v %v; want the file as an image/png blob", r, err)
	}
	r, err = cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "docs://items/42"})
	if err != nil || r.Contents[0].Text != `{"id":"42"}` || r.Contents[0].URI != "docs://items/42" {
		t.Fatalf("read docs://items/42 = %+v %v", r, err)
	}
	if _, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "docs://nothing"}); err == nil {
		t.Fatal("reading an unknown resource succeeded")
	}

	p, err := cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: "greet", Arguments: map[string]string{"who": "Ada"}})
	if err != nil || len(p.Messages) != 3 {
		t.Fatalf("prompts/get = %+v %v", p, err)
	}
	if tc, ok := p.Messages[0].Content.(*sdk.TextContent); !ok || tc.Text != "Hello Ada, Ada!" || p.Messages[0].Role != "user" {
		t.Errorf("message 1 = %s %+v", p.Messages[0].Role, p.Messages[0].Content)
	}
	if er, ok := p.Messages[1].Content.(*sdk.EmbeddedResource); !ok || er.Resource.URI != "docs://about/Ada" || er.Resource.Text != "about Ada" || p.Messages[1].Role != "assistant" {
		t.Errorf("message 2 = %s %+v", p.Messages[1].Role, p.Messages[1].Content)
	}
	if im, ok := p.Messages[2].Content.(*sdk.ImageContent); !ok || im.MIMEType != "image/png" || len(im.Data) == 0 {
		t.Errorf("message 3 = %+v", p.Messages[2].Content)
	}
	if _, err := cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: "greet"}); err == nil || !strings.Contains(err.Error(), `"who"`) {
		t.Errorf("prompts/get without its required argument = %v; want an error naming it", err)
	}

	s2, _ := NewServer(Info{ID: "t2", Name: "t2"}, nil, Options{})
	if err := s2.AddContent(nil, nil, []Prompt{{Name: "p", Messages: []PromptMessage{{Text: "{{nope}}"}}}}); err == nil ||
		!strings.Contains(err.Error(), "{{nope}}") {
		t.Errorf("a message naming an undeclared argument = %v; want an error naming it", err)
	}
}
