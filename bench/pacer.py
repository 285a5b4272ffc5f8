"""A paced OpenAI-compatible server: the first token after ``--ttft`` seconds, then one every
``--interval`` seconds, ``--tokens`` in all. It is asyncio (aiohttp), so hundreds of streams at once
cost it almost nothing and the numbers measure the chat server, not the fake.

    python -m bench.pacer --port 8765 --ttft 0.5 --interval 0.05 --tokens 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from aiohttp import web


def _chunk(delta: dict | None, finish: str | None = None) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    data = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "bench", "choices": choices}
    return f"data: {json.dumps(data)}\n\n".encode()


def make_app(ttft: float, interval: float, tokens: int) -> web.Application:
    async def completions(request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await response.write(_chunk({"role": "assistant", "content": ""}))
        for index in range(tokens):
            # Paced against the request's arrival, so a slow reader does not shift later tokens.
            due = started + ttft + index * interval
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            await response.write(_chunk({"content": f"tok{index} "}))
        await response.write(_chunk({}, "stop"))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "bench", "object": "model"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/v1/models", models)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ttft", type=float, default=0.5)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--tokens", type=int, default=40)
    args = parser.parse_args()
    web.run_app(
        make_app(args.ttft, args.interval, args.tokens),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
        backlog=2048,
    )


if __name__ == "__main__":
    main()
