"""The benchmark app on wirespeed's native `App`: the HTTP workloads of benches/run.py, and the
WebSocket echo at /ws of the ws-* workloads when this wirespeed has WebSocket routes.

wirespeed wirespeed_app:app --host 127.0.0.1 --port PORT --log-level warning
"""

from __future__ import annotations

import wirespeed

app = wirespeed.App()


@app.get("/")
def plaintext(request: wirespeed.Request) -> str:
    return "Hello, World!"


@app.get("/users/{user_id}")
def user(request: wirespeed.Request, user_id: str) -> dict[str, str]:
    return {"user_id": user_id}


@app.post("/echo")
async def echo(request: wirespeed.Request) -> wirespeed.Response:
    return wirespeed.Response(await request.body(), content_type="application/octet-stream")


if hasattr(app, "websocket"):  # a wirespeed without WebSocket routes serves the HTTP workloads only

    @app.websocket("/ws")
    async def ws_echo(ws):  # type: ignore[no-untyped-def]
        await ws.accept()
        async for message in ws:  # str or bytes, sent back as it came
            await ws.send(message)
