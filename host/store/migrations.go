package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// Migrations are ordered and append-only: add new ones at the end of the
// list and never edit one that has shipped. Each runs in one transaction.
// Every statement tolerates tables that a Mastra server already created
// (IF NOT EXISTS), so an existing Mastra database is used as it is.
var schemaMigrations = []struct {
	name, comment string
	postgres      []string
	sqlite        []string
}{
	{
		name:    "20261122000001",
		comment: "mastra_memory_tables",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_threads (
				id text NOT NULL PRIMARY KEY,
				"resourceId" text NOT NULL,
				title text NOT NULL,
				metadata jsonb,
				"createdAt" timestamp without time zone NOT NULL,
				"updatedAt" timestamp without time zone NOT NULL,
				"createdAtZ" timestamp with time zone DEFAULT now(),
				"updatedAtZ" timestamp with time zone DEFAULT now())`,
			`CREATE INDEX IF NOT EXISTS mastra_threads_resourceid_createdat_idx ON mastra_threads ("resourceId", "createdAt" DESC)`,
			`CREATE TABLE IF NOT EXISTS mastra_messages (
				id text NOT NULL PRIMARY KEY,
				thread_id text NOT NULL,
				content text NOT NULL,
				role text NOT NULL,
				type text NOT NULL,
				"createdAt" timestamp without time zone NOT NULL,
				"resourceId" text,
				"createdAtZ" timestamp with time zone DEFAULT now())`,
			`CREATE INDEX IF NOT EXISTS mastra_messages_thread_id_createdat_idx ON mastra_messages (thread_id, "createdAt" DESC)`,
			`CREATE TABLE IF NOT EXISTS mastra_resources (
				id text NOT NULL PRIMARY KEY,
				"workingMemory" text,
				metadata jsonb,
				"createdAt" timestamp without time zone NOT NULL,
				"updatedAt" timestamp without time zone NOT NULL,
				"createdAtZ" timestamp with time zone DEFAULT now(),
				"updatedAtZ" timestamp with time zone DEFAULT now())`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_threads (
				id TEXT NOT NULL PRIMARY KEY,
				"resourceId" TEXT NOT NULL,
				title TEXT NOT NULL,
				metadata TEXT,
				"createdAt" TIMESTAMP NOT NULL,
				"updatedAt" TIMESTAMP NOT NULL,
				"createdAtZ" TIMESTAMP,
				"updatedAtZ" TIMESTAMP)`,
			`CREATE INDEX IF NOT EXISTS mastra_threads_resourceid_createdat_idx ON mastra_threads ("resourceId", "createdAt" DESC)`,
			`CREATE TABLE IF NOT EXISTS mastra_messages (
				id TEXT NOT NULL PRIMARY KEY,
				thread_id TEXT NOT NULL,
				content TEXT NOT NULL,
				role TEXT NOT NULL,
				type TEXT NOT NULL,
				"createdAt" TIMESTAMP NOT NULL,
				"resourceId" TEXT,
				"createdAtZ" TIMESTAMP)`,
			`CREATE INDEX IF NOT EXISTS mastra_messages_thread_id_createdat_idx ON mastra_messages (thread_id, "createdAt" DESC)`,
			`CREATE TABLE IF NOT EXISTS mastra_resources (
				id TEXT NOT NULL PRIMARY KEY,
				"workingMemory" TEXT,
				metadata TEXT,
				"createdAt" TIMESTAMP NOT NULL,
				"updatedAt" TIMESTAMP NOT NULL,
				"createdAtZ" TIMESTAMP,
				"updatedAtZ" TIMESTAMP)`,
		},
	},
	{
		name:    "20261122000002",
		comment: "plugin_kv",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_plugin_kv (
				namespace text NOT NULL,
				key text NOT NULL,
				value bytea NOT NULL,
				expires_at timestamp with time zone,
				PRIMARY KEY (namespace, key))`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_plugin_kv (
				namespace TEXT NOT NULL,
				key TEXT NOT NULL,
				value BLOB NOT NULL,
				expires_at TIMESTAMP,
				PRIMARY KEY (namespace, key))`,
		},
	},
	{
		// Workflows: Mastra's snapshot table as @mastra/pg creates it, and
		// mastra-server's own side tables (cursor and version, step leases,
		// the chunk log; on SQLite also the in-process job queue).
		name:    "20261129000001",
		comment: "workflows",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_workflow_snapshot (
				workflow_name text NOT NULL,
				run_id text NOT NULL,
				"resourceId" text,
				snapshot jsonb NOT NULL,
				"createdAt" timestamp without time zone NOT NULL,
				"updatedAt" timestamp without time zone NOT NULL,
				"createdAtZ" timestamp with time zone DEFAULT now(),
				"updatedAtZ" timestamp with time zone DEFAULT now())`,
			`CREATE UNIQUE INDEX IF NOT EXISTS mastra_workflow_snapshot_workflow_name_run_id_key ON mastra_workflow_snapshot (workflow_name, run_id)`,
			`CREATE INDEX IF NOT EXISTS mastra_workflow_snapshot_workflow_name_createdat_idx ON mastra_workflow_snapshot (workflow_name, "createdAt" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_workflow_snapshot_status_createdat_idx ON mastra_workflow_snapshot (workflow_name, (snapshot->>'status'), "createdAt" DESC)`,
			`CREATE TABLE IF NOT EXISTS mastra_server_workflow_runs (
				workflow_name text NOT NULL,
				run_id text NOT NULL,
				version bigint NOT NULL DEFAULT 0,
				cursor jsonb NOT NULL,
				next_seq bigint NOT NULL DEFAULT 0,
				PRIMARY KEY (workflow_name, run_id))`,
			`CREATE TABLE IF NOT EXISTS mastra_server_workflow_leases (
				workflow_name text NOT NULL,
				run_id text NOT NULL,
				token text NOT NULL,
				lease_owner text NOT NULL,
				lease_expires_at bigint NOT NULL,
				attempt integer NOT NULL DEFAULT 1,
				PRIMARY KEY (workflow_name, run_id, token))`,
			`CREATE TABLE IF NOT EXISTS mastra_server_workflow_chunks (
				workflow_name text NOT NULL,
				run_id text NOT NULL,
				seq bigint NOT NULL,
				chunk jsonb NOT NULL,
				created_at bigint NOT NULL,
				PRIMARY KEY (workflow_name, run_id, seq))`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_workflow_snapshot (
				workflow_name TEXT NOT NULL,
				run_id TEXT NOT NULL,
				"resourceId" TEXT,
				snapshot TEXT NOT NULL,
				"createdAt" TIMESTAMP NOT NULL,
				"updatedAt" TIMESTAMP NOT NULL,
				"createdAtZ" TIMESTAMP,
				"updatedAtZ" TIMESTAMP)`,
			`CREATE UNIQUE INDEX IF NOT EXISTS mastra_workflow_snapshot_workflow_name_run_id_key ON mastra_workflow_snapshot (workflow_name, run_id)`,
			`CREATE INDEX IF NOT EXISTS mastra_workflow_snapshot_workflow_name_createdat_idx ON mastra_workflow_snapshot (workflow_name, "createdAt" DESC)`,
			`CREATE TABLE IF NOT EXISTS mastra_server_workflow_runs (
				workflow_name TEXT NOT NULL,
				run_id TEXT NOT NULL,
				version INTEGER NOT NULL DEFAULT 0,
				cursor TEXT NOT NULL,
				next_seq INTEGER NOT NULL DEFAULT 0,
				PRIMARY KEY (workflow_name, run_id))`,
			`CREATE TABLE IF NOT EXISTS mastra_server_workflow_leases (
				workflow_name TEXT NOT NULL,
				run_id TEXT NOT NULL,
				token TEXT NOT NULL,
				lease_owner TEXT NOT NULL,
				lease_expires_at INTEGER NOT NULL,
				attempt INTEGER NOT NULL DEFAULT 1,
				PRIMARY KEY (workflow_name, run_id, token))`,
			`CREATE TABLE IF NOT EXISTS mastra_server_workflow_chunks (
				workflow_name TEXT NOT NULL,
				run_id TEXT NOT NULL,
				seq INTEGER NOT NULL,
				chunk TEXT NOT NULL,
				created_at INTEGER NOT NULL,
				PRIMARY KEY (workflow_name, run_id, seq))`,
			`CREATE TABLE IF NOT EXISTS mastra_server_workflow_jobs (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				run_id TEXT NOT NULL,
				args TEXT NOT NULL,
				run_at INTEGER NOT NULL,
				state TEXT NOT NULL,
				attempt INTEGER NOT NULL DEFAULT 0)`,
			`CREATE INDEX IF NOT EXISTS mastra_server_workflow_jobs_state_run_at_idx ON mastra_server_workflow_jobs (state, run_at)`,
		},
	},
	{
		// Resumable streams: one row per logged run (its owner, lease and
		// state) and its chunks by sequence number (host/runlog).
		name:    "20261206000001",
		comment: "stream_runs",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_stream_runs (
				run_id text NOT NULL PRIMARY KEY,
				resource_id text NOT NULL,
				agent_id text NOT NULL,
				thread_id text NOT NULL,
				owner text NOT NULL,
				status text NOT NULL,
				last_seq bigint NOT NULL DEFAULT 0,
				lease_until bigint NOT NULL,
				created_at bigint NOT NULL,
				updated_at bigint NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS mastra_server_stream_runs_thread_idx ON mastra_server_stream_runs (thread_id, created_at DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_server_stream_runs_updated_idx ON mastra_server_stream_runs (updated_at)`,
			`CREATE TABLE IF NOT EXISTS mastra_server_stream_chunks (
				run_id text NOT NULL,
				seq bigint NOT NULL,
				chunk text NOT NULL,
				PRIMARY KEY (run_id, seq))`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_stream_runs (
				run_id TEXT NOT NULL PRIMARY KEY,
				resource_id TEXT NOT NULL,
				agent_id TEXT NOT NULL,
				thread_id TEXT NOT NULL,
				owner TEXT NOT NULL,
				status TEXT NOT NULL,
				last_seq INTEGER NOT NULL DEFAULT 0,
				lease_until INTEGER NOT NULL,
				created_at INTEGER NOT NULL,
				updated_at INTEGER NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS mastra_server_stream_runs_thread_idx ON mastra_server_stream_runs (thread_id, created_at DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_server_stream_runs_updated_idx ON mastra_server_stream_runs (updated_at)`,
			`CREATE TABLE IF NOT EXISTS mastra_server_stream_chunks (
				run_id TEXT NOT NULL,
				seq INTEGER NOT NULL,
				chunk TEXT NOT NULL,
				PRIMARY KEY (run_id, seq))`,
		},
	},
	{
		// [server.limits] across instances (host/limits): fixed-window
		// counters and the leases of running streams.
		name:    "20261208000014",
		comment: "mastra_server_limits",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_limit_counters (
				key text NOT NULL,
				window_start bigint NOT NULL,
				n bigint NOT NULL,
				PRIMARY KEY (key, window_start))`,
			`CREATE TABLE IF NOT EXISTS mastra_server_limit_leases (
				key text NOT NULL,
				id text NOT NULL,
				expires_at bigint NOT NULL,
				PRIMARY KEY (key, id))`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_limit_counters (
				key TEXT NOT NULL,
				window_start INTEGER NOT NULL,
				n INTEGER NOT NULL,
				PRIMARY KEY (key, window_start))`,
			`CREATE TABLE IF NOT EXISTS mastra_server_limit_leases (
				key TEXT NOT NULL,
				id TEXT NOT NULL,
				expires_at INTEGER NOT NULL,
				PRIMARY KEY (key, id))`,
		},
	},
	{
		// Who started a workflow run, for the budgets its steps spend on
		// any instance (host/limits: a subject's key and its token's user,
		// never a secret); NULL: nobody (limits off, or an older run).
		name:     "20261209000102",
		comment:  "workflow_run_limits_principal",
		postgres: []string{`ALTER TABLE mastra_server_workflow_runs ADD COLUMN IF NOT EXISTS limits_principal text`},
		sqlite:   []string{`ALTER TABLE mastra_server_workflow_runs ADD COLUMN limits_principal TEXT`},
	},
	{
		// A foreach step's elements, kept once when the step starts, and
		// each one's output (and nested run) as it is done (host/workflow):
		// an element's job writes its own row, not the run's whole state.
		// On SQLite the job queue gains a priority, so that a run's first
		// steps go before another run's remaining elements.
		name:    "20261209000103",
		comment: "workflow_foreach",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_workflow_foreach (
				workflow_name text NOT NULL,
				run_id text NOT NULL,
				step_id text NOT NULL,
				idx integer NOT NULL,
				item text NOT NULL,
				output text,
				child_run_id text,
				PRIMARY KEY (workflow_name, run_id, step_id, idx))`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_workflow_foreach (
				workflow_name TEXT NOT NULL,
				run_id TEXT NOT NULL,
				step_id TEXT NOT NULL,
				idx INTEGER NOT NULL,
				item TEXT NOT NULL,
				output TEXT,
				child_run_id TEXT,
				PRIMARY KEY (workflow_name, run_id, step_id, idx))`,
			`ALTER TABLE mastra_server_workflow_jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 1`,
			`CREATE INDEX IF NOT EXISTS mastra_server_workflow_jobs_state_priority_idx ON mastra_server_workflow_jobs (state, priority, run_at, id)`,
		},
	},
	{
		// Plugin KV quota (finding N8): each entry records the resource that
		// wrote it and its size (key and value bytes), so one resource's
		// usage in a namespace is one sum over an index that holds every
		// column it reads (no table lookups). Entries written before
		// belong to no resource ('') until rewritten.
		name:    "20261209000104",
		comment: "plugin_kv_quota",
		postgres: []string{
			`ALTER TABLE mastra_server_plugin_kv ADD COLUMN IF NOT EXISTS resource_id text NOT NULL DEFAULT ''`,
			`ALTER TABLE mastra_server_plugin_kv ADD COLUMN IF NOT EXISTS size bigint NOT NULL DEFAULT 0`,
			`UPDATE mastra_server_plugin_kv SET size = octet_length(key) + octet_length(value)`,
			`CREATE INDEX IF NOT EXISTS mastra_server_plugin_kv_resource_idx ON mastra_server_plugin_kv (namespace, resource_id, key, size)`,
		},
		sqlite: []string{
			`ALTER TABLE mastra_server_plugin_kv ADD COLUMN resource_id TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE mastra_server_plugin_kv ADD COLUMN size INTEGER NOT NULL DEFAULT 0`,
			`UPDATE mastra_server_plugin_kv SET size = length(CAST(key AS BLOB)) + length(value)`,
			`CREATE INDEX IF NOT EXISTS mastra_server_plugin_kv_resource_idx ON mastra_server_plugin_kv (namespace, resource_id, key, size)`,
		},
	},
	{
		// Server secrets every instance on the database shares (the key
		// that derives idempotent turns' message ids), made on first use.
		name:    "20261209000106",
		comment: "mastra_server_secrets",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_secrets (
				name text NOT NULL PRIMARY KEY,
				value bytea NOT NULL)`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_secrets (
				name TEXT NOT NULL PRIMARY KEY,
				value BLOB NOT NULL)`,
		},
	},
	{
		// Each instance's liveness lease (host/workflow): once it expires,
		// any instance re-queues the dead one's running step jobs and may
		// take over its step leases, instead of waiting for River's rescue.
		name:    "20261209000107",
		comment: "workflow_instance_leases",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_workflow_instances (
				instance_id text NOT NULL PRIMARY KEY,
				lease_expires_at bigint NOT NULL)`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_workflow_instances (
				instance_id TEXT NOT NULL PRIMARY KEY,
				lease_expires_at INTEGER NOT NULL)`,
		},
	},
	{
		// Vectors without pgvector (semantic recall and the [vectors.*]
		// stores): one table for every index, the vector as float4[]
		// (BLOB of little-endian float32 on SQLite) with its length², and
		// metadata.resource_id / thread_id copied into columns so that the
		// tenant filter of every query is an indexed equality.
		name:    "20261210000301",
		comment: "vectors",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_vector_indexes (
				store text NOT NULL,
				namespace text NOT NULL,
				name text NOT NULL,
				dimension integer NOT NULL,
				metric text NOT NULL,
				PRIMARY KEY (store, namespace, name))`,
			`CREATE TABLE IF NOT EXISTS mastra_server_vectors (
				store text NOT NULL,
				namespace text NOT NULL,
				index_name text NOT NULL,
				vector_id text NOT NULL,
				resource_id text NOT NULL DEFAULT '',
				thread_id text NOT NULL DEFAULT '',
				embedding real[] NOT NULL,
				norm double precision NOT NULL,
				metadata jsonb NOT NULL DEFAULT '{}',
				PRIMARY KEY (store, namespace, index_name, vector_id))`,
			`CREATE INDEX IF NOT EXISTS mastra_server_vectors_resource_idx
				ON mastra_server_vectors (store, namespace, index_name, resource_id)`,
			`CREATE INDEX IF NOT EXISTS mastra_server_vectors_thread_idx
				ON mastra_server_vectors (store, namespace, index_name, thread_id)`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_server_vector_indexes (
				store TEXT NOT NULL,
				namespace TEXT NOT NULL,
				name TEXT NOT NULL,
				dimension INTEGER NOT NULL,
				metric TEXT NOT NULL,
				PRIMARY KEY (store, namespace, name))`,
			`CREATE TABLE IF NOT EXISTS mastra_server_vectors (
				store TEXT NOT NULL,
				namespace TEXT NOT NULL,
				index_name TEXT NOT NULL,
				vector_id TEXT NOT NULL,
				resource_id TEXT NOT NULL DEFAULT '',
				thread_id TEXT NOT NULL DEFAULT '',
				embedding BLOB NOT NULL,
				norm REAL NOT NULL,
				metadata TEXT NOT NULL DEFAULT '{}',
				PRIMARY KEY (store, namespace, index_name, vector_id))`,
			`CREATE INDEX IF NOT EXISTS mastra_server_vectors_resource_idx
				ON mastra_server_vectors (store, namespace, index_name, resource_id)`,
			`CREATE INDEX IF NOT EXISTS mastra_server_vectors_thread_idx
				ON mastra_server_vectors (store, namespace, index_name, thread_id)`,
		},
	},
	{
		// A 1536-dimension vector (6 KiB) fits in a page: kept inline, a
		// query reads it with its row instead of three TOAST chunks through
		// the TOAST index (the main cost of a scan). Longer ones still go
		// out of line, as a last resort. SQLite has no such setting.
		name:     "20261210000302",
		comment:  "vectors_inline",
		postgres: []string{`ALTER TABLE mastra_server_vectors ALTER COLUMN embedding SET STORAGE MAIN`},
	},
	{
		// A write sequence on every vector row, so that an instance keeping
		// a resource's vectors in memory (vectorcache.go) reads only the
		// rows written since, and knows from count and max(seq) whether
		// what it holds is current. SQLite numbers rows in the process.
		name:    "20261210000303",
		comment: "vectors_seq",
		postgres: []string{
			`CREATE SEQUENCE IF NOT EXISTS mastra_server_vectors_seq`,
			`ALTER TABLE mastra_server_vectors ADD COLUMN IF NOT EXISTS seq bigint NOT NULL DEFAULT nextval('mastra_server_vectors_seq')`,
			`CREATE INDEX IF NOT EXISTS mastra_server_vectors_resource_seq_idx
				ON mastra_server_vectors (store, namespace, index_name, resource_id, seq)`,
			`CREATE INDEX IF NOT EXISTS mastra_server_vectors_thread_seq_idx
				ON mastra_server_vectors (store, namespace, index_name, thread_id, seq)`,
			`DROP INDEX IF EXISTS mastra_server_vectors_resource_idx`,
			`DROP INDEX IF EXISTS mastra_server_vectors_thread_idx`,
		},
		sqlite: []string{
			`ALTER TABLE mastra_server_vectors ADD COLUMN seq INTEGER NOT NULL DEFAULT 0`,
			`CREATE INDEX IF NOT EXISTS mastra_server_vectors_resource_seq_idx
				ON mastra_server_vectors (store, namespace, index_name, resource_id, seq)`,
			`CREATE INDEX IF NOT EXISTS mastra_server_vectors_thread_seq_idx
				ON mastra_server_vectors (store, namespace, index_name, thread_id, seq)`,
			`DROP INDEX IF EXISTS mastra_server_vectors_resource_idx`,
			`DROP INDEX IF EXISTS mastra_server_vectors_thread_idx`,
		},
	},
	{
		// Stored traces (host/observe): Mastra's mastra_ai_spans, the span
		// table both of Mastra's default stores (@mastra/pg, @mastra/libsql)
		// keep, so a Mastra deployment sharing the database reads the
		// spans this server writes and the other way round. Spans are
		// written once, when they end (Mastra's insert-only strategy).
		// Every span of a turn carries the turn's resourceId: a tenant's
		// reads filter on it.
		name:    "20261210000401",
		comment: "mastra_ai_spans",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_ai_spans (
				"traceId" text NOT NULL,
				"spanId" text NOT NULL,
				name text NOT NULL,
				"spanType" text NOT NULL,
				"isEvent" boolean NOT NULL,
				"startedAt" timestamp without time zone NOT NULL,
				"parentSpanId" text,
				"entityType" text,
				"entityId" text,
				"entityName" text,
				"parentEntityType" text,
				"parentEntityId" text,
				"parentEntityName" text,
				"rootEntityType" text,
				"rootEntityId" text,
				"rootEntityName" text,
				"userId" text,
				"organizationId" text,
				"resourceId" text,
				"runId" text,
				"sessionId" text,
				"threadId" text,
				"requestId" text,
				"environment" text,
				"serviceName" text,
				"entityVersionId" text,
				"parentEntityVersionId" text,
				"rootEntityVersionId" text,
				"experimentId" text,
				"source" text,
				"scope" jsonb,
				"metadata" jsonb,
				"tags" jsonb,
				"attributes" jsonb,
				"links" jsonb,
				"input" jsonb,
				"output" jsonb,
				"error" jsonb,
				"requestContext" jsonb,
				"endedAt" timestamp without time zone,
				"createdAt" timestamp without time zone NOT NULL,
				"updatedAt" timestamp without time zone,
				"startedAtZ" timestamp with time zone DEFAULT now(),
				"endedAtZ" timestamp with time zone DEFAULT now(),
				"createdAtZ" timestamp with time zone DEFAULT now(),
				"updatedAtZ" timestamp with time zone DEFAULT now(),
				CONSTRAINT mastra_ai_spans_traceid_spanid_pk PRIMARY KEY ("traceId", "spanId"))`,
			`CREATE INDEX IF NOT EXISTS mastra_ai_spans_traceid_startedat_idx ON mastra_ai_spans ("traceId", "startedAt" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_ai_spans_root_spans_idx ON mastra_ai_spans ("startedAt" DESC) WHERE "parentSpanId" IS NULL`,
			`CREATE INDEX IF NOT EXISTS mastra_ai_spans_resourceid_startedat_idx ON mastra_ai_spans ("resourceId", "startedAt" DESC) WHERE "parentSpanId" IS NULL`,
			`CREATE INDEX IF NOT EXISTS mastra_ai_spans_entitytype_entityid_idx ON mastra_ai_spans ("entityType", "entityId")`,
			`CREATE INDEX IF NOT EXISTS mastra_ai_spans_startedat_idx ON mastra_ai_spans ("startedAt")`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_ai_spans (
				"traceId" TEXT NOT NULL,
				"spanId" TEXT NOT NULL,
				name TEXT NOT NULL,
				"spanType" TEXT NOT NULL,
				"isEvent" INTEGER NOT NULL,
				"startedAt" TEXT NOT NULL,
				"parentSpanId" TEXT,
				"entityType" TEXT,
				"entityId" TEXT,
				"entityName" TEXT,
				"parentEntityType" TEXT,
				"parentEntityId" TEXT,
				"parentEntityName" TEXT,
				"rootEntityType" TEXT,
				"rootEntityId" TEXT,
				"rootEntityName" TEXT,
				"userId" TEXT,
				"organizationId" TEXT,
				"resourceId" TEXT,
				"runId" TEXT,
				"sessionId" TEXT,
				"threadId" TEXT,
				"requestId" TEXT,
				"environment" TEXT,
				"serviceName" TEXT,
				"entityVersionId" TEXT,
				"parentEntityVersionId" TEXT,
				"rootEntityVersionId" TEXT,
				"experimentId" TEXT,
				"source" TEXT,
				"scope" TEXT,
				"metadata" TEXT,
				"tags" TEXT,
				"attributes" TEXT,
				"links" TEXT,
				"input" TEXT,
				"output" TEXT,
				"error" TEXT,
				"requestContext" TEXT,
				"endedAt" TEXT,
				"createdAt" TEXT NOT NULL,
				"updatedAt" TEXT,
				UNIQUE ("spanId", "traceId"))`,
			`CREATE INDEX IF NOT EXISTS mastra_ai_spans_trace_started_at_idx ON mastra_ai_spans ("traceId", "startedAt")`,
			`CREATE INDEX IF NOT EXISTS mastra_ai_spans_roots_started_at_idx ON mastra_ai_spans ("startedAt" DESC) WHERE "parentSpanId" IS NULL`,
			`CREATE INDEX IF NOT EXISTS mastra_ai_spans_resourceid_startedat_idx ON mastra_ai_spans ("resourceId", "startedAt" DESC) WHERE "parentSpanId" IS NULL`,
			`CREATE INDEX IF NOT EXISTS mastra_ai_spans_entitytype_entityid_idx ON mastra_ai_spans ("entityType", "entityId")`,
			`CREATE INDEX IF NOT EXISTS mastra_ai_spans_startedat_idx ON mastra_ai_spans ("startedAt")`,
		},
	},
	{
		// Scores and feedback (Mastra's observability routes), in the
		// shapes of Mastra's newer event tables, with JSON tags (Mastra's
		// Postgres-only store has text[]) so one schema serves both
		// databases. A row's resourceId is its tenant's.
		name:    "20261210000402",
		comment: "mastra_score_and_feedback_events",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_score_events (
				"scoreId" text NOT NULL,
				"timestamp" timestamp with time zone NOT NULL,
				"scorerId" text NOT NULL,
				"scorerName" text,
				"scorerVersion" text,
				"scoreSource" text,
				score double precision NOT NULL,
				reason text,
				"scoreTraceId" text,
				"traceId" text,
				"spanId" text,
				"entityType" text,
				"entityId" text,
				"entityName" text,
				"parentEntityType" text,
				"parentEntityId" text,
				"parentEntityName" text,
				"rootEntityType" text,
				"rootEntityId" text,
				"rootEntityName" text,
				"userId" text,
				"organizationId" text,
				"resourceId" text,
				"runId" text,
				"sessionId" text,
				"threadId" text,
				"requestId" text,
				"environment" text,
				"executionSource" text,
				"serviceName" text,
				"experimentId" text,
				"entityVersionId" text,
				"parentEntityVersionId" text,
				"rootEntityVersionId" text,
				"source" text,
				tags jsonb,
				metadata jsonb,
				scope jsonb,
				PRIMARY KEY ("scoreId", "timestamp"))`,
			`CREATE TABLE IF NOT EXISTS mastra_feedback_events (
				"feedbackId" text NOT NULL,
				"timestamp" timestamp with time zone NOT NULL,
				"feedbackSource" text,
				"feedbackType" text NOT NULL,
				"valueString" text,
				"valueNumber" double precision,
				comment text,
				"feedbackUserId" text,
				"sourceId" text,
				"reviewStatus" text NOT NULL DEFAULT 'needs-review',
				"traceId" text,
				"spanId" text,
				"entityType" text,
				"entityId" text,
				"entityName" text,
				"parentEntityType" text,
				"parentEntityId" text,
				"parentEntityName" text,
				"rootEntityType" text,
				"rootEntityId" text,
				"rootEntityName" text,
				"userId" text,
				"organizationId" text,
				"resourceId" text,
				"runId" text,
				"sessionId" text,
				"threadId" text,
				"requestId" text,
				"environment" text,
				"executionSource" text,
				"serviceName" text,
				"experimentId" text,
				"entityVersionId" text,
				"parentEntityVersionId" text,
				"rootEntityVersionId" text,
				"source" text,
				tags jsonb,
				metadata jsonb,
				scope jsonb,
				PRIMARY KEY ("feedbackId", "timestamp"))`,
			`CREATE INDEX IF NOT EXISTS mastra_score_events_resourceid_timestamp_idx ON mastra_score_events ("resourceId", "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_score_events_traceid_timestamp_idx ON mastra_score_events ("traceId", "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_score_events_scorerid_timestamp_idx ON mastra_score_events ("scorerId", "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_feedback_events_resourceid_timestamp_idx ON mastra_feedback_events ("resourceId", "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_feedback_events_traceid_timestamp_idx ON mastra_feedback_events ("traceId", "timestamp" DESC)`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_score_events (
				"scoreId" TEXT NOT NULL,
				"timestamp" TEXT NOT NULL,
				"scorerId" TEXT NOT NULL,
				"scorerName" TEXT,
				"scorerVersion" TEXT,
				"scoreSource" TEXT,
				score REAL NOT NULL,
				reason TEXT,
				"scoreTraceId" TEXT,
				"traceId" TEXT,
				"spanId" TEXT,
				"entityType" TEXT,
				"entityId" TEXT,
				"entityName" TEXT,
				"parentEntityType" TEXT,
				"parentEntityId" TEXT,
				"parentEntityName" TEXT,
				"rootEntityType" TEXT,
				"rootEntityId" TEXT,
				"rootEntityName" TEXT,
				"userId" TEXT,
				"organizationId" TEXT,
				"resourceId" TEXT,
				"runId" TEXT,
				"sessionId" TEXT,
				"threadId" TEXT,
				"requestId" TEXT,
				"environment" TEXT,
				"executionSource" TEXT,
				"serviceName" TEXT,
				"experimentId" TEXT,
				"entityVersionId" TEXT,
				"parentEntityVersionId" TEXT,
				"rootEntityVersionId" TEXT,
				"source" TEXT,
				tags TEXT,
				metadata TEXT,
				scope TEXT,
				PRIMARY KEY ("scoreId", "timestamp"))`,
			`CREATE TABLE IF NOT EXISTS mastra_feedback_events (
				"feedbackId" TEXT NOT NULL,
				"timestamp" TEXT NOT NULL,
				"feedbackSource" TEXT,
				"feedbackType" TEXT NOT NULL,
				"valueString" TEXT,
				"valueNumber" REAL,
				comment TEXT,
				"feedbackUserId" TEXT,
				"sourceId" TEXT,
				"reviewStatus" TEXT NOT NULL DEFAULT 'needs-review',
				"traceId" TEXT,
				"spanId" TEXT,
				"entityType" TEXT,
				"entityId" TEXT,
				"entityName" TEXT,
				"parentEntityType" TEXT,
				"parentEntityId" TEXT,
				"parentEntityName" TEXT,
				"rootEntityType" TEXT,
				"rootEntityId" TEXT,
				"rootEntityName" TEXT,
				"userId" TEXT,
				"organizationId" TEXT,
				"resourceId" TEXT,
				"runId" TEXT,
				"sessionId" TEXT,
				"threadId" TEXT,
				"requestId" TEXT,
				"environment" TEXT,
				"executionSource" TEXT,
				"serviceName" TEXT,
				"experimentId" TEXT,
				"entityVersionId" TEXT,
				"parentEntityVersionId" TEXT,
				"rootEntityVersionId" TEXT,
				"source" TEXT,
				tags TEXT,
				metadata TEXT,
				scope TEXT,
				PRIMARY KEY ("feedbackId", "timestamp"))`,
			`CREATE INDEX IF NOT EXISTS mastra_score_events_resourceid_timestamp_idx ON mastra_score_events ("resourceId", "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_score_events_traceid_timestamp_idx ON mastra_score_events ("traceId", "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_score_events_scorerid_timestamp_idx ON mastra_score_events ("scorerId", "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_feedback_events_resourceid_timestamp_idx ON mastra_feedback_events ("resourceId", "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_feedback_events_traceid_timestamp_idx ON mastra_feedback_events ("traceId", "timestamp" DESC)`,
		},
	},
	{
		// Metric events derived from stored spans (host/observe): durations
		// of agent runs, model and tool calls and workflow runs, and token
		// counts, under Mastra's metric names; the metrics routes aggregate
		// them. Each row carries its span's resourceId.
		name:    "20261210000403",
		comment: "mastra_metric_events",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_metric_events (
				"metricId" text NOT NULL,
				"timestamp" timestamp with time zone NOT NULL,
				name text NOT NULL,
				value double precision NOT NULL,
				"traceId" text,
				"spanId" text,
				"entityType" text,
				"entityId" text,
				"entityName" text,
				"userId" text,
				"organizationId" text,
				"resourceId" text,
				"runId" text,
				"sessionId" text,
				"threadId" text,
				"requestId" text,
				"environment" text,
				"executionSource" text,
				"serviceName" text,
				"experimentId" text,
				"source" text,
				"provider" text,
				"model" text,
				labels jsonb,
				PRIMARY KEY ("metricId", "timestamp"))`,
			`CREATE INDEX IF NOT EXISTS mastra_metric_events_name_timestamp_idx ON mastra_metric_events (name, "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_metric_events_resourceid_name_timestamp_idx ON mastra_metric_events ("resourceId", name, "timestamp" DESC)`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_metric_events (
				"metricId" TEXT NOT NULL,
				"timestamp" TEXT NOT NULL,
				name TEXT NOT NULL,
				value REAL NOT NULL,
				"traceId" TEXT,
				"spanId" TEXT,
				"entityType" TEXT,
				"entityId" TEXT,
				"entityName" TEXT,
				"userId" TEXT,
				"organizationId" TEXT,
				"resourceId" TEXT,
				"runId" TEXT,
				"sessionId" TEXT,
				"threadId" TEXT,
				"requestId" TEXT,
				"environment" TEXT,
				"executionSource" TEXT,
				"serviceName" TEXT,
				"experimentId" TEXT,
				"source" TEXT,
				"provider" TEXT,
				"model" TEXT,
				labels TEXT,
				PRIMARY KEY ("metricId", "timestamp"))`,
			`CREATE INDEX IF NOT EXISTS mastra_metric_events_name_timestamp_idx ON mastra_metric_events (name, "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_metric_events_resourceid_name_timestamp_idx ON mastra_metric_events ("resourceId", name, "timestamp" DESC)`,
		},
	},
	{
		// Log lines of runs (host/observe): what the server logs inside a
		// stored span, with its trace, span and resource.
		name:    "20261210000404",
		comment: "mastra_log_events",
		postgres: []string{
			`CREATE TABLE IF NOT EXISTS mastra_log_events (
				"logId" text NOT NULL,
				"timestamp" timestamp with time zone NOT NULL,
				level text NOT NULL,
				message text NOT NULL,
				data jsonb,
				"traceId" text,
				"spanId" text,
				"entityType" text,
				"entityId" text,
				"entityName" text,
				"userId" text,
				"organizationId" text,
				"resourceId" text,
				"runId" text,
				"sessionId" text,
				"threadId" text,
				"requestId" text,
				"environment" text,
				"executionSource" text,
				"serviceName" text,
				"experimentId" text,
				"source" text,
				tags jsonb,
				metadata jsonb,
				PRIMARY KEY ("logId", "timestamp"))`,
			`CREATE INDEX IF NOT EXISTS mastra_log_events_resourceid_timestamp_idx ON mastra_log_events ("resourceId", "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_log_events_traceid_idx ON mastra_log_events ("traceId")`,
		},
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS mastra_log_events (
				"logId" TEXT NOT NULL,
				"timestamp" TEXT NOT NULL,
				level TEXT NOT NULL,
				message TEXT NOT NULL,
				data TEXT,
				"traceId" TEXT,
				"spanId" TEXT,
				"entityType" TEXT,
				"entityId" TEXT,
				"entityName" TEXT,
				"userId" TEXT,
				"organizationId" TEXT,
				"resourceId" TEXT,
				"runId" TEXT,
				"sessionId" TEXT,
				"threadId" TEXT,
				"requestId" TEXT,
				"environment" TEXT,
				"executionSource" TEXT,
				"serviceName" TEXT,
				"experimentId" TEXT,
				"source" TEXT,
				tags TEXT,
				metadata TEXT,
				PRIMARY KEY ("logId", "timestamp"))`,
			`CREATE INDEX IF NOT EXISTS mastra_log_events_resourceid_timestamp_idx ON mastra_log_events ("resourceId", "timestamp" DESC)`,
			`CREATE INDEX IF NOT EXISTS mastra_log_events_traceid_idx ON mastra_log_events ("traceId")`,
		},
	},
	{
		// An epoch per vector index, a new one (from the write sequence)
		// whenever vectors are deleted or move to another resource or
		// thread, so that an instance caching a tenant's vectors
		// (host/memory/vectorcache.go) checks max(seq) and the epoch, two
		// index lookups, instead of counting the tenant's rows. SQLite
		// counts writes in its one process and keeps 0.
		name:     "20261211000501",
		comment:  "vectors_epoch",
		postgres: []string{`ALTER TABLE mastra_server_vector_indexes ADD COLUMN IF NOT EXISTS epoch bigint NOT NULL DEFAULT nextval('mastra_server_vectors_seq')`},
		sqlite:   []string{`ALTER TABLE mastra_server_vector_indexes ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0`},
	},
}

const (
	migrationsTable = "mastra_server_migrations"
	locksTable      = "mastra_server_migration_locks"
	// advisoryLockID serialises migrations of several instances starting at
	// once against one Postgres ("mastra-server" as a number).
	advisoryLockID = 0x6d617374726173
)

// riverLockID is the advisory lock River's migrations were taken under
// before host/store ran them (host/workflow did, "river" as a number):
// still taken, so an instance of an older version starting beside this
// one does not migrate River at the same time.
const riverLockID = 0x7269766572

func (d *DB) migrator() *migrate.Migrator {
	ms := migrate.NewMigrations()
	for _, m := range schemaMigrations {
		stmts := m.sqlite
		if d.bun.Dialect().Name() == dialect.PG {
			stmts = m.postgres
		}
		ms.Add(migrate.Migration{
			Name:    m.name,
			Comment: m.comment,
			Up: func(ctx context.Context, mg *migrate.Migrator, _ *migrate.Migration) error {
				return mg.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					for _, q := range stmts {
						if _, err := tx.ExecContext(ctx, q); err != nil {
							return err
						}
					}
					return nil
				})
			},
		})
	}
	return migrate.NewMigrator(d.bun, ms,
		migrate.WithTableName(migrationsTable),
		migrate.WithLocksTableName(locksTable),
		migrate.WithMarkAppliedOnSuccess(true))
}

// Migrate applies every pending migration, the server's schema and (on
// Postgres) River's, and returns their names. Instances starting at once
// take turns.
func (d *DB) Migrate(ctx context.Context) ([]string, error) {
	if d.pool != nil {
		conn, err := d.pool.Acquire(ctx)
		if err != nil {
			return nil, Classify(fmt.Errorf("store: migrate: %w", err))
		}
		defer conn.Release()
		for _, id := range []int64{advisoryLockID, riverLockID} {
			if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", id); err != nil {
				return nil, Classify(fmt.Errorf("store: migrate: lock: %w", err))
			}
			defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", id)
		}
	}
	m := d.migrator()
	if err := m.Init(ctx); err != nil {
		return nil, Classify(fmt.Errorf("store: migrate: init: %w", err))
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, Classify(fmt.Errorf("store: migrate: %w", err))
	}
	var names []string
	for _, mg := range group.Migrations {
		names = append(names, mg.String())
	}
	if d.pool == nil {
		return names, nil
	}
	rm, err := rivermigrate.New(riverpgxv5.New(d.pool), nil)
	if err != nil {
		return names, fmt.Errorf("store: migrate river: %w", err)
	}
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return names, Classify(fmt.Errorf("store: migrate river: %w", err))
	}
	for _, v := range res.Versions {
		names = append(names, fmt.Sprintf("river_%03d_%s", v.Version, v.Name))
	}
	return names, nil
}

// Pending lists the migrations not yet applied, River's included, without
// writing anything: `serve --no-migrate` refuses a database that needs
// some.
func (d *DB) Pending(ctx context.Context) ([]string, error) {
	var names []string
	exists, err := d.tableExists(ctx, migrationsTable)
	if err != nil {
		return nil, Classify(fmt.Errorf("store: pending migrations: %w", err))
	}
	if !exists {
		for _, m := range schemaMigrations {
			names = append(names, m.name+"_"+m.comment)
		}
	} else {
		all, err := d.migrator().MigrationsWithStatus(ctx)
		if err != nil {
			return nil, Classify(fmt.Errorf("store: pending migrations: %w", err))
		}
		for _, mg := range all.Unapplied() {
			names = append(names, mg.String())
		}
	}
	if d.pool == nil {
		return names, nil
	}
	rm, err := rivermigrate.New(riverpgxv5.New(d.pool), nil)
	if err != nil {
		return nil, fmt.Errorf("store: pending river migrations: %w", err)
	}
	res, err := rm.Validate(ctx, nil)
	if err != nil {
		return nil, Classify(fmt.Errorf("store: pending river migrations: %w", err))
	}
	if !res.OK {
		names = append(names, "river ("+strings.Join(res.Messages, "; ")+")")
	}
	return names, nil
}

func (d *DB) tableExists(ctx context.Context, name string) (bool, error) {
	var n int
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if d.pool != nil {
		q = "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = ?"
	}
	err := d.bun.QueryRowContext(ctx, q, name).Scan(&n)
	return n > 0, err
}
