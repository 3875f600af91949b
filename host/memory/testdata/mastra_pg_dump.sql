-- The memory tables exactly as @mastra/pg 1.27 creates them (pg_dump after
-- init()), with rows in Mastra's own format. Used to prove that a database
-- a Mastra server wrote opens and reads here unchanged.
CREATE TABLE mastra_threads (
  id text NOT NULL PRIMARY KEY,
  "resourceId" text NOT NULL,
  title text NOT NULL,
  metadata jsonb,
  "createdAt" timestamp without time zone NOT NULL,
  "updatedAt" timestamp without time zone NOT NULL,
  "createdAtZ" timestamp with time zone DEFAULT now(),
  "updatedAtZ" timestamp with time zone DEFAULT now());
CREATE INDEX mastra_threads_resourceid_createdat_idx ON mastra_threads ("resourceId", "createdAt" DESC);

CREATE TABLE mastra_messages (
  id text NOT NULL PRIMARY KEY,
  thread_id text NOT NULL,
  content text NOT NULL,
  role text NOT NULL,
  type text NOT NULL,
  "createdAt" timestamp without time zone NOT NULL,
  "resourceId" text,
  "createdAtZ" timestamp with time zone DEFAULT now());
CREATE INDEX mastra_messages_thread_id_createdat_idx ON mastra_messages (thread_id, "createdAt" DESC);

CREATE TABLE mastra_resources (
  id text NOT NULL PRIMARY KEY,
  "workingMemory" text,
  metadata jsonb,
  "createdAt" timestamp without time zone NOT NULL, "updatedAt" timestamp without time zone NOT NULL,
  "createdAtZ" timestamptz DEFAULT now(), "updatedAtZ" timestamptz DEFAULT now());

INSERT INTO mastra_threads (id, "resourceId", title, metadata, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
VALUES ('pg-t1', 'pg-u1', '', NULL, '2026-11-22 10:36:00.270', '2026-11-22 10:36:00.300',
        '2026-11-22 10:36:00.270+00', '2026-11-22 10:36:00.300+00');

INSERT INTO mastra_messages (id, thread_id, content, role, type, "createdAt", "resourceId", "createdAtZ") VALUES
('01825b59-0000-4000-8000-000000000001', 'pg-t1',
 '{"format":2,"parts":[{"type":"text","text":"what is the weather?","createdAt":1795343760279}],"content":"what is the weather?"}',
 'user', 'v2', '2026-11-22 10:36:00.279', 'pg-u1', '2026-11-22 10:36:00.279+00'),
('a361e42b-0000-4000-8000-000000000002', 'pg-t1',
 '{"format":2,"parts":[{"type":"tool-invocation","toolInvocation":{"state":"result","toolCallId":"call_1","toolName":"weather","args":{"city":"Paris"},"result":{"city":"Paris","tempC":21}}},{"type":"step-start","createdAt":1795343760291,"model":"mock/mock-chat"},{"type":"text","text":"Hello world","createdAt":1795343760297}],"metadata":{"modelId":"mock-chat","provider":"mock"},"content":"Hello world"}',
 'assistant', 'v2', '2026-11-22 10:36:00.297', 'pg-u1', '2026-11-22 10:36:00.297+00');
