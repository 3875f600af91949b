// POST /api/chat: the route the page's useChat posts to (DefaultChatTransport
// with api "/api/chat"). It forwards useChat's body to mastra-server's
// POST /chat/:agentId, which answers with the AI SDK UI message stream, and
// passes that stream back unchanged.
//
// The chat's id becomes the thread id on the server; the resource is the
// signed-in user's, set here. With [server.auth] on, the server takes the
// resource from MASTRA_API_TOKEN's entry instead.
//
// Environment: MASTRA_API_URL (default http://localhost:4000), MASTRA_AGENT_ID
// (default "assistant") and MASTRA_API_TOKEN when the server has auth on.

import { currentUserId } from "@/lib/session";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const MASTRA_API_URL = process.env.MASTRA_API_URL ?? "http://localhost:4000";
const AGENT_ID = process.env.MASTRA_AGENT_ID ?? "assistant";

export async function POST(req: Request): Promise<Response> {
  // Only what useChat sends (the server checks it); the resource is never
  // the browser's choice.
  const { id, messages, trigger, messageId } = (await req.json().catch(() => null)) ?? {};

  const upstream = await fetch(`${MASTRA_API_URL}/chat/${encodeURIComponent(AGENT_ID)}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(process.env.MASTRA_API_TOKEN && { Authorization: `Bearer ${process.env.MASTRA_API_TOKEN}` }),
    },
    body: JSON.stringify({ id, messages, trigger, messageId, resourceId: await currentUserId(req) }),
    signal: req.signal,
  }).catch(() => null);
  if (!upstream) {
    return Response.json({ error: "mastra-server is unreachable" }, { status: 502 });
  }
  if (!upstream.ok || !upstream.body) {
    // The server's JSON error, which useChat shows as its error.
    return new Response(await upstream.text(), {
      status: upstream.status,
      headers: { "Content-Type": upstream.headers.get("Content-Type") ?? "text/plain" },
    });
  }
  return new Response(upstream.body, {
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      "X-Accel-Buffering": "no",
      "X-Vercel-AI-UI-Message-Stream": "v1",
    },
  });
}
