package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"

	"github.com/google/uuid"
	"github.com/julienschmidt/httprouter"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/host/server/transport"
)

// Mastra's vector API (/api/vector/:vectorName/…, client-js Vector) for
// the [vectors.<name>] stores. Vector data is kept per resource: a
// request's vectors are those of the resource it acts for (the scoping
// function, with memory.default_resource_id when auth is off and nothing is
// named), so a tenant never reads, writes or even sees the indexes of
// another; an admin token names the resource it works on with resourceId.

// Embedder is one entry of GET /api/embedders.
type Embedder struct {
	ID             string `json:"id"`
	Provider       string `json:"provider"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	Dimensions     int    `json:"dimensions"`
	MaxInputTokens int    `json:"maxInputTokens"`
}

// MastraEmbedders is the list Mastra's GET /api/embedders answers
// (EMBEDDING_MODELS of @mastra/core 1.71).
var MastraEmbedders = []Embedder{
	{ID: "openai/text-embedding-3-small", Provider: "openai", Name: "text-embedding-3-small",
		Description: "OpenAI text-embedding-3-small", Dimensions: 1536, MaxInputTokens: 8191},
	{ID: "openai/text-embedding-3-large", Provider: "openai", Name: "text-embedding-3-large",
		Description: "OpenAI text-embedding-3-large", Dimensions: 3072, MaxInputTokens: 8191},
	{ID: "openai/text-embedding-ada-002", Provider: "openai", Name: "text-embedding-ada-002",
		Description: "OpenAI text-embedding-ada-002", Dimensions: 1536, MaxInputTokens: 8191},
	{ID: "google/gemini-embedding-001", Provider: "google", Name: "gemini-embedding-001",
		Description: "Google gemini-embedding-001", Dimensions: 768, MaxInputTokens: 2048},
}

// vectorStoreType is the "type" of GET /api/vectors' entries (Mastra
// answers the class name, PgVector or LibSQLVector).
const vectorStoreType = "MastraServerVector"

// maxTopK bounds a query's topK.
const maxTopK = 1000

// vectorSpace is the store named by the path, for the request's resource.
func (s *Server) vectorSpace(r *http.Request) (memory.VectorSpace, error) {
	if err := mergeQueryContext(r); err != nil {
		return memory.VectorSpace{}, err
	}
	name := httprouter.ParamsFromContext(r.Context()).ByName("vectorName")
	if !slices.Contains(s.vectors, name) || s.store == nil {
		return memory.VectorSpace{}, &transport.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("Vector store %s not found", name)}
	}
	res, err := s.resource(r, queryClaim(r), useDefault)
	if err != nil {
		return memory.VectorSpace{}, err
	}
	return memory.VectorSpace{Store: name, Namespace: res}, nil
}

// vectorError maps the store's vector errors: a missing index is 404, a
// vector or filter that does not fit is 400.
func vectorError(err error, field string) error {
	switch {
	case errors.Is(err, memory.ErrNoVectorIndex):
		return &transport.Error{Status: http.StatusNotFound, Message: "Index not found", Err: err}
	case errors.Is(err, memory.ErrInvalidFilter):
		return transport.Invalid("Invalid request body", "filter", trimErr(err, memory.ErrInvalidFilter))
	case errors.Is(err, memory.ErrVectorMismatch):
		return transport.Invalid("Invalid request body", field, trimErr(err, memory.ErrVectorMismatch))
	}
	return err
}

func trimErr(err, prefix error) string {
	msg := err.Error()
	if i := len(prefix.Error()) + 2; len(msg) > i && msg[:i-2] == prefix.Error() {
		return msg[i:]
	}
	return msg
}

type createIndexBody struct {
	IndexName string `json:"indexName"`
	Dimension int    `json:"dimension"`
	Metric    string `json:"metric"`
}

// createVectorIndex: POST /api/vector/:vectorName/create-index
// {indexName, dimension, metric?} → {success: true}.
func (s *Server) createVectorIndex(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.vectorSpace(r)
	if err != nil {
		return err
	}
	var b createIndexBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	if b.Metric == "" {
		b.Metric = memory.MetricCosine
	}
	if err := memory.CheckVectorIndex(b.IndexName, b.Dimension, b.Metric); err != nil {
		field := "indexName"
		switch {
		case b.Dimension < 1 || b.Dimension > 16000:
			field = "dimension"
		case b.Metric != memory.MetricCosine && b.Metric != memory.MetricEuclidean && b.Metric != memory.MetricDotProduct:
			field = "metric"
		}
		return vectorError(err, field)
	}
	if err := s.store.CreateVectorIndex(r.Context(), sp, b.IndexName, b.Dimension, b.Metric); err != nil {
		return vectorError(err, "dimension")
	}
	transport.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

type upsertBody struct {
	IndexName string           `json:"indexName"`
	Vectors   [][]float64      `json:"vectors"`
	Metadata  []map[string]any `json:"metadata"`
	IDs       []string         `json:"ids"`
}

// upsertVectors: POST /api/vector/:vectorName/upsert {indexName, vectors,
// metadata?, ids?} → {ids}; vectors without ids get new ones.
func (s *Server) upsertVectors(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.vectorSpace(r)
	if err != nil {
		return err
	}
	var b upsertBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	switch {
	case b.IndexName == "":
		return transport.Invalid("Invalid request body", "indexName", "indexName is required")
	case len(b.Vectors) == 0:
		return transport.Invalid("Invalid request body", "vectors", "expected a non-empty list of vectors")
	case b.Metadata != nil && len(b.Metadata) != len(b.Vectors):
		return transport.Invalid("Invalid request body", "metadata", fmt.Sprintf("expected one object per vector (%d)", len(b.Vectors)))
	case b.IDs != nil && len(b.IDs) != len(b.Vectors):
		return transport.Invalid("Invalid request body", "ids", fmt.Sprintf("expected one id per vector (%d)", len(b.Vectors)))
	}
	recs := make([]memory.VectorRecord, len(b.Vectors))
	ids := make([]string, len(b.Vectors))
	for i, v := range b.Vectors {
		vec, err := float32s(v)
		if err != nil {
			return transport.Invalid("Invalid request body", fmt.Sprintf("vectors[%d]", i), err.Error())
		}
		id := uuid.NewString()
		if b.IDs != nil {
			id = b.IDs[i]
			if msg := badID(id); msg != "" || id == "" {
				return transport.Invalid("Invalid request body", fmt.Sprintf("ids[%d]", i), "expected a non-empty id of at most 255 characters")
			}
		}
		ids[i] = id
		recs[i] = memory.VectorRecord{ID: id, Vector: vec}
		if b.Metadata != nil {
			recs[i].Metadata = b.Metadata[i]
		}
	}
	if err := s.store.UpsertVectors(r.Context(), sp, b.IndexName, recs); err != nil {
		return vectorError(err, "vectors")
	}
	transport.WriteJSON(w, http.StatusOK, map[string][]string{"ids": ids})
	return nil
}

// float32s converts a JSON vector, refusing values a float32 cannot hold.
func float32s(v []float64) ([]float32, error) {
	out := make([]float32, len(v))
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > math.MaxFloat32 {
			return nil, fmt.Errorf("value %d is not a finite 32-bit number", i)
		}
		out[i] = float32(x)
	}
	return out, nil
}

type queryBody struct {
	IndexName     string         `json:"indexName"`
	QueryVector   []float64      `json:"queryVector"`
	TopK          *int           `json:"topK"`
	Filter        map[string]any `json:"filter"`
	IncludeVector bool           `json:"includeVector"`
	MinScore      *float64       `json:"minScore"`
}

// queryVectors: POST /api/vector/:vectorName/query {indexName,
// queryVector, topK? (10), filter?, includeVector?, minScore?} →
// [{id, score, metadata, vector?}], best first.
func (s *Server) queryVectors(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.vectorSpace(r)
	if err != nil {
		return err
	}
	var b queryBody
	if err := transport.DecodeJSON(w, r, s.cfg.BodyLimit, &b); err != nil {
		return err
	}
	if b.IndexName == "" {
		return transport.Invalid("Invalid request body", "indexName", "indexName is required")
	}
	vec, err := float32s(b.QueryVector)
	if err != nil || len(vec) == 0 {
		msg := "expected a non-empty list of numbers"
		if err != nil {
			msg = err.Error()
		}
		return transport.Invalid("Invalid request body", "queryVector", msg)
	}
	k := 10
	if b.TopK != nil {
		if *b.TopK < 1 || *b.TopK > maxTopK {
			return transport.Invalid("Invalid request body", "topK", fmt.Sprintf("expected 1 to %d", maxTopK))
		}
		k = *b.TopK
	}
	hits, err := s.store.QueryVectors(r.Context(), sp, b.IndexName, memory.VectorQuery{Vector: vec, TopK: k, Filter: b.Filter,
		MinScore: b.MinScore, IncludeVector: b.IncludeVector})
	if err != nil {
		return vectorError(err, "queryVector")
	}
	type hitJSON struct {
		ID       string         `json:"id"`
		Score    float64        `json:"score"`
		Metadata map[string]any `json:"metadata"`
		Vector   []float32      `json:"vector,omitempty"`
	}
	out := make([]hitJSON, len(hits))
	for i, h := range hits {
		out[i] = hitJSON{ID: h.ID, Score: h.Score, Metadata: h.Metadata, Vector: h.Vector}
	}
	transport.WriteJSON(w, http.StatusOK, out)
	return nil
}

// listVectorIndexes: GET /api/vector/:vectorName/indexes → [name, …].
func (s *Server) listVectorIndexes(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.vectorSpace(r)
	if err != nil {
		return err
	}
	names, err := s.store.VectorIndexes(r.Context(), sp)
	if err != nil {
		return err
	}
	if names == nil {
		names = []string{}
	}
	transport.WriteJSON(w, http.StatusOK, names)
	return nil
}

// describeVectorIndex: GET /api/vector/:vectorName/indexes/:indexName →
// {dimension, count, metric}.
func (s *Server) describeVectorIndex(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.vectorSpace(r)
	if err != nil {
		return err
	}
	ix, err := s.store.DescribeVectorIndex(r.Context(), sp, httprouter.ParamsFromContext(r.Context()).ByName("indexName"))
	if err != nil {
		return vectorError(err, "indexName")
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"dimension": ix.Dimension, "count": ix.Count, "metric": ix.Metric})
	return nil
}

// deleteVectorIndex: DELETE /api/vector/:vectorName/indexes/:indexName →
// {success: true}.
func (s *Server) deleteVectorIndex(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.vectorSpace(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteVectorIndex(r.Context(), sp, httprouter.ParamsFromContext(r.Context()).ByName("indexName")); err != nil {
		return vectorError(err, "indexName")
	}
	transport.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// listVectorStores: GET /api/vectors → {vectors: [{id, name, type}]}.
func (s *Server) listVectorStores(w http.ResponseWriter, r *http.Request) error {
	type entry struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
	}
	out := make([]entry, len(s.vectors))
	for i, name := range s.vectors {
		out[i] = entry{ID: name, Name: name, Type: vectorStoreType}
	}
	transport.WriteJSON(w, http.StatusOK, map[string]any{"vectors": out})
	return nil
}

// listEmbedders: GET /api/embedders → {embedders: […]}: Mastra's list,
// then the embedders this server's agents use that it lacks.
func (s *Server) listEmbedders(w http.ResponseWriter, r *http.Request) error {
	transport.WriteJSON(w, http.StatusOK, map[string]any{"embedders": s.embedders})
	return nil
}
