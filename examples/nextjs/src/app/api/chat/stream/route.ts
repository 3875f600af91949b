// POST /api/chat/stream {"message": "…", "threadId"?: "…"}
//
// Forwards one chat message to mastra-server's POST /agent/stream and passes
// its Server-Sent Events through to the browser unchanged. The browser never
// sees the server's address or its token, and never picks the resource.
//
// Environment: MASTRA_API_URL (default http://localhost:4000); MASTRA_API_TOKEN
// when the server has auth on.

import { currentUserId } from "@/lib/session";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const MASTRA_API_URL = process.env.MASTRA_API_URL ?? "http://localhost:4000";

export async function POST(req: Request): Promise<Response> {
  const { message, threadId } = (await req.json().catch(() => null)) ?? {};
  if (typeof message !== "string" || message.trim() === "") {
    return Response.json({ error: "message is required" }, { status: 400 });
  }

  const upstream = await fetch(`${MASTRA_API_URL}/agent/stream`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(process.env.MASTRA_API_TOKEN && { Authorization: `Bearer ${process.env.MASTRA_API_TOKEN}` }),
    },
    body: JSON.stringify({
      message,
      threadId: typeof threadId === "string" ? threadId : undefined,
      // The resource owns the thread: from your session, not the browser.
      resourceId: await currentUserId(req),
    }),
    // Closing the tab aborts this fetch; the server then cancels the model
    // call and saves nothing half-way.
    signal: req.signal,
  }).catch(() => null);
  if (!upstream) {
    return Response.json({ error: "mastra-server is unreachable" }, { status: 502 });
  }
  if (!upstream.ok || !upstream.body) {
    // Before the stream starts, a failure is a JSON error with a status.
    const error = await upstream.json().catch(() => ({ error: "upstream error" }));
    return Response.json(error, { status: upstream.status });
  }
  return new Response(upstream.body, {
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      "X-Accel-Buffering": "no",
      // Send it back as threadId to continue the conversation.
      "X-Thread-Id": upstream.headers.get("X-Thread-Id") ?? "",
    },
  });
}
