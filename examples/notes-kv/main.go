// Command notes-kv is an example route plugin that keeps short notes in the
// host's key-value store (grant kv = true): PUT /notes/:key stores the
// request body, GET /notes/:key answers it, DELETE /notes/:key removes it.
//
// The store is the plugin's, not a tenant's: notes are kept under the
// request's resource (mastra__resourceId, which auth sets from the token),
// so two tenants with the same key see two notes.
//
// The store lives in the server's database, so on a cluster a note written
// through one instance is read back through any other (examples/cluster).
package main

import (
	"errors"

	mastra "github.com/mastra-server/mastra-server/sdk/go"
)

// maxNote keeps a note well under the host's per-value limit.
const maxNote = 16 << 10

func init() { mastra.HandleRequest(notes) }

func notes(req mastra.Request, resp mastra.Response) bool {
	name, _ := mastra.RouteParam("key")
	if name == "" {
		resp.WriteJSON(400, map[string]string{"error": "the path names no note: /notes/:key"})
		return false
	}
	key := resourceOf() + "/" + name
	switch req.Method() {
	case "GET":
		v, err := mastra.KVGet(key)
		if errors.Is(err, mastra.ENOENT) {
			resp.WriteJSON(404, map[string]string{"error": "no note " + name})
			return false
		}
		if err != nil {
			storeFailed(resp, err)
			return false
		}
		resp.SetHeader("Content-Type", "text/plain; charset=utf-8")
		resp.SetStatus(200)
		resp.Write(v)
	case "PUT":
		body := req.Body()
		if len(body) > maxNote {
			resp.WriteJSON(413, map[string]string{"error": "a note holds at most 16 KiB"})
			return false
		}
		if err := mastra.KVSet(key, body, 0); err != nil {
			storeFailed(resp, err)
			return false
		}
		resp.SetStatus(204)
	case "DELETE":
		if err := mastra.KVDelete(key); err != nil && !errors.Is(err, mastra.ENOENT) {
			storeFailed(resp, err)
			return false
		}
		resp.SetStatus(204)
	default:
		resp.SetHeader("Allow", "GET, PUT, DELETE")
		resp.WriteJSON(405, map[string]string{"error": "use GET, PUT or DELETE"})
	}
	return false
}

// resourceOf is the request's scoped resource, or "public" on a server
// without auth.
func resourceOf() string {
	if r, err := mastra.ContextGetString("mastra__resourceId"); err == nil && r != "" {
		return r
	}
	return "public"
}

func storeFailed(resp mastra.Response, err error) {
	mastra.Log(mastra.LevelWarn, "notes-kv: "+err.Error())
	resp.WriteJSON(503, map[string]string{"error": "the note store failed", "code": errnoName(err)})
}

func errnoName(err error) string {
	var errno mastra.Errno
	if errors.As(err, &errno) {
		return errno.Name()
	}
	return "EIO"
}

func main() {}
