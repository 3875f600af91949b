package mcp

import (
	"context"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/yosida95/uritemplate/v3"
)

// Static resources and prompts a Server offers besides its tools
// ([mcp_servers.<id>] resources, resource_templates, prompts): content
// fixed in the configuration, the same for every caller, so that any
// instance answers any read.

// Resource is a resource read by its URI: Text, or Blob (sent base64), or
// File, read by AddContent (as Text when MIMEType is text/* or JSON, else
// as Blob).
type Resource struct {
	URI, Name, Description, MIMEType string
	Text                             string
	Blob                             []byte
	File                             string
}

// load reads r.File into r.
func (r *Resource) load() error {
	if r.File == "" {
		return nil
	}
	b, err := os.ReadFile(r.File)
	if err != nil {
		return err
	}
	if r.MIMEType == "" {
		r.MIMEType = mime.TypeByExtension(filepath.Ext(r.File))
	}
	mt, _, _ := mime.ParseMediaType(r.MIMEType)
	if strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") {
		r.Text = string(b)
	} else {
		r.Blob = b
	}
	return nil
}

// ResourceTemplate is a family of resources, URITemplate an RFC 6570
// template ("test://items/{id}"); Text is answered with each {name}
// replaced by the value the read URI gives it.
type ResourceTemplate struct {
	URITemplate, Name, Description, MIMEType string
	Text                                     string
}

// Prompt is a prompt template: its messages with each {{argument}}
// replaced by the caller's value.
type Prompt struct {
	Name, Description string
	Arguments         []PromptArgument
	Messages          []PromptMessage
}

// PromptArgument is one argument a Prompt takes.
type PromptArgument struct {
	Name, Description string
	Required          bool
}

// PromptMessage is one message of a Prompt: Text, an image (ImageFile,
// read by AddContent, its type from the file's extension), or an embedded
// Resource (whose URI and Text may hold {{argument}} too).
type PromptMessage struct {
	Role      string // "user" (default) or "assistant"
	Text      string
	ImageFile string
	Resource  *Resource
}

var promptArg = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// AddContent adds static resources, resource templates and prompts to the
// server; call it before serving. A URI, template or prompt name used
// twice, a template that does not parse, or a message naming an argument
// its prompt does not declare is an error.
func (s *Server) AddContent(resources []Resource, templates []ResourceTemplate, prompts []Prompt) error {
	seen := map[string]bool{}
	for i := range resources {
		r := resources[i]
		if r.URI == "" || seen[r.URI] {
			return fmt.Errorf("mcp server %s: resource %q: empty or used twice", s.ID, r.URI)
		}
		seen[r.URI] = true
		if err := r.load(); err != nil {
			return fmt.Errorf("mcp server %s: resource %s: %w", s.ID, r.URI, err)
		}
		if r.Name == "" {
			r.Name = r.URI
		}
		s.resources = append(s.resources, r)
		s.sdk.AddResource(&sdk.Resource{URI: r.URI, Name: r.Name, Description: r.Description, MIMEType: r.MIMEType},
			func(context.Context, *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
				return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: r.URI, MIMEType: r.MIMEType, Text: r.Text, Blob: r.Blob}}}, nil
			})
	}
	for i := range templates {
		t := templates[i]
		tpl, err := uritemplate.New(t.URITemplate)
		if err != nil || seen[t.URITemplate] {
			return fmt.Errorf("mcp server %s: resource template %q: not an RFC 6570 template, or used twice", s.ID, t.URITemplate)
		}
		seen[t.URITemplate] = true
		names := tpl.Varnames()
		if t.Name == "" {
			t.Name = t.URITemplate
		}
		read := func(uri string) (Resource, bool) {
			vals := tpl.Match(uri)
			if vals == nil {
				return Resource{}, false
			}
			text := t.Text
			for _, n := range names {
				text = strings.ReplaceAll(text, "{"+n+"}", vals.Get(n).String())
			}
			return Resource{URI: uri, Name: t.Name, MIMEType: t.MIMEType, Text: text}, true
		}
		s.templates = append(s.templates, read)
		s.sdk.AddResourceTemplate(&sdk.ResourceTemplate{URITemplate: t.URITemplate, Name: t.Name, Description: t.Description, MIMEType: t.MIMEType},
			func(_ context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
				r, ok := read(req.Params.URI)
				if !ok {
					return nil, sdk.ResourceNotFoundError(req.Params.URI)
				}
				return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: r.URI, MIMEType: r.MIMEType, Text: r.Text}}}, nil
			})
	}
	names := map[string]bool{}
	for i := range prompts {
		p := prompts[i]
		if p.Name == "" || names[p.Name] {
			return fmt.Errorf("mcp server %s: prompt %q: empty or used twice", s.ID, p.Name)
		}
		names[p.Name] = true
		declared := map[string]bool{}
		var args []*sdk.PromptArgument
		for _, a := range p.Arguments {
			declared[a.Name] = true
			args = append(args, &sdk.PromptArgument{Name: a.Name, Description: a.Description, Required: a.Required})
		}
		p.Messages = slices.Clone(p.Messages) // Resource is loaded into the copy
		type image struct {
			data []byte
			mime string
		}
		images := map[int]image{}
		for j, m := range p.Messages {
			if m.ImageFile != "" {
				b, err := os.ReadFile(m.ImageFile)
				if err != nil {
					return fmt.Errorf("mcp server %s: prompt %s: %w", s.ID, p.Name, err)
				}
				images[j] = image{b, mime.TypeByExtension(filepath.Ext(m.ImageFile))}
			}
			if m.Resource != nil {
				r := *m.Resource
				if err := r.load(); err != nil {
					return fmt.Errorf("mcp server %s: prompt %s: %w", s.ID, p.Name, err)
				}
				p.Messages[j].Resource = &r
			}
			texts := []string{m.Text}
			if m.Resource != nil {
				texts = append(texts, m.Resource.URI, m.Resource.Text)
			}
			for _, txt := range texts {
				for _, sm := range promptArg.FindAllStringSubmatch(txt, -1) {
					if !declared[sm[1]] {
						return fmt.Errorf("mcp server %s: prompt %s: message %d names {{%s}}, which is not one of its arguments", s.ID, p.Name, j+1, sm[1])
					}
				}
			}
		}
		s.sdk.AddPrompt(&sdk.Prompt{Name: p.Name, Description: p.Description, Arguments: args},
			func(_ context.Context, req *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
				given := req.Params.Arguments
				for _, a := range p.Arguments {
					if _, ok := given[a.Name]; a.Required && !ok {
						return nil, fmt.Errorf("prompt %s: missing required argument %q", p.Name, a.Name)
					}
				}
				fill := func(s string) string {
					return promptArg.ReplaceAllStringFunc(s, func(m string) string { return given[promptArg.FindStringSubmatch(m)[1]] })
				}
				out := &sdk.GetPromptResult{Description: p.Description}
				for j, m := range p.Messages {
					var c sdk.Content
					switch img, isImage := images[j]; {
					case m.Resource != nil:
						r := m.Resource
						c = &sdk.EmbeddedResource{Resource: &sdk.ResourceContents{URI: fill(r.URI), MIMEType: r.MIMEType, Text: fill(r.Text), Blob: r.Blob}}
					case isImage:
						c = &sdk.ImageContent{Data: img.data, MIMEType: img.mime}
					default:
						c = &sdk.TextContent{Text: fill(m.Text)}
					}
					role := m.Role
					if role == "" {
						role = "user"
					}
					out.Messages = append(out.Messages, &sdk.PromptMessage{Role: sdk.Role(role), Content: c})
				}
				return out, nil
			})
	}
	return nil
}

// Resources lists the server's static resources (Mastra's REST listing).
func (s *Server) Resources() []Resource { return s.resources }

// ReadResource reads a static resource, or one of a template, by URI.
func (s *Server) ReadResource(uri string) (Resource, bool) {
	for _, r := range s.resources {
		if r.URI == uri {
			return r, true
		}
	}
	for _, read := range s.templates {
		if r, ok := read(uri); ok {
			return r, true
		}
	}
	return Resource{}, false
}
