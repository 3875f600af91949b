// Command fixture-tool is the Wasm tool behind the MCP conformance suite's
// fixture tools (tests/mcp-conformance/fixture.toml): one module, several
// [[tools]] entries, each naming what it answers in its config:
//
//	fixture = "text"      a text result
//	fixture = "image"     a 1×1 red PNG as MCP image content
//	fixture = "audio"     a short silent WAV as MCP audio content
//	fixture = "resource"  an embedded text resource
//	fixture = "mixed"     text, image and an embedded JSON resource
//	fixture = "error"     fails: 422 with the reason (an isError result)
//	fixture = "echo"      the arguments, as they came
//
// Content other than text is answered as an MCP tool result,
// {"content": [...]}, which mastra-server's MCP endpoint passes through
// (host/mcp: a tool may answer MCP content itself).
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"

	mastra "github.com/mastra-server/mastra-server/sdk/go"
)

var cfg struct {
	Fixture string `json:"fixture"`
}

func init() {
	if err := mastra.DecodeConfig(&cfg); err != nil {
		mastra.Log(mastra.LevelError, "fixture-tool: "+err.Error())
	}
	mastra.HandleRequest(answer)
}

// redPixel is a 1×1 red PNG, base64.
func redPixel() string {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// silence is 10 ms of 8 kHz 8-bit mono silence as a WAV file, base64.
func silence() string {
	const rate, samples = 8000, 80
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + samples))
	b.WriteString("WAVEfmt ")
	le(uint32(16))   // fmt chunk size
	le(uint16(1))    // PCM
	le(uint16(1))    // mono
	le(uint32(rate)) // sample rate
	le(uint32(rate)) // bytes per second
	le(uint16(1))    // block align
	le(uint16(8))    // bits per sample
	b.WriteString("data")
	le(uint32(samples))
	b.Write(bytes.Repeat([]byte{128}, samples)) // 8-bit PCM silence is 128
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

type item = map[string]any

func content(items ...item) map[string]any { return map[string]any{"content": items} }

func answer(req mastra.Request, resp mastra.Response) bool {
	switch cfg.Fixture {
	case "text":
		resp.WriteJSON(200, content(item{"type": "text", "text": "This is a simple text response for testing."}))
	case "image":
		resp.WriteJSON(200, content(item{"type": "image", "data": redPixel(), "mimeType": "image/png"}))
	case "audio":
		resp.WriteJSON(200, content(item{"type": "audio", "data": silence(), "mimeType": "audio/wav"}))
	case "resource":
		resp.WriteJSON(200, content(item{"type": "resource", "resource": item{
			"uri": "test://embedded-resource", "mimeType": "text/plain", "text": "This is an embedded resource content."}}))
	case "mixed":
		resp.WriteJSON(200, content(
			item{"type": "text", "text": "Multiple content types test:"},
			item{"type": "image", "data": redPixel(), "mimeType": "image/png"},
			item{"type": "resource", "resource": item{
				"uri": "test://mixed-content-resource", "mimeType": "application/json", "text": `{"test":"data","value":123}`}}))
	case "error":
		resp.WriteJSON(422, map[string]string{"error": "This tool intentionally returns an error for testing"})
	case "echo":
		resp.SetHeader("Content-Type", "application/json")
		resp.SetStatus(200)
		resp.Write(req.Body())
	default:
		resp.WriteJSON(500, map[string]string{"error": "fixture-tool: unknown fixture " + cfg.Fixture})
	}
	return false
}

func main() {}
